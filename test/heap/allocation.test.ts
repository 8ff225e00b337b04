// Allocation: fresh objects are zeroed, every size class hands out distinct, aligned,
// non-overlapping blocks, large objects work and are freed, the arena grows past its
// initial size, out-of-memory is a clean error, and allocation needs a running scope.
import { describe, expect, it } from 'vitest';
import { Heap, HeapOutOfMemoryError, ScopeError } from '../../src/index.js';
import {
  ARRAY_HEADER_BYTES, PAGE_LOG, PAGE_TABLE_WORD, PI_KIND_MASK, PK_LARGE_HEAD, PK_SMALL_HEAD, PK_SMALL_TAIL,
  PT_INFO, PT_SPAN, PT_WORDS, S_BLOCK_BYTES, W_ROOT_BASE, W_ROOT_TOP, workerWord,
} from '../../src/heap/layout.js';
import { CLASS_BLOCK_BYTES, MAX_SMALL_BYTES, NUM_SIZE_CLASSES } from '../../src/heap/sizeclasses.js';
import { CLASS_OF_GRANULES } from '../../src/heap/types.js';

const MiB = 1 << 20;

function expectVerified(heap: Heap): void {
  const v = heap.verify();
  expect(v.errors).toEqual([]);
  expect(v.ok).toBe(true);
}

/** The block size of the span holding `ref`, or -1 for a large object. */
function blockOf(heap: Heap, ref: number): number {
  const u32 = new Uint32Array(heap.buffer);
  const page = ref >>> PAGE_LOG;
  const kind = u32[PAGE_TABLE_WORD + page * PT_WORDS + PT_INFO]! & PI_KIND_MASK;
  if (kind === PK_LARGE_HEAD) return -1;
  expect([PK_SMALL_HEAD, PK_SMALL_TAIL]).toContain(kind);
  const base = u32[PAGE_TABLE_WORD + page * PT_WORDS + PT_SPAN]!;
  return u32[(base >>> 2) + S_BLOCK_BYTES]!;
}

