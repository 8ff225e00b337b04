// The verifier: passes on healthy heaps of many shapes, and catches each kind of
// deliberate corruption made through a raw view of the arena.
import { describe, expect, it } from 'vitest';
import { Heap, HeapCorruptionError, type Persistent } from '../../src/index.js';
import {
  G_CENTRAL, G_FREE_PAGES, PAGE_LOG, PAGE_TABLE_WORD, PI_KIND_MASK, PK_FREE, PK_HEADER, PT_INFO, PT_SPAN, PT_WORDS,
  SPAN_HEADER_BYTES, S_ALLOC, S_BLOCK_BYTES, S_DIRTY, S_MARK, S_NEXT, S_SCAN, S_SLOTS, SCAN_WRITTEN_SHIFT, arenaLayout,
  HANDLE_ID_GEN_FACTOR, H_REF, W_ROOT_BASE, W_ROOT_TOP, workerWord, G_MAX_PAGES,
} from '../../src/heap/layout.js';
import { handleWord } from '../../src/heap/handles.js';

const MiB = 1 << 20;

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

function expectOk(heap: Heap): void {
  const v = heap.verify();
  expect(v.errors).toEqual([]);
  expect(v.ok).toBe(true);
}

/** Raw access to the arena's words, following growth. */
class Raw {
  constructor(private readonly heap: Heap) {}
  get u32(): Uint32Array {
    return new Uint32Array(this.heap.buffer);
  }
  spanOf(ref: number): number {
    return this.u32[PAGE_TABLE_WORD + (ref >>> PAGE_LOG) * PT_WORDS + PT_SPAN]!;
  }
  slotOf(ref: number): number {
    const base = this.spanOf(ref);
    return (ref - base - SPAN_HEADER_BYTES) / this.u32[(base >>> 2) + S_BLOCK_BYTES]!;
  }
  bitWord(ref: number, map: number): [number, number] {
    const s = this.slotOf(ref);
    return [(this.spanOf(ref) >>> 2) + map + (s >>> 5), 1 << (s & 31)];
  }
  /** The first free slot of the span holding `ref`, as a ref. */
  freeSlot(ref: number): number {
    const u32 = this.u32;
    const base = this.spanOf(ref);
    const bw = base >>> 2;
    for (let s = 0; s < u32[bw + S_SLOTS]!; s++) {
      if ((u32[bw + S_ALLOC + (s >>> 5)]! & (1 << (s & 31))) === 0) return base + SPAN_HEADER_BYTES + s * u32[bw + S_BLOCK_BYTES]!;
    }
    throw new Error('span is full');
  }
  headerPages(): number {
    return arenaLayout(this.u32[G_MAX_PAGES]!).headerPages;
  }
  freeBitmapWord(): number {
    return arenaLayout(this.u32[G_MAX_PAGES]!).freeBitmapWord;
  }
  pageKind(p: number): number {
    return this.u32[PAGE_TABLE_WORD + p * PT_WORDS + PT_INFO]! & PI_KIND_MASK;
  }
}

/** A fresh heap holding a persisted chain of ten nodes in one partly used span. */
function chainHeap() {
  const heap = Heap.create({ size: 2 * MiB });
  const Node = heap.defineStruct('VNode', { next: 'ref', other: 'ref', tag: 'i32' });
  const refs = heap.scope(() => {
    const rs: number[] = [];
    for (let i = 0; i < 10; i++) {
      const n = heap.alloc(Node);
      heap.setI32(n, Node.tag, i);
      if (i > 0) heap.setRef(rs[i - 1]!, Node.next, n);
      rs.push(n);
    }
    return rs;
  });
  const root = heap.persist(refs[0]!);
  heap.collect(); // retires the TLAB: the allocated bitmap now lists exactly the ten
  expectOk(heap);
  return { heap, Node, refs, root, raw: new Raw(heap) };
}

function expectCaught(heap: Heap, ...patterns: (RegExp | string)[]): string[] {
  const v = heap.verify();
  expect(v.ok).toBe(false);
  expect(v.errors.length).toBeGreaterThan(0);
  for (const p of patterns) {
    const hit = v.errors.some((e) => (typeof p === 'string' ? e.includes(p) : p.test(e)));
    expect(hit, `no error matches ${String(p)} in:\n${v.errors.join('\n')}`).toBe(true);
  }
  return v.errors;
}

