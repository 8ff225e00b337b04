// Type definitions: field offsets, redefinition by name, validation errors, finalizable
// types, and sharing a type table between two Heap objects on one arena.
import { describe, expect, it } from 'vitest';
import { Heap, HeapRangeError, HeapType, HeapUsageError, InvalidRefError, TypeDefinitionError, type FieldKind } from '../../src/index.js';
import { G_MAGIC, G_TYPE_COUNT, MAX_TYPES, REFMAP_WORDS, STRUCT_HEADER_BYTES } from '../../src/heap/layout.js';

const MiB = 1 << 20;

function fresh(): Heap {
  return Heap.create({ size: 2 * MiB });
}

function definitionError(fn: () => unknown): TypeDefinitionError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TypeDefinitionError);
    return e as TypeDefinitionError;
  }
  return expect.fail('expected a TypeDefinitionError');
}

describe('defineStruct', () => {
  it('field offsets are byte offsets after the header, at natural alignment', () => {
    const heap = fresh();
    const Node = heap.defineStruct('Node', { left: 'ref', right: 'ref', value: 'i32', weight: 'f64' });
    expect(Node).toBeInstanceOf(HeapType);
    expect(Node.left).toBe(STRUCT_HEADER_BYTES);
    expect(Node.right).toBe(8);
    expect(Node.value).toBe(12);
    expect(Node.weight).toBe(16);
    expect(Node.$bytes).toBe(24);
    expect(Node.$name).toBe('Node');

    const A = heap.defineStruct('Align', { a: 'i32', b: 'f64', c: 'i32', d: 'f64', e: 'ref' });
    expect([A.a, A.b, A.c, A.d, A.e]).toEqual([4, 8, 16, 24, 32]);
    for (const off of [A.b, A.d]) expect(off % 8).toBe(0);

    const F = heap.defineStruct('FirstF64', { x: 'f64' });
    expect(F.x).toBe(8);
    const E = heap.defineStruct('Empty', {});
    expect(E.$bytes).toBe(STRUCT_HEADER_BYTES);
  });

  it('a field name another type has is not an offset of this one', () => {
    const heap = fresh();
    heap.defineStruct('HasLeft', { left: 'ref' });
    const Other = heap.defineStruct('NoLeft', { value: 'i32' }) as unknown as HeapType & Record<string, number | undefined>;
    expect(Other.left).toBeUndefined();
    expect(Other.value).toBe(4);
  });

  it('the same name and layout gives the same type; objects of either work alike', () => {
    const heap = fresh();
    const A = heap.defineStruct('Pair', { first: 'ref', second: 'i32' });
    const B = heap.defineStruct('Pair', { first: 'ref', second: 'i32' });
    expect(B.$id).toBe(A.$id);
    expect(B).toBe(A);
    expect([B.first, B.second]).toEqual([A.first, A.second]);
    heap.scope(() => {
      const x = heap.alloc(A);
      const y = heap.alloc(B);
      heap.setRef(x, B.first, y);
      heap.setI32(y, A.second, 9);
      expect(heap.getI32(heap.getRef(x, A.first), B.second)).toBe(9);
      expect(heap.typeOf(x)).toBe(heap.typeOf(y));
    });
    const R1 = heap.defineArray('Row', 'f64');
    const R2 = heap.defineArray('Row', 'f64');
    expect(R2.$id).toBe(R1.$id);
  });

  it('different types get different ids', () => {
    const heap = fresh();
    const ids = [
      heap.defineStruct('T1', { a: 'i32' }).$id,
      heap.defineStruct('T2', { a: 'i32' }).$id,
      heap.defineArray('T3', 'i32').$id,
      heap.defineArray('T4', 'i32', { finalize: true }).$id,
    ];
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(id).toBeGreaterThan(0);
  });

  it('the same name with another layout is a TypeDefinitionError naming the type', () => {
    const heap = fresh();
    heap.defineStruct('Shape', { a: 'ref', b: 'i32' });
    const variants: (() => unknown)[] = [
      () => heap.defineStruct('Shape', { a: 'ref' }),
      () => heap.defineStruct('Shape', { a: 'ref', b: 'f64' }),
      () => heap.defineStruct('Shape', { b: 'i32', a: 'ref' }),
      () => heap.defineStruct('Shape', { a: 'ref', b: 'i32', c: 'i32' }),
      () => heap.defineStruct('Shape', { a: 'ref', b: 'i32' }, { finalize: true }),
      () => heap.defineArray('Shape', 'ref'),
    ];
    for (const v of variants) {
      const e = definitionError(v);
      expect(e.message).toContain("'Shape'");
      expect(e.typeName).toBe('Shape');
    }
    heap.defineArray('Vec', 'i32');
    const e = definitionError(() => heap.defineArray('Vec', 'f64'));
    expect(e.message).toContain("'Vec'");
    expect(definitionError(() => heap.defineStruct('Vec', { x: 'i32' })).typeName).toBe('Vec');
    // The first definition still stands.
    const S = heap.defineStruct('Shape', { a: 'ref', b: 'i32' });
    heap.scope(() => expect(heap.getI32(heap.alloc(S), S.b)).toBe(0));
  });

  it('bad field kinds, bad names and reserved field names are TypeDefinitionErrors', () => {
    const heap = fresh();
    const bad: [string, () => unknown][] = [
      ['u8 field', () => heap.defineStruct('B1', { a: 'u8' as 'i32' })],
      ['unknown kind', () => heap.defineStruct('B2', { a: 'int' as 'i32' })],
      ['missing kind', () => heap.defineStruct('B3', { a: undefined as unknown as 'i32' })],
      ['not an identifier', () => heap.defineStruct('B4', { 'a-b': 'i32' })],
      ['digit first', () => heap.defineStruct('B5', { '1a': 'i32' })],
      ['$-prefixed', () => heap.defineStruct('B6', { $id: 'i32' })],
      ['constructor', () => heap.defineStruct('B7', { constructor: 'i32' } as Record<string, FieldKind>)],
      ['toString', () => heap.defineStruct('B8', { toString: 'i32' } as Record<string, FieldKind>)],
      ['hasOwnProperty', () => heap.defineStruct('B9', { hasOwnProperty: 'ref' } as Record<string, FieldKind>)],
      ['describe', () => heap.defineStruct('B10', { describe: 'i32' })],
      ['fields not an object', () => heap.defineStruct('B11', null as unknown as Record<string, 'i32'>)],
      ['empty type name', () => heap.defineStruct('', { a: 'i32' })],
      ['type name with a space', () => heap.defineStruct('a b', { a: 'i32' })],
      ['type name with a bar', () => heap.defineStruct('a|b', { a: 'i32' })],
      ['type name not a string', () => heap.defineStruct(42 as unknown as string, { a: 'i32' })],
    ];
    for (const [what, fn] of bad) {
      let thrown: unknown;
      try {
        fn();
      } catch (e) {
        thrown = e;
      }
      expect(thrown, what).toBeInstanceOf(TypeDefinitionError);
    }
    // Nothing half-defined was left behind: the names are still free.
    const ok = heap.defineStruct('B1', { a: 'i32' });
    expect(ok.a).toBe(4);
  });

  it('a field error names the type and the field', () => {
    const heap = fresh();
    const e = definitionError(() => heap.defineStruct('Named', { good: 'i32', bad: 'bool' as 'i32' }));
    expect(e.message).toContain("'Named'");
    expect(e.message).toContain('bad');
    expect(e.typeName).toBe('Named');
  });
});