describe('new objects are zeroed', () => {
  it('a struct slot freed by a collection reads 0 when allocated again (whole spans freed)', () => {
    const heap = Heap.create({ size: 4 * MiB });
    const T = heap.defineStruct('Z1', { r: 'ref', i: 'i32', f: 'f64', j: 'i32' });
    const N = 2000;
    const first = new Set<number>();
    heap.scope(() => {
      const other = heap.alloc(T);
      for (let k = 0; k < N; k++) {
        const a = heap.alloc(T);
        heap.setRef(a, T.r, other);
        heap.setI32(a, T.i, -1);
        heap.setF64(a, T.f, Math.PI);
        heap.setI32(a, T.j, 0x7fffffff);
        first.add(a);
      }
    });
    heap.collect();
    heap.collect(); // checked mode keeps dead slots one more collection (quarantine)
    let reused = 0;
    heap.scope(() => {
      for (let k = 0; k < N; k++) {
        const a = heap.alloc(T);
        if (first.has(a)) reused++;
        expect(heap.getRef(a, T.r)).toBe(0);
        expect(heap.getI32(a, T.i)).toBe(0);
        expect(Object.is(heap.getF64(a, T.f), 0)).toBe(true);
        expect(heap.getI32(a, T.j)).toBe(0);
      }
    });
    expect(reused).toBeGreaterThan(N / 2); // the test really looked at recycled memory
    expectVerified(heap);
  });

  it('freed slots in partly live spans read 0 when allocated again (central-list reuse)', () => {
    const heap = Heap.create({ size: 4 * MiB });
    const T = heap.defineStruct('Z2', { a: 'i32', b: 'i32', c: 'f64' });
    const N = 3000;
    const dead = new Set<number>();
    const keep: number[] = [];
    heap.scope(() => {
      for (let k = 0; k < N; k++) {
        const a = heap.alloc(T);
        heap.setI32(a, T.a, k + 1);
        heap.setI32(a, T.b, ~k);
        heap.setF64(a, T.c, -k - 0.5);
        if (k % 3 === 0) keep.push(a);
        else dead.add(a);
      }
    });
    const kept = new Set(keep);
    const handles = keep.map((r) => heap.persist(r));
    heap.collect();
    heap.collect(); // checked mode keeps dead slots one more collection (quarantine)
    let reused = 0;
    heap.scope(() => {
      for (let k = 0; k < N; k++) {
        const a = heap.alloc(T);
        if (dead.has(a)) reused++;
        if (kept.has(a)) expect.fail(`live object ${a} was handed out again`);
        expect([heap.getI32(a, T.a), heap.getI32(a, T.b), heap.getF64(a, T.c)]).toEqual([0, 0, 0]);
      }
    });
    expect(reused).toBeGreaterThan(N / 3);
    keep.forEach((r, k) => expect(heap.getI32(r, T.a)).toBe(3 * k + 1));
    handles.forEach((h) => h.release());
    expectVerified(heap);
  });

  it('a span used part way, collected, then used past where it had been: every slot reads 0', () => {
    // Fresh memory is not zeroed again (the span's written mark): the slots handed out before
    // the collection must be, the ones beyond them need not be, and both must read 0.
    for (const options of [{ youngBytes: 1 * MiB, checked: false }, { youngBytes: 0, checked: false }, {}]) {
      const heap = Heap.create({ size: 8 * MiB, ...options });
      const T = heap.defineStruct('ZW', { a: 'i32', b: 'i32', r: 'ref' });
      const keep = heap.scope(() => heap.persist(heap.alloc(T))); // a live slot at the span's start
      heap.scope(() => {
        for (let k = 0; k < 100; k++) {
          const a = heap.alloc(T);
          heap.setI32(a, T.a, -1);
          heap.setI32(a, T.b, k + 1);
          heap.setRef(a, T.r, keep.get());
        }
      });
      heap.collect(heap.stats().youngBytes > 0 ? 'minor' : 'major');
      heap.collect(heap.stats().youngBytes > 0 ? 'minor' : 'major');
      heap.scope(() => {
        for (let k = 0; k < 1000; k++) {
          const a = heap.alloc(T);
          if (heap.getI32(a, T.a) !== 0 || heap.getI32(a, T.b) !== 0 || heap.getRef(a, T.r) !== 0) {
            expect.fail(`${JSON.stringify(options)}: object ${k} at ${a} holds ${heap.getI32(a, T.a)}, ${heap.getI32(a, T.b)}, ${heap.getRef(a, T.r)}`);
          }
        }
      });
      keep.release();
      expectVerified(heap);
    }
  });

  it('arrays of every element kind are zeroed when their memory is reused', () => {
    const heap = Heap.create({ size: 4 * MiB });
    const kinds = [
      [heap.defineArray('ZI', 'i32'), (r: number, i: number) => heap.setI32At(r, i, -7), (r: number, i: number) => heap.getI32At(r, i)],
      [heap.defineArray('ZF', 'f64'), (r: number, i: number) => heap.setF64At(r, i, -7.5), (r: number, i: number) => heap.getF64At(r, i)],
      [heap.defineArray('ZU', 'u8'), (r: number, i: number) => heap.setU8At(r, i, 0xff), (r: number, i: number) => heap.getU8At(r, i)],
    ] as const;
    const Node = heap.defineStruct('ZN', { x: 'i32' });
    const RefArr = heap.defineArray('ZR', 'ref');
    for (const [T, set, get] of kinds) {
      for (const len of [1, 13, 200, 3000]) {
        heap.scope(() => {
          for (let n = 0; n < 20; n++) {
            const r = heap.allocArray(T, len);
            for (let i = 0; i < len; i++) set(r, i);
          }
        });
        heap.collect();
        heap.scope(() => {
          for (let n = 0; n < 20; n++) {
            const r = heap.allocArray(T, len);
            for (let i = 0; i < len; i++) if (get(r, i) !== 0) expect.fail(`${T.$name}[${len}] element ${i} is ${get(r, i)}`);
          }
        });
        heap.collect();
      }
    }
    heap.scope(() => {
      const x = heap.alloc(Node);
      for (let n = 0; n < 50; n++) {
        const r = heap.allocArray(RefArr, 40);
        for (let i = 0; i < 40; i++) heap.setRefAt(r, i, x);
      }
    });
    heap.collect();
    heap.scope(() => {
      for (let n = 0; n < 50; n++) {
        const r = heap.allocArray(RefArr, 40);
        for (let i = 0; i < 40; i++) expect(heap.getRefAt(r, i)).toBe(0);
      }
    });
    expectVerified(heap);
  });
});

