// Accessors: every getter/setter of the contract round-trips its values; checked mode
// rejects forged, stale and wrong-kind accesses with errors that carry the ref, the type
// and the worker, and leaves the heap working; unchecked mode does not validate.
import { describe, expect, it } from 'vitest';
import { Heap, HeapRangeError, InvalidRefError, StaleRefError } from '../../src/index.js';
import {
  PAGE_LOG, PAGE_TABLE_WORD, PT_SPAN, PT_WORDS, W_ROOT_BASE, workerWord,
} from '../../src/heap/layout.js';

const MiB = 1 << 20;

function setup(checked = true) {
  const heap = Heap.create({ size: 4 * MiB, checked });
  const Node = heap.defineStruct('Node', { left: 'ref', right: 'ref', value: 'i32', weight: 'f64' });
  const Refs = heap.defineArray('Refs', 'ref');
  const Ints = heap.defineArray('Ints', 'i32');
  const Floats = heap.defineArray('Floats', 'f64');
  const Bytes = heap.defineArray('Bytes', 'u8');
  return { heap, Node, Refs, Ints, Floats, Bytes };
}

/** The heap still allocates, collects and verifies. */
function stillWorks(heap: Heap): void {
  const T = heap.defineStruct('AfterError', { x: 'i32', r: 'ref' });
  heap.scope(() => {
    const a = heap.alloc(T);
    const b = heap.alloc(T);
    heap.setRef(a, T.r, b);
    heap.setI32(b, T.x, 31337);
    heap.collect();
    expect(heap.getI32(heap.getRef(a, T.r), T.x)).toBe(31337);
  });
  const v = heap.verify();
  expect(v.errors).toEqual([]);
  expect(v.ok).toBe(true);
}

function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  return expect.fail('expected an error');
}

