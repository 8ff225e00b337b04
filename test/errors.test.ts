// Bad input, as an adversarial user would give it: every kind gets one of the library's
// own error classes, with a message that names the ref, type, worker or option involved,
// and leaves the heap usable (verify() clean, allocation and reads still work).
import { describe, expect, test } from 'vitest';
import {
  Heap, HeapRangeError, HeapType, HeapUsageError, InvalidRefError, ScopeError, StaleRefError, TypeDefinitionError,
  type HeapError,
} from '../src/index.js';

const MiB = 1 << 20;
const heap = Heap.create({ size: 4 * MiB });
const T = heap.defineStruct('bad.T', { r: 'ref', i: 'i32', d: 'f64' });
const A = heap.defineArray('bad.A', 'ref');
const I = heap.defineArray('bad.I', 'i32');
const F = heap.defineStruct('bad.F', { fd: 'i32' }, { finalize: true });
const other = Heap.create({ size: 2 * MiB });
const Foreign = other.defineStruct('bad.Foreign', { x: 'i32' });
const kept = heap.scope(() => {
  const t = heap.alloc(T);
  const a = heap.allocArray(A, 3);
  heap.setRefAt(a, 0, t);
  return { t: heap.persist(t), a: heap.persist(a) };
});
const t = (): number => kept.t.get();
const a = (): number => kept.a.get();
const stale = heap.scope(() => heap.alloc(T));
heap.collect(); // `stale` is now a collected object