describe('every size class', () => {
  it('u8 arrays of lengths 0..9000 get distinct, aligned, non-overlapping blocks of the right class', () => {
    const heap = Heap.create({ size: 16 * MiB });
    const Bytes = heap.defineArray('Bytes', 'u8');
    const lengths = new Set<number>([0, 1, 2, 7, 8, 9, 15, 16, 17, 7424, 7425, 8000, 8192, 9000]);
    for (const block of CLASS_BLOCK_BYTES) {
      for (const d of [-1, 0, 1]) {
        const len = block - ARRAY_HEADER_BYTES + d;
        if (len >= 0 && len <= 9000) lengths.add(len);
      }
    }
    const objects: { ref: number; len: number; seed: number }[] = [];
    heap.scope(() => {
      let seed = 1;
      // Three of each, interleaved across lengths, so classes share the allocator's state.
      for (let copy = 0; copy < 3; copy++) {
        for (const len of lengths) {
          const ref = heap.allocArray(Bytes, len);
          objects.push({ ref, len, seed: seed++ });
        }
      }
      const seenClasses = new Set<number>();
      for (const o of objects) {
        expect(o.ref % 8).toBe(0);
        expect(heap.length(o.ref)).toBe(o.len);
        const bytes = ARRAY_HEADER_BYTES + o.len;
        const block = blockOf(heap, o.ref);
        if (bytes > MAX_SMALL_BYTES) expect(block, `length ${o.len}`).toBe(-1);
        else {
          const cls = CLASS_OF_GRANULES[(bytes + 7) >>> 3]!;
          expect(block, `length ${o.len}`).toBe(CLASS_BLOCK_BYTES[cls]);
          seenClasses.add(cls);
        }
      }
      expect(seenClasses.size).toBe(NUM_SIZE_CLASSES);

      // Oracle: the [ref, ref + bytes) intervals are pairwise disjoint.
      const sorted = [...objects].sort((a, b) => a.ref - b.ref);
      for (let i = 1; i < sorted.length; i++) {
        const prev = sorted[i - 1]!;
        const end = prev.ref + ARRAY_HEADER_BYTES + prev.len;
        if (sorted[i]!.ref < end) expect.fail(`object ${sorted[i]!.ref} (length ${sorted[i]!.len}) overlaps ${prev.ref} (length ${prev.len})`);
      }

      // Every byte is writable without touching a neighbour.
      const pattern = (seed: number, i: number): number => (seed * 31 + i * 7 + 1) & 0xff;
      for (const o of objects) for (let i = 0; i < o.len; i++) heap.setU8At(o.ref, i, pattern(o.seed, i));
      for (const o of objects) {
        expect(heap.length(o.ref)).toBe(o.len);
        for (let i = 0; i < o.len; i++) {
          if (heap.getU8At(o.ref, i) !== pattern(o.seed, i)) expect.fail(`byte ${i} of ${o.ref} (length ${o.len}) was overwritten`);
        }
      }
      // The same holds after a collection that keeps them all.
      heap.collect();
      for (const o of objects) {
        expect(heap.length(o.ref)).toBe(o.len);
        for (let i = 0; i < o.len; i += 97) expect(heap.getU8At(o.ref, i)).toBe(pattern(o.seed, i));
      }
    });
    expectVerified(heap);
  });
});