describe('round trips', () => {
  it('struct fields: i32, f64 and ref', () => {
    const { heap, Node } = setup();
    heap.scope(() => {
      const a = heap.alloc(Node);
      const b = heap.alloc(Node);
      for (const v of [0, 1, -1, 42, -42, 2 ** 31 - 1, -(2 ** 31)]) {
        heap.setI32(a, Node.value, v);
        expect(heap.getI32(a, Node.value)).toBe(v);
      }
      // Out-of-range numbers wrap like an Int32Array store.
      heap.setI32(a, Node.value, 2 ** 31);
      expect(heap.getI32(a, Node.value)).toBe(-(2 ** 31));
      heap.setI32(a, Node.value, 2 ** 32 + 5);
      expect(heap.getI32(a, Node.value)).toBe(5);
      for (const v of [0, 1.5, -2.25, Math.PI, Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON, Infinity, -Infinity]) {
        heap.setF64(a, Node.weight, v);
        expect(heap.getF64(a, Node.weight)).toBe(v);
      }
      heap.setF64(a, Node.weight, Number.NaN);
      expect(heap.getF64(a, Node.weight)).toBeNaN();
      heap.setF64(a, Node.weight, -0);
      expect(Object.is(heap.getF64(a, Node.weight), -0)).toBe(true);
      heap.setRef(a, Node.left, b);
      heap.setRef(a, Node.right, a);
      expect(heap.getRef(a, Node.left)).toBe(b);
      expect(heap.getRef(a, Node.right)).toBe(a);
      heap.setRef(a, Node.left, 0);
      expect(heap.getRef(a, Node.left)).toBe(0);
      // Fields are independent.
      heap.setI32(a, Node.value, 7);
      heap.setF64(a, Node.weight, 8.5);
      heap.setRef(a, Node.left, b);
      expect([heap.getRef(a, Node.left), heap.getRef(a, Node.right), heap.getI32(a, Node.value), heap.getF64(a, Node.weight)]).toEqual([b, a, 7, 8.5]);
    });
  });

  it('array elements of every kind, and length', () => {
    const { heap, Node, Refs, Ints, Floats, Bytes } = setup();
    heap.scope(() => {
      const n = heap.alloc(Node);
      const r = heap.allocArray(Refs, 4);
      const i = heap.allocArray(Ints, 5);
      const f = heap.allocArray(Floats, 6);
      const u = heap.allocArray(Bytes, 7);
      const empty = heap.allocArray(Ints, 0);
      expect([heap.length(r), heap.length(i), heap.length(f), heap.length(u), heap.length(empty)]).toEqual([4, 5, 6, 7, 0]);

      heap.setRefAt(r, 0, n);
      heap.setRefAt(r, 3, r);
      expect([heap.getRefAt(r, 0), heap.getRefAt(r, 1), heap.getRefAt(r, 2), heap.getRefAt(r, 3)]).toEqual([n, 0, 0, r]);

      const ints = [-(2 ** 31), -1, 0, 1, 2 ** 31 - 1];
      ints.forEach((v, k) => heap.setI32At(i, k, v));
      expect(ints.map((_, k) => heap.getI32At(i, k))).toEqual(ints);

      const floats = [Number.NaN, -0, Infinity, -Infinity, 1e-300, 0.1];
      floats.forEach((v, k) => heap.setF64At(f, k, v));
      floats.forEach((v, k) => expect(Object.is(heap.getF64At(f, k), v)).toBe(true));

      const bytes = [0, 1, 127, 128, 255, 256, -1];
      bytes.forEach((v, k) => heap.setU8At(u, k, v));
      expect(bytes.map((_, k) => heap.getU8At(u, k))).toEqual([0, 1, 127, 128, 255, 0, 255]);
      heap.setU8At(u, 0, 257);
      expect(heap.getU8At(u, 0)).toBe(1);
      expect(heap.length(u)).toBe(7); // u8 stores never reach the length word

      heap.collect();
      expect(heap.getRefAt(r, 0)).toBe(n);
      expect(heap.getI32At(i, 0)).toBe(-(2 ** 31));
      expect(heap.getF64At(f, 5)).toBe(0.1);
    });
  });

  it('reads work outside a scope on rooted objects', () => {
    const { heap, Node } = setup();
    const a = heap.scope(() => {
      const x = heap.alloc(Node);
      heap.setI32(x, Node.value, 99);
      return heap.escape(x);
    });
    const p = heap.persist(a);
    expect(heap.running).toBe(false);
    expect(heap.getI32(a, Node.value)).toBe(99);
    expect(heap.getRef(a, Node.left)).toBe(0);
    p.release();
  });
});

describe('checked mode: forged refs', () => {
  const cases: [string, (ref: number, heap: Heap) => number][] = [
    ['an odd number', (r) => r + 1],
    ['4-byte but not 8-byte aligned', (r) => r + 4],
    ['beyond the arena', (_, h) => h.buffer.byteLength + 8],
    ['far beyond the arena', () => 2 ** 32 + 8],
    ['negative', () => -8],
    ['not an integer', (r) => r + 0.5],
    ['in the arena header', () => 8],
    ['inside a span header', (r, h) => {
      const u32 = new Uint32Array(h.buffer);
      return u32[PAGE_TABLE_WORD + (r >>> PAGE_LOG) * PT_WORDS + PT_SPAN]! + 8;
    }],
    ['in the middle of an object', (r) => r + 8],
    ['on a root-stack page', (_, h) => {
      const u32 = new Uint32Array(h.buffer);
      return (u32[workerWord(h.workerId) + W_ROOT_BASE]! << 2) + 64;
    }],
  ];

  it.each(cases)('a ref that is %s is an InvalidRefError carrying the ref and the worker', (_, forge) => {
    const { heap, Node } = setup();
    heap.scope(() => {
      const a = heap.alloc(Node);
      const bad = forge(a, heap);
      expect(bad).not.toBe(a);
      const accesses: (() => unknown)[] = [
        () => heap.getI32(bad, Node.value),
        () => heap.setI32(bad, Node.value, 1),
        () => heap.getF64(bad, Node.weight),
        () => heap.getRef(bad, Node.left),
        () => heap.setRef(bad, Node.left, 0),
        () => heap.setRef(a, Node.left, bad),
        () => heap.getI32At(bad, 0),
        () => heap.length(bad),
        () => heap.typeOf(bad),
        () => heap.root(bad),
      ];
      for (const access of accesses) {
        const e = caught(access);
        expect(e).toBeInstanceOf(InvalidRefError);
        expect(e).not.toBeInstanceOf(StaleRefError);
        expect((e as InvalidRefError).ref).toBe(bad);
        expect((e as InvalidRefError).workerId).toBe(heap.workerId);
        expect(e.message).toMatch(/ref/);
      }
      expect(heap.getRef(a, Node.left)).toBe(0);
    });
    stillWorks(heap);
  });
});