type Row = [string, () => unknown, new (...args: never[]) => HeapError, RegExp];
const rows: Row[] = [
  // Options.
  ['create(null)', () => Heap.create(null as never), HeapUsageError, /options must be an object/],
  ['create(42)', () => Heap.create(42 as never), HeapUsageError, /options must be an object/],
  ['an unknown option', () => Heap.create({ sise: 4 * MiB } as never), HeapUsageError, /unknown option 'sise'/],
  ['size not an integer', () => Heap.create({ size: 2 * MiB + 0.5 }), HeapUsageError, /options\.size.*2097152\.5/],
  ['size below 1 MiB', () => Heap.create({ size: 4096 }), HeapUsageError, /options\.size.*4096/],
  ['size as a string', () => Heap.create({ size: '64' as never }), HeapUsageError, /options\.size.*64/],
  ['maxSize below size', () => Heap.create({ size: 8 * MiB, maxSize: 4 * MiB }), HeapUsageError, /options\.maxSize.*from size/],
  ['checked not a boolean', () => Heap.create({ checked: 'yes' as never }), HeapUsageError, /options\.checked.*yes/],
  ['reserve not a boolean', () => Heap.create({ reserve: 1 as never }), HeapUsageError, /options\.reserve must be a boolean, got 1/],
  ['safepointTimeoutMs of 0', () => Heap.create({ safepointTimeoutMs: 0 }), HeapUsageError, /safepointTimeoutMs.*0/],
  ['safepointTimeoutMs NaN', () => Heap.create({ safepointTimeoutMs: NaN }), HeapUsageError, /safepointTimeoutMs.*NaN/],
  ['gcInterval negative', () => Heap.create({ gcInterval: -1 }), HeapUsageError, /options\.gcInterval.*-1/],
  ['verifyEachGC not a boolean', () => Heap.create({ verifyEachGC: 1 as never }), HeapUsageError, /verifyEachGC/],
  // Attaching.
  ['attach(SharedArrayBuffer(8))', () => Heap.attach(new SharedArrayBuffer(8)), HeapUsageError, /8 bytes is not a bibop-gc arena/],
  ['attach a zeroed buffer', () => Heap.attach(new SharedArrayBuffer(MiB)), HeapUsageError, /not a bibop-gc arena.*magic/],
  ['attach(null)', () => Heap.attach(null as never), HeapUsageError, /Heap\.attach expects/],
  ['attach({})', () => Heap.attach({} as never), HeapUsageError, /Heap\.attach expects/],
  // Types.
  ['a type name that is not a string', () => heap.defineStruct(null as never, {}), TypeDefinitionError, /type name null/],
  ['an empty type name', () => heap.defineStruct('', {}), TypeDefinitionError, /type name ""/],
  ['fields that are not an object', () => heap.defineStruct('bad.X', null as never), TypeDefinitionError, /bad\.X.*fields must be an object/],
  ['a field kind that does not exist', () => heap.defineStruct('bad.Y', { x: 'i64' as never }), TypeDefinitionError, /bad\.Y.*'x'.*"i64"/],
  ['a field name that is not an identifier', () => heap.defineStruct('bad.Z', { 'a-b': 'i32' as const }), TypeDefinitionError, /bad\.Z.*'a-b'/],
  ['a reserved field name', () => heap.defineStruct('bad.W', { constructor: 'i32' } as never), TypeDefinitionError, /bad\.W.*'constructor' is reserved/],
  ['redefining a type with another layout', () => heap.defineStruct('bad.T', { r: 'ref' }), TypeDefinitionError, /bad\.T.*another layout/],
  ['an array element kind that does not exist', () => heap.defineArray('bad.V', 'str' as never), TypeDefinitionError, /bad\.V.*"str"/],
  // Allocation.
  ['alloc(null)', () => heap.scope(() => heap.alloc(null as never)), HeapUsageError, /alloc: expected a type.*got null.*worker 0/],
  ['alloc()', () => heap.scope(() => (heap.alloc as (t?: HeapType) => number)()), HeapUsageError, /got undefined/],
  ['alloc({})', () => heap.scope(() => heap.alloc({} as never)), HeapUsageError, /got a plain object/],
  ['alloc(a forged type)', () => heap.scope(() => heap.alloc(Object.create(HeapType.prototype))), HeapUsageError, /expected a type.*HeapType/],
  ['alloc(a type of another heap)', () => heap.scope(() => heap.alloc(Foreign)), HeapUsageError, /'bad\.Foreign' was defined on another heap/],
  ['alloc(an array type)', () => heap.scope(() => heap.alloc(A)), InvalidRefError, /'bad\.A' is an array type/],
  ['allocArray(a struct type)', () => heap.scope(() => heap.allocArray(T, 3)), InvalidRefError, /'bad\.T' is a struct type/],
  ['allocArray with length -1', () => heap.scope(() => heap.allocArray(A, -1)), HeapRangeError, /allocArray\(bad\.A, -1\).*integer/],
  ['allocArray with length NaN', () => heap.scope(() => heap.allocArray(A, NaN)), HeapRangeError, /bad\.A, NaN/],
  ['allocArray with length 1.5', () => heap.scope(() => heap.allocArray(A, 1.5)), HeapRangeError, /bad\.A, 1\.5/],
  ['allocArray with length 2^40', () => heap.scope(() => heap.allocArray(I, 2 ** 40)), HeapRangeError, /bad\.I, 1099511627776/],
  ['allocArray with length "3"', () => heap.scope(() => heap.allocArray(A, '3' as never)), HeapRangeError, /bad\.A, 3\)/],
  ['alloc outside any scope', () => heap.alloc(T), ScopeError, /worker 0: alloc\(bad\.T\) outside any scope/],
  // Refs and fields.
  ['a field read on null', () => heap.getI32(0, T.i), InvalidRefError, /ref 0x0 is null/],
  ['a misaligned ref', () => heap.getI32(t() + 4, T.i), InvalidRefError, /not 8-byte aligned/],
  ['a ref past the arena', () => heap.getI32(2 ** 31, T.i), InvalidRefError, /0x80000000 is outside the arena/],
  ['a ref that is not a number', () => heap.getI32('x' as never, T.i), InvalidRefError, /ref x is not a ref/],
  ['a collected object', () => heap.getI32(stale, T.i), StaleRefError, /collected/],
  ['a field offset past the struct', () => heap.getI32(t(), 9999), InvalidRefError, /'bad\.T' has no i32 field at byte offset 9999/],
  ['a field of another kind', () => heap.getI32(t(), T.r), InvalidRefError, /'bad\.T' has no i32 field.*'r', a ref field/],
  ['a field offset that is not a number', () => heap.getF64(t(), 'd' as never), InvalidRefError, /byte offset d/],
  ['a field access on an array', () => heap.getRef(a(), 4), InvalidRefError, /array of type 'bad\.A'/],
  ['length() of a struct', () => heap.length(t()), InvalidRefError, /'bad\.T' is a struct/],
  ['an element access on a struct', () => heap.getRefAt(t(), 0), InvalidRefError, /'bad\.T' is a struct/],
  ['an element of another kind', () => heap.getI32At(a(), 0), InvalidRefError, /'bad\.A' is an array of ref, not an array of i32/],
  ['index -1', () => heap.getRefAt(a(), -1), HeapRangeError, /index -1 is out of bounds for array 0x[0-9a-f]+ of type 'bad\.A' with length 3/],
  ['index = length', () => heap.getRefAt(a(), 3), HeapRangeError, /index 3 is out of bounds/],
  ['index 1.5', () => heap.getRefAt(a(), 1.5), HeapRangeError, /index 1\.5/],
  ['storing a string as a ref', () => heap.scope(() => heap.setRef(t(), T.r, 'x' as never)), InvalidRefError, /value stored: ref x/],
  ['storing a collected object', () => heap.scope(() => heap.setRef(t(), T.r, stale)), StaleRefError, /value stored.*collected/],
  ['setRef outside any scope', () => heap.setRef(t(), T.r, 0), ScopeError, /setRef on 0x[0-9a-f]+ outside any scope/],
  ['setRefAt outside any scope', () => heap.setRefAt(a(), 0, 0), ScopeError, /setRefAt on 0x[0-9a-f]+ outside any scope/],
  ['typeOf(a bad ref)', () => heap.typeOf(12345), InvalidRefError, /typeOf: ref 0x3039/],
  // Scopes.
  ['scope(42)', () => heap.scope(42 as never), ScopeError, /scope\(\) expects a function, got 42/],
  ['scope()', () => (heap.scope as (fn?: () => void) => void)(), ScopeError, /got undefined/],
  ['escape() twice in one scope', () => heap.scope(() => { heap.escape(heap.alloc(T)); heap.escape(heap.alloc(T)); }), ScopeError, /escape\(0x[0-9a-f]+\) after escape\(0x[0-9a-f]+\) in the same scope/],
  ['escape() outside any scope', () => heap.escape(t()), ScopeError, /escape\(\) outside any scope/],
  ['root() of a collected object', () => heap.scope(() => heap.root(stale)), StaleRefError, /root: ref/],
  ['a scope callback that returns a promise', () => heap.scope(async () => { await null; heap.alloc(T); }), ScopeError, /returned a promise/],
  // Handles.
  ['persist(null)', () => heap.persist(0), InvalidRefError, /persist: ref 0x0 is null/],
  ['persist(a collected object)', () => heap.persist(stale), StaleRefError, /persist/],
  ['weak(0)', () => heap.weak(0), InvalidRefError, /weak: ref 0x0 is null/],
  ['handle(an id never made)', () => heap.handle(987654321), HeapUsageError, /no persistent handle with id 987654321/],
  ['handle("abc")', () => heap.handle('abc' as never), HeapUsageError, /id abc/],
  ['a handle released twice', () => { const p = heap.scope(() => heap.persist(heap.alloc(T))); p.release(); p.release(); }, HeapUsageError, /handle \d+ was already released/],
  ['a weak id looked up as persistent', () => heap.handle(heap.weak(t()).id), HeapUsageError, /no persistent handle/],
  // Finalizers and collection.
  ['onFinalize(type, 42)', () => heap.onFinalize(F, 42 as never), HeapUsageError, /onFinalize\(bad\.F, …\): the callback must be a function, got 42/],
  ['onFinalize on a type without { finalize: true }', () => heap.onFinalize(T, () => {}), TypeDefinitionError, /'bad\.T' was not defined with \{ finalize: true \}/],
  ['collect("full")', () => heap.collect('full' as never), HeapUsageError, /collect\("full"\)/],
  ['detach() inside a scope', () => heap.scope(() => heap.detach()), ScopeError, /worker 0: detach\(\) inside a scope/],
];