describe('verify() on healthy heaps', () => {
  it('an empty heap', () => {
    const heap = Heap.create({ size: 2 * MiB });
    const v = heap.verify();
    expect(v.ok).toBe(true);
    expect(v.errors).toEqual([]);
    expect(v.checkedPages).toBe(heap.stats().arenaBytes / 4096);
  });

  it('lists, trees, arrays of every kind, large objects, weak refs and finalizable objects', () => {
    const heap = Heap.create({ size: 8 * MiB });
    const Node = heap.defineStruct('HNode', { l: 'ref', r: 'ref', v: 'i32', w: 'f64' });
    const Refs = heap.defineArray('HRefs', 'ref');
    const Ints = heap.defineArray('HInts', 'i32');
    const Floats = heap.defineArray('HFloats', 'f64');
    const Bytes = heap.defineArray('HBytes', 'u8');
    const File = heap.defineStruct('HFile', { fd: 'i32', n: 'ref' }, { finalize: true });
    let finalized = 0;
    heap.onFinalize(File, () => finalized++);
    const keep: Persistent[] = [];
    heap.scope(() => {
      const tree = (d: number): number => {
        const n = heap.alloc(Node);
        if (d > 0) {
          heap.setRef(n, Node.l, tree(d - 1));
          heap.setRef(n, Node.r, tree(d - 1));
        }
        return n;
      };
      keep.push(heap.persist(tree(10)));
      const arr = heap.allocArray(Refs, 50_000);
      for (let i = 0; i < 50_000; i += 7) heap.setRefAt(arr, i, heap.alloc(Node));
      keep.push(heap.persist(arr));
      keep.push(heap.persist(heap.allocArray(Ints, 3000)));
      keep.push(heap.persist(heap.allocArray(Floats, 100)));
      keep.push(heap.persist(heap.allocArray(Bytes, 9000)));
      keep.push(heap.persist(heap.allocArray(Bytes, 0)));
      for (let i = 0; i < 30; i++) {
        const f = heap.alloc(File);
        heap.setRef(f, File.n, heap.alloc(Node));
        if (i % 3 === 0) keep.push(heap.persist(f));
      }
      for (let i = 0; i < 100; i++) heap.weak(heap.alloc(Node));
      // Inside a running scope with live TLABs.
      const v = heap.verify();
      expect(v.errors).toEqual([]);
      expect(v.checkedObjects).toBeGreaterThan(2000);
    });
    expectOk(heap);
    heap.collect();
    expect(finalized).toBe(20);
    expectOk(heap);
    heap.collect();
    expectOk(heap);
    keep.forEach((p) => p.release());
    heap.collect(); // the ten kept files are finalized now…
    expect(finalized).toBe(30);
    expectOk(heap);
    heap.collect(); // …and freed here
    expectOk(heap);
    expect(heap.stats().allocatedObjects).toBe(0);
  });

  it('after growth, many collections and churn', () => {
    const heap = Heap.create({ size: 2 * MiB, maxSize: 32 * MiB });
    const Node = heap.defineStruct('GNode', { next: 'ref', v: 'i32' });
    let head: Persistent | undefined;
    for (let round = 0; round < 20; round++) {
      heap.scope(() => {
        let list = head === undefined ? 0 : head.get();
        for (let i = 0; i < 10_000; i++) {
          const n = heap.alloc(Node);
          if (i % 2 === 0) {
            heap.setRef(n, Node.next, list);
            list = n;
          }
        }
        head?.release();
        head = heap.persist(list);
      });
      if (round % 5 === 4) {
        heap.collect();
        expectOk(heap);
      }
    }
    expect(heap.stats().arenaBytes).toBeGreaterThan(2 * MiB);
    expectOk(heap);
  });

  it('with orphan pages of a detached Heap on the same arena', () => {
    const heap = Heap.create({ size: 4 * MiB });
    const Node = heap.defineStruct('ONode', { next: 'ref', v: 'i32' });
    const other = Heap.attach(heap.buffer);
    const kept = other.scope(() => {
      let list = 0;
      for (let i = 0; i < 500; i++) {
        const n = other.alloc(Node);
        other.setRef(n, Node.next, list);
        list = n;
      }
      return other.escape(list);
    });
    const p = heap.persist(kept);
    other.detach();
    heap.collect();
    expect(heap.stats().pages.orphan).toBeGreaterThan(0);
    expectOk(heap);
    // The main heap adopts the orphans' free slots.
    heap.scope(() => {
      for (let i = 0; i < 2000; i++) heap.alloc(Node);
    });
    expectOk(heap);
    p.release();
    heap.collect();
    heap.collect(); // checked mode keeps dead slots one more collection (quarantine)
    expect(heap.stats().pages.orphan).toBe(0);
    expectOk(heap);
  });
});