describe('checked mode: stale refs', () => {
  it('a ref to a collected object is a StaleRefError (whole span freed)', () => {
    const { heap, Node } = setup();
    const a = heap.scope(() => heap.alloc(Node));
    heap.collect();
    for (const access of [() => heap.getI32(a, Node.value), () => heap.getRef(a, Node.left), () => heap.persist(a)]) {
      const e = caught(access);
      expect(e).toBeInstanceOf(StaleRefError);
      expect((e as StaleRefError).ref).toBe(a);
      expect((e as StaleRefError).workerId).toBe(heap.workerId);
      expect(e.message).toMatch(/collected/);
    }
    stillWorks(heap);
  });

  it('a ref to a collected object in a span that still has live objects is a StaleRefError', () => {
    const { heap, Node, Refs } = setup();
    const [keep, dead] = heap.scope(() => [heap.alloc(Node), heap.alloc(Node)]);
    const p = heap.persist(keep!);
    heap.collect();
    expect(heap.getI32(keep!, Node.value)).toBe(0);
    const e = caught(() => heap.getI32(dead!, Node.value));
    expect(e).toBeInstanceOf(StaleRefError);
    expect((e as StaleRefError).ref).toBe(dead);
    heap.scope(() => {
      const arr = heap.allocArray(Refs, 1);
      expect(() => heap.setRefAt(arr, 0, dead!)).toThrow(StaleRefError);
      expect(() => heap.setRef(keep!, Node.left, dead!)).toThrow(StaleRefError);
      expect(heap.getRefAt(arr, 0)).toBe(0);
    });
    p.release();
    stillWorks(heap);
  });
});