describe('defineArray', () => {
  it('accepts the four element kinds', () => {
    const heap = fresh();
    for (const k of ['ref', 'i32', 'f64', 'u8'] as const) {
      const T = heap.defineArray(`Arr_${k}`, k);
      heap.scope(() => {
        const a = heap.allocArray(T, 5);
        expect(heap.length(a)).toBe(5);
        expect(heap.typeOf(a)).toBe(T);
      });
    }
  });

  it('rejects other element kinds and bad names', () => {
    const heap = fresh();
    for (const k of ['i64', 'bool', 'struct', '', 'REF', undefined]) {
      const e = definitionError(() => heap.defineArray('BadArr', k as 'ref'));
      expect(e.message).toContain("'BadArr'");
    }
    definitionError(() => heap.defineArray('9lives', 'i32'));
    definitionError(() => heap.defineArray('x y', 'i32'));
  });

  it('alloc() of an array type is an InvalidRefError and leaves the arena header alone', () => {
    const heap = fresh();
    const A = heap.defineArray('ArrForAlloc', 'i32');
    const u32 = new Uint32Array(heap.buffer);
    const magic = u32[G_MAGIC];
    let thrown: unknown;
    let returned: number | undefined;
    heap.scope(() => {
      try {
        returned = heap.alloc(A);
      } catch (e) {
        thrown = e;
      }
    });
    expect(u32[G_MAGIC], 'the magic word of the arena was overwritten').toBe(magic);
    expect(returned).toBeUndefined();
    expect(thrown).toBeInstanceOf(InvalidRefError);
    expect((thrown as InvalidRefError).typeName).toBe('ArrForAlloc');
    expect(() => Heap.attach(heap.buffer).detach()).not.toThrow();
  });

  it('allocArray() of a struct type, bad lengths and non-types are errors', () => {
    const heap = fresh();
    const S = heap.defineStruct('Str', { a: 'i32' });
    const A = heap.defineArray('Arr', 'i32');
    heap.scope(() => {
      expect(() => heap.allocArray(S, 3)).toThrow(InvalidRefError);
      expect(() => heap.allocArray(S, 100_000)).toThrow(InvalidRefError);
      expect(() => heap.allocArray(A, -1)).toThrow(HeapRangeError);
      expect(() => heap.allocArray(A, 1.5)).toThrow(HeapRangeError);
      expect(() => heap.allocArray(A, Number.NaN)).toThrow(HeapRangeError);
      expect(() => heap.allocArray({} as HeapType, 1)).toThrow(HeapUsageError);
    });
    expect(heap.verify().ok).toBe(true);
  });

  it('alloc() of something that is not a type is a HeapUsageError and leaves the arena header alone', () => {
    const heap = fresh();
    const u32 = new Uint32Array(heap.buffer);
    const magic = u32[G_MAGIC];
    let thrown: unknown;
    heap.scope(() => {
      try {
        heap.alloc({ $id: 1 } as unknown as HeapType);
      } catch (e) {
        thrown = e;
      }
    });
    expect(u32[G_MAGIC], 'the magic word of the arena was overwritten').toBe(magic);
    expect(thrown).toBeInstanceOf(HeapUsageError);
  });
});