describe('bad input gets a library error that names what is wrong, and the heap stays usable', () => {
  test('the table has at least 40 kinds', () => expect(rows.length).toBeGreaterThanOrEqual(40));

  test.each(rows)('%s', (_name, act, errorClass, message) => {
    let caught: unknown;
    try {
      act();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(errorClass);
    expect((caught as Error).message).toMatch(message);
    // Usable after: a verified heap that allocates, stores and reads.
    expect(heap.verify().errors).toEqual([]);
    heap.scope(() => {
      const n = heap.alloc(T);
      heap.setRef(n, T.r, t());
      expect(heap.getRef(n, T.r)).toBe(t());
    });
    expect(heap.getRefAt(a(), 0)).toBe(t());
  });

  test('an allocation after await in a scope callback does not become an unhandled rejection', async () => {
    expect(() => heap.scope(async () => { await null; heap.alloc(T); })).toThrow(ScopeError);
    // Give the callback's continuation time to run and fail outside the scope; vitest fails the
    // run on an unhandled rejection.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(heap.verify().errors).toEqual([]);
  });

  test('after detach(), every use is a HeapUsageError naming the worker', () => {
    const h = Heap.attach(heap.buffer);
    const id = h.workerId;
    h.detach();
    expect(() => h.scope(() => 0)).toThrow(new RegExp(`worker ${id} has detached`));
    expect(() => h.collect()).toThrow(HeapUsageError);
    expect(() => h.defineStruct('bad.Late', {})).toThrow(HeapUsageError);
  });
});