describe('checked mode: wrong field, kind or index', () => {
  it('wrong field kinds, misaligned and out-of-struct offsets are InvalidRefErrors naming the type', () => {
    const { heap, Node } = setup();
    heap.scope(() => {
      const a = heap.alloc(Node);
      const accesses: [string, () => unknown][] = [
        ['getI32 on a ref field', () => heap.getI32(a, Node.left)],
        ['setI32 on a ref field', () => heap.setI32(a, Node.right, 1)],
        ['getRef on an i32 field', () => heap.getRef(a, Node.value)],
        ['setRef on an f64 field', () => heap.setRef(a, Node.weight, 0)],
        ['getF64 on an i32 field', () => heap.getF64(a, Node.value)],
        ['getF64 at a misaligned offset', () => heap.getF64(a, Node.weight + 4)],
        ['getF64 at offset 12', () => heap.getF64(a, 12)],
        ['getI32 on the second word of an f64', () => heap.getI32(a, Node.weight + 4)],
        ['getI32 on the header', () => heap.getI32(a, 0)],
        ['getI32 at an unaligned offset', () => heap.getI32(a, Node.value + 1)],
        ['getI32 beyond the struct', () => heap.getI32(a, 24)],
        ['getRef far beyond the struct', () => heap.getRef(a, 4000)],
        ['setF64 beyond the struct', () => heap.setF64(a, 64, 1)],
        ['negative offset', () => heap.getI32(a, -4)],
        ['fractional offset', () => heap.getI32(a, 12.5)],
        ['undefined offset', () => heap.getI32(a, undefined as unknown as number)],
        ['string offset', () => heap.getI32(a, '12' as unknown as number)],
      ];
      for (const [what, access] of accesses) {
        const e = caught(access);
        expect(e, what).toBeInstanceOf(InvalidRefError);
        expect(e.message, what).toContain("'Node'");
        expect((e as InvalidRefError).typeName, what).toBe('Node');
        expect((e as InvalidRefError).ref, what).toBe(a);
        expect((e as InvalidRefError).workerId, what).toBe(heap.workerId);
      }
      expect(heap.getRef(a, Node.right)).toBe(0);
    });
    stillWorks(heap);
  });

  it('an offset of 2^32 or more past a field is beyond the struct, not that field', () => {
    const { heap, Node } = setup();
    heap.scope(() => {
      const a = heap.alloc(Node);
      const b = heap.alloc(Node);
      heap.setRef(a, Node.left, b);
      expect(() => heap.getRef(a, 2 ** 32 + Node.left)).toThrow(InvalidRefError);
      expect(() => heap.getI32(a, 2 ** 32 + Node.value)).toThrow(InvalidRefError);
      expect(() => heap.getF64(a, 2 ** 33 + Node.weight)).toThrow(InvalidRefError);
    });
    stillWorks(heap);
  });

  it('struct accessors on arrays and element accessors on structs are InvalidRefErrors', () => {
    const { heap, Node, Refs, Ints } = setup();
    heap.scope(() => {
      const s = heap.alloc(Node);
      const r = heap.allocArray(Refs, 4);
      const i = heap.allocArray(Ints, 4);
      const accesses: [string, () => unknown, string, number][] = [
        ['getI32 on an array', () => heap.getI32(i, 8), 'Ints', i],
        ['getRef on an array', () => heap.getRef(r, 8), 'Refs', r],
        ['setF64 on an array', () => heap.setF64(i, 8, 1), 'Ints', i],
        ['getRefAt on a struct', () => heap.getRefAt(s, 0), 'Node', s],
        ['setI32At on a struct', () => heap.setI32At(s, 0, 1), 'Node', s],
        ['length of a struct', () => heap.length(s), 'Node', s],
        ['getI32At on a ref array', () => heap.getI32At(r, 0), 'Refs', r],
        ['setRefAt on an i32 array', () => heap.setRefAt(i, 0, s), 'Ints', i],
        ['getF64At on an i32 array', () => heap.getF64At(i, 0), 'Ints', i],
        ['getU8At on an i32 array', () => heap.getU8At(i, 0), 'Ints', i],
      ];
      for (const [what, access, typeName, ref] of accesses) {
        const e = caught(access);
        expect(e, what).toBeInstanceOf(InvalidRefError);
        expect((e as InvalidRefError).typeName, what).toBe(typeName);
        expect((e as InvalidRefError).ref, what).toBe(ref);
        expect(e.message, what).toContain(`'${typeName}'`);
      }
    });
    stillWorks(heap);
  });

  it('an index out of bounds is a HeapRangeError', () => {
    const { heap, Node, Refs, Ints, Floats, Bytes } = setup();
    heap.scope(() => {
      const n = heap.alloc(Node);
      const arrays = [heap.allocArray(Refs, 3), heap.allocArray(Ints, 3), heap.allocArray(Floats, 3), heap.allocArray(Bytes, 3)];
      const empty = heap.allocArray(Ints, 0);
      const [r, i, f, u] = arrays as [number, number, number, number];
      for (const index of [-1, 3, 4, 1.5, Number.NaN, 2 ** 32, 2 ** 32 + 1]) {
        for (const access of [
          () => heap.getRefAt(r, index), () => heap.setRefAt(r, index, n),
          () => heap.getI32At(i, index), () => heap.setI32At(i, index, 1),
          () => heap.getF64At(f, index), () => heap.setF64At(f, index, 1),
          () => heap.getU8At(u, index), () => heap.setU8At(u, index, 1),
        ]) {
          const e = caught(access);
          expect(e, `index ${index}`).toBeInstanceOf(HeapRangeError);
          expect(e.message).toContain(String(index));
        }
      }
      expect(() => heap.getI32At(empty, 0)).toThrow(HeapRangeError);
      // Neighbours untouched by the rejected stores.
      expect(heap.getRefAt(r, 2)).toBe(0);
      expect(heap.getU8At(u, 2)).toBe(0);
      expect(heap.length(u)).toBe(3);
    });
    stillWorks(heap);
  });
});