describe('large objects', () => {
  it('a struct larger than the largest class works and is freed', () => {
    const heap = Heap.create({ size: 8 * MiB });
    const fields: Record<string, 'f64' | 'ref'> = { link: 'ref' };
    for (let k = 0; k < 1000; k++) fields[`f${k}`] = 'f64';
    const Big = heap.defineStruct('Big', fields);
    expect(Big.$bytes).toBeGreaterThan(MAX_SMALL_BYTES);
    const offsets = Object.keys(fields).map((k) => (Big as unknown as Record<string, number>)[k]!);
    const w = heap.scope(() => {
      const a = heap.alloc(Big);
      const b = heap.alloc(Big);
      expect(blockOf(heap, a)).toBe(-1);
      expect(Math.abs(a - b)).toBeGreaterThanOrEqual(Big.$bytes);
      for (let k = 1; k < offsets.length; k++) {
        heap.setF64(a, offsets[k]!, k + 0.25);
        heap.setF64(b, offsets[k]!, -k);
      }
      heap.setRef(a, Big.link, b);
      heap.collect();
      for (let k = 1; k < offsets.length; k++) {
        expect(heap.getF64(a, offsets[k]!)).toBe(k + 0.25);
        expect(heap.getF64(b, offsets[k]!)).toBe(-k);
      }
      expect(heap.getRef(a, Big.link)).toBe(b);
      expect(heap.stats().pages.large).toBeGreaterThanOrEqual(4);
      return heap.weak(a);
    });
    heap.collect();
    expect(w.get()).toBeNull();
    heap.collect(); // checked mode keeps dead slots one more collection (quarantine)
    expect(heap.stats().pages.large).toBe(0);
    expectVerified(heap);
  });

  it('an array of 1e5 refs keeps its elements alive and is freed with them', () => {
    const heap = Heap.create({ size: 16 * MiB });
    const Refs = heap.defineArray('BigRefs', 'ref');
    const Leaf = heap.defineStruct('Leaf', { tag: 'i32' });
    const n = 100_000;
    const arr = heap.scope(() => heap.escape(heap.allocArray(Refs, n)));
    const h = heap.persist(arr);
    heap.scope(() => {
      for (let i = 0; i < n; i += 10) {
        const leaf = heap.alloc(Leaf);
        heap.setI32(leaf, Leaf.tag, i);
        heap.setRefAt(arr, i, leaf);
      }
    });
    const ev = heap.collect();
    expect(ev.markedObjects).toBe(1 + n / 10);
    expect(heap.length(arr)).toBe(n);
    for (let i = 0; i < n; i++) {
      const e = heap.getRefAt(arr, i);
      if (i % 10 === 0) expect(heap.getI32(e, Leaf.tag)).toBe(i);
      else if (e !== 0) expect.fail(`element ${i} is ${e}`);
    }
    expect(heap.stats().pages.large).toBe(Math.ceil((128 + 8 + 4 * n) / 4096));
    expectVerified(heap);
    h.release();
    const freed = heap.collect();
    expect(freed.freedObjects).toBe(1 + n / 10);
    heap.collect(); // checked mode keeps dead slots one more collection (quarantine)
    const s = heap.stats();
    expect(s.pages.large).toBe(0);
    expect(s.allocatedObjects).toBe(0);
    expectVerified(heap);
  });
});