describe('type table capacity', () => {
  it(`holds ${MAX_TYPES - 1} types; one more is a TypeDefinitionError that changes nothing`, () => {
    const heap = fresh();
    const u32 = new Uint32Array(heap.buffer);
    const ids = new Set<number>();
    for (let i = 1; i < MAX_TYPES; i++) ids.add(heap.defineStruct(`Many${i}`, { a: 'i32' }).$id);
    expect(ids.size).toBe(MAX_TYPES - 1);
    const count = u32[G_TYPE_COUNT];
    const e = definitionError(() => heap.defineStruct('OneTooMany', { a: 'i32' }));
    expect(e.typeName).toBe('OneTooMany');
    expect(u32[G_TYPE_COUNT]).toBe(count);
    // Existing names still resolve.
    expect(heap.defineStruct('Many7', { a: 'i32' }).$id).toBe([...ids][6]);
  });

  it('a struct with more ref fields than the ref map holds is a TypeDefinitionError that changes nothing', () => {
    const heap = fresh();
    const u32 = new Uint32Array(heap.buffer);
    const fields: Record<string, FieldKind> = {};
    for (let i = 0; i <= REFMAP_WORDS; i++) fields[`r${i}`] = 'ref';
    const count = u32[G_TYPE_COUNT];
    const e = definitionError(() => heap.defineStruct('TooManyRefs', fields));
    expect(e.typeName).toBe('TooManyRefs');
    expect(u32[G_TYPE_COUNT]).toBe(count);
    const ok = heap.defineStruct('TooManyRefs', { r0: 'ref' });
    heap.scope(() => expect(heap.getRef(heap.alloc(ok), ok.r0)).toBe(0));
    expect(heap.verify().ok).toBe(true);
  });
});