describe('unchecked mode', () => {
  it('does not validate: a ref field reads as an i32', () => {
    const { heap, Node } = setup(false);
    heap.scope(() => {
      const a = heap.alloc(Node);
      const b = heap.alloc(Node);
      heap.setRef(a, Node.left, b);
      expect(heap.getI32(a, Node.left)).toBe(b);
      heap.setI32(a, Node.value, -3);
      expect(heap.getRef(a, Node.value)).toBe(2 ** 32 - 3);
      // Accessors still do what they say on valid input.
      expect(heap.getRef(a, Node.left)).toBe(b);
      heap.setF64(b, Node.weight, 2.5);
      expect(heap.getF64(b, Node.weight)).toBe(2.5);
    });
  });

  it('the checked heap rejects the same access', () => {
    const { heap, Node } = setup(true);
    heap.scope(() => {
      const a = heap.alloc(Node);
      expect(() => heap.getI32(a, Node.left)).toThrow(InvalidRefError);
    });
  });

  it('still needs a scope for ref stores and keeps collecting correctly', () => {
    const { heap, Node } = setup(false);
    const a = heap.scope(() => {
      const x = heap.alloc(Node);
      const y = heap.alloc(Node);
      heap.setRef(x, Node.left, y);
      heap.setI32(y, Node.value, 5);
      return heap.escape(x);
    });
    const p = heap.persist(a);
    expect(() => heap.setRef(a, Node.left, 0)).toThrow(/scope/);
    heap.collect();
    expect(heap.getI32(heap.getRef(a, Node.left), Node.value)).toBe(5);
    p.release();
    expect(heap.collect().freedObjects).toBe(2);
    expect(heap.verify().ok).toBe(true);
  });
});

describe('views after another Heap on the arena grew it', () => {
  it.each([true, false])('checked=%s: elements of an object that extends past this Heap\'s view are read and written', (checked) => {
    // A growable arena (reserve: false): a reserved one never leaves a view behind.
    const heap = Heap.create({ size: 2 * MiB, maxSize: 16 * MiB, checked, reserve: false });
    const Floats = heap.defineArray('WideFloats', 'f64');
    heap.scope(() => heap.alloc(heap.defineStruct('Warm', { x: 'i32' }))); // this Heap's root stack exists
    const viewBytes = heap.buffer.byteLength;
    const other = Heap.attach(heap.buffer);
    try {
      const n = 250_000; // 2 MB: more than the pool holds, so the other Heap grows the arena
      const arr = other.scope(() => {
        const r = other.allocArray(Floats, n);
        other.setF64At(r, 0, 1.5);
        other.setF64At(r, n - 1, 42.5);
        return other.escape(r);
      });
      const p = other.persist(arr);
      // The scenario: the object starts inside this Heap's view and ends past it.
      expect(arr).toBeLessThan(viewBytes);
      expect(arr + 8 + 8 * n).toBeGreaterThan(viewBytes);
      expect(heap.length(arr)).toBe(n);
      expect(heap.getF64At(arr, 0)).toBe(1.5);
      expect(heap.getF64At(arr, n - 1)).toBe(42.5);
      heap.setF64At(arr, n - 2, 7.25);
      expect(other.getF64At(arr, n - 2)).toBe(7.25);
      p.release();
    } finally {
      other.detach();
    }
  });
});