describe('verify() catches corruption', () => {
  it('an allocated bit on a free slot whose header is 0', () => {
    const { heap, raw, refs } = chainHeap();
    const free = raw.freeSlot(refs[0]!);
    expect(raw.u32[free >>> 2]).toBe(0);
    const [w, bit] = raw.bitWord(free, S_ALLOC);
    raw.u32[w] = raw.u32[w]! | bit;
    expectCaught(heap, `object ${hex(free)}`, /type id 0 is not defined/);
  });

  it('a word written into a slot past the span\'s written mark (memory the allocator will not zero)', () => {
    // gcInterval cuts allocation runs short, so the span is handed out only part way.
    const heap = Heap.create({ size: 2 * MiB, gcInterval: 20 });
    const Node = heap.defineStruct('VMark', { next: 'ref' });
    const kept = heap.scope(() => heap.persist(heap.alloc(Node)));
    const raw = new Raw(heap);
    const base = raw.spanOf(kept.get());
    const written = raw.u32[(base >>> 2) + S_SCAN]! >>> SCAN_WRITTEN_SHIFT;
    expect(written).toBeLessThan(raw.u32[(base >>> 2) + S_SLOTS]!);
    expectOk(heap);
    const past = base + SPAN_HEADER_BYTES + written * raw.u32[(base >>> 2) + S_BLOCK_BYTES]!;
    raw.u32[past >>> 2] = 0xdead;
    expectCaught(heap, `span ${hex(base)}: slot ${written} lies past the written mark ${written} but is not zero`);
  });

  it("a live object's ref field pointing at a free slot", () => {
    const { heap, raw, refs, Node } = chainHeap();
    const free = raw.freeSlot(refs[0]!);
    raw.u32[(refs[5]! + Node.other) >>> 2] = free;
    expectCaught(heap, new RegExp(`field at byte ${Node.other} of object ${hex(refs[5]!)}.*holds ${hex(free)}.*free slot`));
  });

  it('the allocated bit of a reachable object cleared', () => {
    const { heap, raw, refs, Node } = chainHeap();
    const [w, bit] = raw.bitWord(refs[5]!, S_ALLOC);
    raw.u32[w] = raw.u32[w]! & ~bit;
    expectCaught(heap, new RegExp(`field at byte ${Node.next} of object ${hex(refs[4]!)}.*holds ${hex(refs[5]!)}.*free slot`));
  });

  it('the page-table entry of a used page set to free', () => {
    const { heap, raw, refs } = chainHeap();
    const page = raw.spanOf(refs[0]!) >>> PAGE_LOG;
    raw.u32[PAGE_TABLE_WORD + page * PT_WORDS + PT_INFO] = PK_FREE;
    expectCaught(heap, `free page ${page} points at span`, /on a free page/);
  });

  it('a mark bit set outside a collection', () => {
    const { heap, raw, refs } = chainHeap();
    const [w, bit] = raw.bitWord(refs[3]!, S_MARK);
    raw.u32[w] = raw.u32[w]! | bit;
    expectCaught(heap, `span ${hex(raw.spanOf(refs[3]!))}: mark bits set outside a collection`);
  });

  it('a dirty bit on an unallocated slot', () => {
    const { heap, raw, refs } = chainHeap();
    const [w, bit] = raw.bitWord(raw.freeSlot(refs[0]!), S_DIRTY);
    raw.u32[w] = raw.u32[w]! | bit;
    expectCaught(heap, /dirty bits on unallocated slots/);
  });

  it('a free page missing from the free-page bitmap', () => {
    const { heap, raw } = chainHeap();
    const u32 = raw.u32;
    let page = raw.headerPages();
    while (raw.pageKind(page) !== PK_FREE) page++;
    const w = raw.freeBitmapWord() + (page >>> 5);
    u32[w] = u32[w]! & ~(1 << (page & 31));
    expectCaught(heap, `free page ${page} is missing from the free-page bitmap`);
  });

  it('a used page marked free in the free-page bitmap', () => {
    const { heap, raw, refs } = chainHeap();
    const page = raw.spanOf(refs[0]!) >>> PAGE_LOG;
    const w = raw.freeBitmapWord() + (page >>> 5);
    raw.u32[w] = raw.u32[w]! | (1 << (page & 31));
    expectCaught(heap, `page ${page} (small) is in use but marked free in the bitmap`);
  });

  it('a wrong free-page count', () => {
    const { heap, raw } = chainHeap();
    raw.u32[G_FREE_PAGES] = raw.u32[G_FREE_PAGES]! + 1;
    expectCaught(heap, /free-page count is \d+ but \d+ pages are free/);
  });

  it('a header page that is not marked as one', () => {
    const { heap, raw } = chainHeap();
    raw.u32[PAGE_TABLE_WORD + 1 * PT_WORDS + PT_INFO] = PK_FREE;
    expect(raw.u32[PAGE_TABLE_WORD + 0 * PT_WORDS + PT_INFO]! & PI_KIND_MASK).toBe(PK_HEADER);
    expectCaught(heap, 'page 1 is in the arena header');
  });

  it('an undefined type id in a live object header', () => {
    const { heap, raw, refs } = chainHeap();
    raw.u32[refs[6]! >>> 2] = 999;
    expectCaught(heap, `object ${hex(refs[6]!)} has header ${hex(999)}: type id 999 is not defined`);
  });

  it('a central list whose link points back into the list (a cycle)', () => {
    const { heap, raw, refs } = chainHeap();
    const base = raw.spanOf(refs[0]!);
    const cls = (raw.u32[PAGE_TABLE_WORD + (base >>> PAGE_LOG) * PT_WORDS + PT_INFO]! >>> 8) & 0xff;
    expect(raw.u32[G_CENTRAL + cls]).toBe(base); // the partly used span is on its central list
    raw.u32[(base >>> 2) + S_NEXT] = base;
    expectCaught(heap, `central list of class ${cls} has a cycle`);
  });

  it('a central list whose link points at something that is not a span of its class', () => {
    const { heap, raw, refs } = chainHeap();
    const base = raw.spanOf(refs[0]!);
    const cls = (raw.u32[PAGE_TABLE_WORD + (base >>> PAGE_LOG) * PT_WORDS + PT_INFO]! >>> 8) & 0xff;
    let freePage = raw.headerPages();
    while (raw.pageKind(freePage) !== PK_FREE) freePage++;
    raw.u32[(base >>> 2) + S_NEXT] = freePage << PAGE_LOG;
    expectCaught(heap, `central list of class ${cls} holds ${hex(freePage << PAGE_LOG)}, which is not a span of that class`);
  });

  it('a persistent handle holding a ref into the middle of an object', () => {
    const { heap, raw, refs, root } = chainHeap();
    const index = root.id % HANDLE_ID_GEN_FACTOR;
    const w = handleWord(raw.u32, index) + H_REF;
    expect(raw.u32[w]).toBe(refs[0]);
    raw.u32[w] = refs[0]! + 8;
    expectCaught(heap, `handle ${index} holds ${hex(refs[0]! + 8)}, which is not the start of an object`);
  });

  it('a root-stack slot holding a ref into the middle of an object', () => {
    const { heap, raw, refs, Node } = chainHeap();
    heap.scope(() => {
      const n = heap.alloc(Node);
      const ctl = workerWord(heap.workerId);
      const u32 = raw.u32;
      let slot = -1;
      for (let r = u32[ctl + W_ROOT_BASE]!; r < u32[ctl + W_ROOT_TOP]!; r++) if (u32[r] === n) slot = r;
      expect(slot).toBeGreaterThan(0);
      u32[slot] = refs[2]! + 8;
      expectCaught(heap, new RegExp(`worker ${heap.workerId} root slot \\d+ holds ${hex(refs[2]! + 8)}, which is not the start of an object`));
      u32[slot] = n;
    });
    expectOk(heap);
  });

  it('verifyEachGC turns a corruption into a HeapCorruptionError at the next collection', () => {
    const heap = Heap.create({ size: 2 * MiB, verifyEachGC: true });
    const Node = heap.defineStruct('ENode', { next: 'ref' });
    const [a, b] = heap.scope(() => {
      const x = heap.alloc(Node);
      const y = heap.alloc(Node);
      heap.setRef(x, Node.next, y);
      return [heap.escape(x), y];
    });
    const p = heap.persist(a!);
    heap.collect();
    const raw = new Raw(heap);
    raw.u32[b! >>> 2] = 1000;
    let err: unknown;
    try {
      heap.collect();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HeapCorruptionError);
    expect((err as HeapCorruptionError).errors.some((m) => m.includes('type id 1000 is not defined'))).toBe(true);
    raw.u32[b! >>> 2] = Node.$id;
    heap.collect();
    expectOk(heap);
    p.release();
  });
});