describe('finalizable types', () => {
  it('carry the flag, and only they accept onFinalize', () => {
    const heap = fresh();
    const File = heap.defineStruct('File', { fd: 'i32' }, { finalize: true });
    const Plain = heap.defineStruct('PlainFile', { fd: 'i32' });
    const Buf = heap.defineArray('FinBuf', 'u8', { finalize: true });
    expect(File.$finalize).toBe(true);
    expect(Buf.$finalize).toBe(true);
    expect(Plain.$finalize).toBe(false);
    expect(File.fd).toBe(Plain.fd);
    expect(File.$id).not.toBe(Plain.$id);
    expect(() => heap.onFinalize(File, () => {})).not.toThrow();
    expect(() => heap.onFinalize(Buf, () => {})).not.toThrow();
    const e = definitionError(() => heap.onFinalize(Plain, () => {}));
    expect(e.message).toContain('PlainFile');
    expect(heap.defineStruct('File', { fd: 'i32' }, { finalize: true }).$id).toBe(File.$id);
    definitionError(() => heap.defineStruct('File', { fd: 'i32' }));
  });
});

describe('types across Heap objects on one arena', () => {
  it('a type defined through one Heap is seen with the same id through Heap.attach on the same thread', () => {
    const heap = fresh();
    const Node = heap.defineStruct('SharedNode', { next: 'ref', v: 'i32', w: 'f64' });
    const Vec = heap.defineArray('SharedVec', 'i32');
    const other = Heap.attach(heap.buffer);
    try {
      expect(other.workerId).not.toBe(heap.workerId);
      const Node2 = other.defineStruct('SharedNode', { next: 'ref', v: 'i32', w: 'f64' });
      expect(Node2.$id).toBe(Node.$id);
      expect([Node2.next, Node2.v, Node2.w]).toEqual([Node.next, Node.v, Node.w]);
      expect(other.defineArray('SharedVec', 'i32').$id).toBe(Vec.$id);
      expect(() => other.defineStruct('SharedNode', { next: 'ref' })).toThrow(TypeDefinitionError);

      // An object made through one is typed and readable through the other.
      const made = heap.scope(() => {
        const n = heap.alloc(Node);
        heap.setI32(n, Node.v, 77);
        heap.setF64(n, Node.w, 0.5);
        return heap.escape(n);
      });
      const keep = heap.persist(made);
      expect(other.typeOf(made).$id).toBe(Node.$id);
      expect(other.typeOf(made).$name).toBe('SharedNode');
      expect(other.getI32(made, Node2.v)).toBe(77);
      expect(other.getF64(made, Node2.w)).toBe(0.5);

      // And a type the second one defines first is seen by the first.
      const Late = other.defineStruct('LateType', { x: 'i32' });
      expect(heap.defineStruct('LateType', { x: 'i32' }).$id).toBe(Late.$id);
      other.scope(() => {
        const v = other.allocArray(Vec, 3);
        other.setI32At(v, 2, -5);
        other.setRef(made, Node2.next, 0);
        expect(heap.getI32At(v, 2)).toBe(-5);
        expect(heap.typeOf(v)).toBe(Vec);
      });
      keep.release();
    } finally {
      other.detach();
    }
    expect(heap.verify().ok).toBe(true);
  });
});