describe('arena growth and out of memory', () => {
  it.each([true, false])('the arena grows beyond its initial size to hold a 5 MiB live list (reserve: %s)', (reserve) => {
    const heap = Heap.create({ size: 2 * MiB, maxSize: 64 * MiB, reserve });
    expect(heap.buffer.growable).toBe(!reserve);
    const before = heap.stats().arenaBytes;
    expect(before).toBe(2 * MiB);
    const Node = heap.defineStruct('GrowNode', { next: 'ref', a: 'f64', b: 'f64', c: 'f64', d: 'f64', e: 'f64', f: 'f64', n: 'i32' });
    const count = Math.ceil((5 * MiB) / 64);
    const head = heap.scope(() => {
      let list = 0;
      for (let i = 0; i < count; i++) {
        const node = heap.alloc(Node);
        heap.setRef(node, Node.next, list);
        heap.setI32(node, Node.n, i);
        list = node;
      }
      return heap.escape(list);
    });
    const h = heap.persist(head);
    heap.collect();
    const s = heap.stats();
    expect(s.arenaBytes).toBeGreaterThan(before + 3 * MiB);
    expect(s.arenaBytes).toBeLessThanOrEqual(64 * MiB);
    expect(heap.buffer.byteLength).toBe(reserve ? 64 * MiB : s.arenaBytes);
    let n = 0;
    for (let r = h.get(); r !== 0; r = heap.getRef(r, Node.next)) {
      expect(heap.getI32(r, Node.n)).toBe(count - 1 - n);
      n++;
    }
    expect(n).toBe(count);
    expectVerified(heap);
  });

  it('HeapOutOfMemoryError when maxSize is too small, and the heap is usable afterwards', () => {
    const heap = Heap.create({ size: 2 * MiB, maxSize: 4 * MiB });
    const Chunk = heap.defineArray('Chunk', 'u8');
    const Node = heap.defineStruct('OomNode', { next: 'ref', v: 'i32' });
    const survivor = heap.scope(() => {
      const s = heap.alloc(Node);
      heap.setI32(s, Node.v, 4242);
      return heap.escape(s);
    });
    const keep = heap.persist(survivor);
    let allocated = 0;
    let error: unknown;
    try {
      heap.scope(() => {
        for (;;) {
          heap.allocArray(Chunk, 3000);
          allocated++;
          if (allocated > 10_000) throw new Error('no out-of-memory error after 30 MB in a 4 MiB heap');
        }
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HeapOutOfMemoryError);
    const oom = error as HeapOutOfMemoryError;
    expect(oom.message).toMatch(/out of memory/);
    expect(oom.requestedBytes).toBeGreaterThan(0);
    expect(oom.workerId).toBe(heap.workerId);
    expect(allocated).toBeGreaterThan(100);
    expect(heap.running).toBe(false);
    expect(heap.stats().arenaBytes).toBeLessThanOrEqual(4 * MiB);

    // The failed scope's frame is gone: its chunks die, the persistent object survives.
    const ev = heap.collect();
    expect(ev.freedObjects).toBeGreaterThanOrEqual(allocated);
    expect(heap.getI32(keep.get(), Node.v)).toBe(4242);
    expectVerified(heap);
    heap.scope(() => {
      for (let i = 0; i < 200; i++) heap.allocArray(Chunk, 3000);
      const n = heap.alloc(Node);
      heap.setRef(n, Node.next, keep.get());
      expect(heap.getI32(heap.getRef(n, Node.next), Node.v)).toBe(4242);
    });
    expectVerified(heap);
  });

  it('one request larger than maxSize is a HeapOutOfMemoryError that leaves the heap intact', () => {
    const heap = Heap.create({ size: 2 * MiB, maxSize: 4 * MiB });
    const Chunk = heap.defineArray('Huge', 'f64');
    expect(() => heap.scope(() => heap.allocArray(Chunk, MiB))).toThrow(HeapOutOfMemoryError);
    expect(heap.running).toBe(false);
    heap.scope(() => {
      const r = heap.allocArray(Chunk, 1000);
      heap.setF64At(r, 999, 1.5);
      expect(heap.getF64At(r, 999)).toBe(1.5);
    });
    expectVerified(heap);
  });
});

describe('allocation needs a running scope', () => {
  it('alloc, allocArray, setRef and setRefAt outside any scope throw ScopeError', () => {
    const heap = Heap.create({ size: 2 * MiB });
    const Node = heap.defineStruct('OutNode', { next: 'ref' });
    const Refs = heap.defineArray('OutRefs', 'ref');
    expect(() => heap.alloc(Node)).toThrow(ScopeError);
    expect(() => heap.allocArray(Refs, 3)).toThrow(ScopeError);
    expect(() => heap.allocArray(Refs, 100_000)).toThrow(ScopeError); // a large one too
    const [a, v] = heap.scope(() => [heap.alloc(Node), heap.allocArray(Refs, 3)]);
    const ha = heap.persist(a!);
    const hv = heap.persist(v!);
    expect(() => heap.setRef(a!, Node.next, a!)).toThrow(ScopeError);
    expect(() => heap.setRefAt(v!, 0, a!)).toThrow(ScopeError);
    // After a scope has ended, the same calls fail again.
    expect(() => heap.alloc(Node)).toThrow(ScopeError);
    try {
      heap.alloc(Node);
    } catch (e) {
      expect((e as ScopeError).workerId).toBe(heap.workerId);
      expect((e as ScopeError).message).toMatch(/scope/);
    }
    ha.release();
    hv.release();
    expectVerified(heap);
  });

  it('a scope callback that returns a promise throws ScopeError and pops its frame', () => {
    const heap = Heap.create({ size: 2 * MiB });
    const Node = heap.defineStruct('PromNode', { v: 'i32' });
    const u32 = new Uint32Array(heap.buffer);
    const ctl = workerWord(heap.workerId);
    let w: ReturnType<Heap['weak']> | undefined;
    expect(() =>
      heap.scope(() => {
        w = heap.weak(heap.alloc(Node));
        return Promise.resolve(1);
      }),
    ).toThrow(ScopeError);
    expect(heap.running).toBe(false);
    expect(u32[ctl + W_ROOT_TOP]).toBe(u32[ctl + W_ROOT_BASE]);
    // Nested: the inner frame goes, the outer one stays and keeps its objects.
    heap.scope(() => {
      const outer = heap.alloc(Node);
      const topBefore = u32[ctl + W_ROOT_TOP];
      let inner = 0;
      expect(() => heap.scope(async () => { inner = heap.alloc(Node); })).toThrow(ScopeError);
      expect(u32[ctl + W_ROOT_TOP]).toBe(topBefore);
      expect(heap.running).toBe(true);
      const wi = heap.weak(inner);
      heap.collect();
      expect(wi.get()).toBeNull();
      expect(heap.getI32(outer, Node.v)).toBe(0);
    });
    heap.collect();
    expect(w!.get()).toBeNull();
    expectVerified(heap);
  });
});
