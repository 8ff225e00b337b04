// Collection: the GcEvent and its numbers, onGC listeners, deep lists and cycles, stats(),
// collect('minor'), and finalization (once per object, object readable, resurrection,
// allocation inside a finalizer, and queueing while the arena grows inside the pause).
import { describe, expect, it } from 'vitest';
import { Heap, HeapUsageError, StaleRefError, type GcEvent, type Persistent, type WeakHandle } from '../../src/index.js';
import { G_MAJOR_COUNT, G_MINOR_COUNT, HANDLE_DIR_WORD, HANDLES_PER_CHUNK } from '../../src/heap/layout.js';
import { CLASS_BLOCK_BYTES } from '../../src/heap/sizeclasses.js';

const MiB = 1 << 20;

function expectVerified(heap: Heap): void {
  const v = heap.verify();
  expect(v.errors).toEqual([]);
  expect(v.ok).toBe(true);
}

function setup(size = 4 * MiB) {
  const heap = Heap.create({ size });
  const Node = heap.defineStruct('CNode', { next: 'ref', other: 'ref', tag: 'i32' });
  return { heap, Node };
}

describe('GcEvent', () => {
  it('has the contract fields with sensible values', () => {
    const { heap } = setup();
    const ev = heap.collect();
    expect(ev.kind).toBe('major');
    for (const k of ['pauseMs', 'markedObjects', 'freedObjects', 'freedBytes', 'promotedObjects'] as const) {
      expect(typeof ev[k], k).toBe('number');
      expect(ev[k], k).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(ev[k]), k).toBe(true);
    }
    for (const k of ['rendezvousMs', 'markMs', 'sweepMs'] as const) {
      expect(typeof ev.phases[k], k).toBe('number');
      expect(ev.phases[k], k).toBeGreaterThanOrEqual(0);
    }
    expect(ev.phases.markMs + ev.phases.sweepMs).toBeLessThanOrEqual(ev.pauseMs + 1e-6);
    for (const k of ['markedObjects', 'freedObjects', 'freedBytes', 'promotedObjects'] as const) expect(Number.isInteger(ev[k]), k).toBe(true);
  });

  it('counts marked and freed objects: 1000 garbage + 10 rooted', () => {
    const { heap, Node } = setup();
    const roots: Persistent[] = [];
    heap.scope(() => {
      for (let i = 0; i < 1010; i++) {
        const n = heap.alloc(Node);
        if (i % 101 === 0) roots.push(heap.persist(n));
      }
    });
    expect(roots.length).toBe(10);
    const ev = heap.collect();
    expect(ev.freedObjects).toBe(1000);
    expect(ev.markedObjects).toBe(10);
    const block = CLASS_BLOCK_BYTES.find((b) => b >= Node.$bytes)!;
    expect(ev.freedBytes).toBe(1000 * block);
    expect(ev.promotedObjects).toBe(0);
    const again = heap.collect();
    expect(again.freedObjects).toBe(0);
    expect(again.freedBytes).toBe(0);
    expect(again.markedObjects).toBe(10);
    roots.forEach((p) => p.release());
    expect(heap.collect().freedObjects).toBe(10);
  });

  it('onGC listeners run before collect() returns, with the same event; unsubscribing stops them', () => {
    const { heap, Node } = setup();
    const seen: GcEvent[] = [];
    let returned = false;
    const off = heap.onGC((e) => {
      expect(returned).toBe(false);
      seen.push(e);
    });
    heap.scope(() => {
      for (let i = 0; i < 10; i++) heap.alloc(Node);
    });
    const ev = heap.collect();
    returned = true;
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBe(ev);
    expect(seen[0]!.freedObjects).toBe(10);
    returned = false;
    const ev2 = heap.collect();
    expect(seen).toHaveLength(2);
    expect(seen[1]).toBe(ev2);
    off();
    heap.collect();
    expect(seen).toHaveLength(2);
  });

  it('a listener also sees collections triggered by allocation', () => {
    const heap = Heap.create({ size: 2 * MiB, maxSize: 8 * MiB });
    const Leaf = heap.defineStruct('GcLeaf', { x: 'i32' });
    const events: GcEvent[] = [];
    heap.onGC((e) => events.push(e));
    const u32 = new Uint32Array(heap.buffer);
    heap.scope(() => {
      while (u32[G_MAJOR_COUNT]! + u32[G_MINOR_COUNT]! === 0) heap.scope(() => { for (let i = 0; i < 1000; i++) heap.alloc(Leaf); });
    });
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events[0]!.freedObjects).toBeGreaterThan(1000);
    const c = heap.stats().collections;
    expect(c.major + c.minor).toBe(events.length);
  });

  it('collect() rejects unknown kinds', () => {
    const { heap } = setup();
    expect(() => heap.collect('full' as 'major')).toThrow(HeapUsageError);
  });
});

describe('object graphs', () => {
  it('a million-node linked list survives (no recursion) and is freed when dropped', () => {
    const heap = Heap.create({ size: 48 * MiB });
    const L = heap.defineStruct('LNode', { next: 'ref' });
    const N = 1_000_000;
    const head = heap.scope(() => {
      let list = 0;
      for (let i = 0; i < N; i++) {
        const n = heap.alloc(L);
        heap.setRef(n, L.next, list);
        list = n;
      }
      return heap.escape(list);
    });
    const p = heap.persist(head);
    const w = heap.weak(head);
    const ev = heap.collect();
    expect(ev.markedObjects).toBe(N);
    expect(ev.freedObjects).toBe(0);
    let n = 0;
    for (let r = p.get(); r !== 0; r = heap.getRef(r, L.next)) n++;
    expect(n).toBe(N);
    p.release();
    const freed = heap.collect();
    expect(freed.freedObjects).toBe(N);
    expect(freed.markedObjects).toBe(0);
    expect(w.get()).toBeNull();
    expect(heap.stats().allocatedObjects).toBe(0);
  });

  it('a deep tree and a wide array survive a collection intact', () => {
    const { heap, Node } = setup(8 * MiB);
    const Refs = heap.defineArray('CRefs', 'ref');
    let tag = 0;
    const build = (depth: number): number => {
      const n = heap.alloc(Node);
      heap.setI32(n, Node.tag, tag++);
      if (depth > 0) {
        heap.setRef(n, Node.next, build(depth - 1));
        heap.setRef(n, Node.other, build(depth - 1));
      }
      return n;
    };
    const root = heap.scope(() => {
      const arr = heap.allocArray(Refs, 3000);
      for (let i = 0; i < 3000; i++) heap.setRefAt(arr, i, heap.scope(() => heap.escape(heap.alloc(Node))));
      const t = heap.scope(() => heap.escape(build(13)));
      const top = heap.alloc(Node);
      heap.setRef(top, Node.next, arr);
      heap.setRef(top, Node.other, t);
      return heap.escape(top);
    });
    const p = heap.persist(root);
    const ev = heap.collect();
    const treeNodes = 2 ** 14 - 1;
    expect(ev.markedObjects).toBe(1 + 1 + 3000 + treeNodes);
    let sum = 0;
    const walk = (n: number): number => {
      sum += heap.getI32(n, Node.tag);
      const l = heap.getRef(n, Node.next);
      return 1 + (l === 0 ? 0 : walk(l) + walk(heap.getRef(n, Node.other)));
    };
    expect(walk(heap.getRef(p.get(), Node.other))).toBe(treeNodes);
    expect(sum).toBe((treeNodes * (treeNodes - 1)) / 2);
    p.release();
    expect(heap.collect().freedObjects).toBe(1 + 1 + 3000 + treeNodes);
    expectVerified(heap);
  });

  it('cycles are collected', () => {
    const { heap, Node } = setup();
    const Refs = heap.defineArray('CycRefs', 'ref');
    const weaks: WeakHandle[] = [];
    const holder = heap.scope(() => {
      const a = heap.alloc(Node);
      const b = heap.alloc(Node);
      heap.setRef(a, Node.next, b);
      heap.setRef(b, Node.next, a);
      const self = heap.alloc(Node);
      heap.setRef(self, Node.next, self);
      const arr = heap.allocArray(Refs, 2);
      heap.setRefAt(arr, 0, arr);
      heap.setRefAt(arr, 1, a);
      heap.setRef(a, Node.other, arr);
      // A ring of 1000.
      const first = heap.alloc(Node);
      let prev = first;
      for (let i = 1; i < 1000; i++) {
        const n = heap.alloc(Node);
        heap.setRef(prev, Node.next, n);
        prev = n;
      }
      heap.setRef(prev, Node.next, first);
      for (const r of [a, b, self, arr, first, prev]) weaks.push(heap.weak(r));
      const h = heap.alloc(Node);
      heap.setRef(h, Node.next, a);
      heap.setRef(h, Node.other, first);
      return heap.escape(h);
    });
    const p = heap.persist(holder);
    heap.collect();
    expect(weaks.map((w) => w.get() !== null)).toEqual([true, true, false, true, true, true]);
    p.release();
    const ev = heap.collect();
    expect(ev.freedObjects).toBe(1 + 2 + 1 + 1000); // holder, a/b, arr, ring (self went earlier)
    for (const w of weaks) expect(w.get()).toBeNull();
    expectVerified(heap);
  });
});

describe('stats()', () => {
  it('has the contract fields, and they are consistent', () => {
    const { heap, Node } = setup();
    const Big = heap.defineArray('StatsBig', 'f64');
    const s0 = heap.stats();
    expect(s0.collections).toEqual({ minor: 0, major: 0 });
    expect(s0.pauseMs).toMatchObject({ p50: 0, p99: 0, max: 0 });
    expect(s0.allocatedObjects).toBe(0);
    expect(s0.allocatedBytes).toBe(0);
    const check = (s: ReturnType<Heap['stats']>): void => {
      const p = s.pages;
      expect(p.free + p.small + p.large + p.orphan + p.system + p.header).toBe(s.arenaBytes / 4096);
      expect(s.arenaBytes).toBeLessThanOrEqual(heap.buffer.byteLength); // reserved at maxSize
      expect(s.pauseMs.p50).toBeLessThanOrEqual(s.pauseMs.p99);
      expect(s.pauseMs.p99).toBeLessThanOrEqual(s.pauseMs.max);
    };
    check(s0);
    const keep: Persistent[] = [];
    heap.scope(() => {
      for (let i = 0; i < 100; i++) {
        const n = heap.alloc(Node);
        if (i < 40) keep.push(heap.persist(n));
      }
      keep.push(heap.persist(heap.allocArray(Big, 2000)));
      const s = heap.stats();
      expect(s.allocatedObjects).toBe(101); // TLAB objects count before any collection
      check(s);
    });
    heap.collect();
    heap.collect();
    const s = heap.stats();
    check(s);
    const block = CLASS_BLOCK_BYTES.find((b) => b >= Node.$bytes)!;
    expect(s.allocatedObjects).toBe(41);
    expect(s.allocatedBytes).toBe(40 * block + Math.ceil((128 + 8 + 2000 * 8) / 4096) * 4096);
    expect(s.pages.large).toBe(Math.ceil((128 + 8 + 2000 * 8) / 4096));
    expect(s.pages.small).toBeGreaterThanOrEqual(1);
    expect(s.pages.orphan).toBe(0);
    expect(s.collections.major + s.collections.minor).toBe(2);
    expect(s.pauseMs.max).toBeGreaterThan(0);
    keep.forEach((p) => p.release());
    heap.collect();
    const dead = heap.stats();
    check(dead);
    expect(dead.allocatedObjects).toBe(0);
    // Checked mode keeps dead slots one more collection (quarantine), then frees them.
    expect(dead.quarantinedObjects).toBe(41);
    heap.collect();
    const end = heap.stats();
    check(end);
    expect(end.quarantinedObjects).toBe(0);
    expect(end.pages.large).toBe(0);
    expect(end.pages.small).toBe(0);
    expect(end.collections.major + end.collections.minor).toBe(4);
  });
});

describe('gcInterval (stress)', () => {
  it('collects after every n allocations of a thread, small or large, and not otherwise', () => {
    const heap = Heap.create({ size: 8 * MiB, gcInterval: 100, youngBytes: 4 * MiB }); // a budget the test never uses up
    const Node = heap.defineStruct('GINode', { next: 'ref' });
    const Big = heap.defineArray('GIBig', 'f64');
    heap.scope(() => {
      for (let i = 0; i < 1000; i++) heap.alloc(Node);
    });
    // The 101st, 201st, … 901st allocation each start with a collection; with generations,
    // every fourth of a thread's stress collections is major, the others minor.
    const all = (): number => heap.stats().collections.major + heap.stats().collections.minor;
    expect(all()).toBe(9);
    expect(heap.stats().collections.major).toBe(2);
    heap.scope(() => {
      for (let i = 0; i < 100; i++) heap.allocArray(Big, 2000); // large objects count as one each
    });
    expect(all()).toBe(10);
    const plain = Heap.create({ size: 8 * MiB });
    const P = plain.defineStruct('GINode', { next: 'ref' });
    plain.scope(() => { for (let i = 0; i < 1000; i++) plain.alloc(P); });
    expect(plain.stats().collections.major).toBe(0);
    expect(heap.verify().errors).toEqual([]);
  });
});

describe("collect('minor')", () => {
  it('collects unreachable objects and keeps reachable ones', () => {
    const { heap, Node } = setup();
    const [keep, drop] = heap.scope(() => {
      const k = heap.alloc(Node);
      const d = heap.alloc(Node);
      heap.setRef(k, Node.next, heap.alloc(Node));
      return [heap.escape(k), d];
    });
    const p = heap.persist(keep!);
    const wd = heap.weak(drop!);
    const ev = heap.collect('minor');
    expect(['minor', 'major']).toContain(ev.kind);
    expect(ev.freedObjects).toBe(1);
    expect(ev.markedObjects).toBe(2);
    expect(wd.get()).toBeNull();
    expect(heap.getRef(p.get(), Node.next)).not.toBe(0);
    const s = heap.stats();
    expect(s.collections.minor + s.collections.major).toBe(1);
    p.release();
    expectVerified(heap);
  });
});

describe('finalizers', () => {
  function fileSetup(size = 4 * MiB, maxSize?: number, youngBytes?: number) {
    const heap = Heap.create({ size, ...(maxSize === undefined ? {} : { maxSize }), ...(youngBytes === undefined ? {} : { youngBytes }) });
    const File = heap.defineStruct('File', { fd: 'i32', buf: 'ref' }, { finalize: true });
    const Leaf = heap.defineStruct('FLeaf', { x: 'i32' });
    return { heap, File, Leaf };
  }

  it('run exactly once per dead object, after collect() returns, with the object readable', () => {
    const { heap, File, Leaf } = fileSetup();
    const ran: number[] = [];
    const leafValues: number[] = [];
    heap.onFinalize(File, (ref) => {
      ran.push(heap.getI32(ref, File.fd));
      const b = heap.getRef(ref, File.buf);
      if (b !== 0) leafValues.push(heap.getI32(b, Leaf.x));
    });
    let live: Persistent | undefined;
    heap.scope(() => {
      for (let fd = 0; fd < 50; fd++) {
        const f = heap.alloc(File);
        heap.setI32(f, File.fd, fd);
        const leaf = heap.alloc(Leaf);
        heap.setI32(leaf, Leaf.x, fd * 10);
        heap.setRef(f, File.buf, leaf); // reachable only from the dying file
        if (fd === 7) live = heap.persist(f);
      }
    });
    const ev = heap.collect();
    expect(ev.finalizableObjects).toBe(49);
    expect(ran.slice().sort((a, b) => a - b)).toEqual([...Array(50).keys()].filter((k) => k !== 7));
    expect(leafValues.slice().sort((a, b) => a - b)).toEqual(ran.slice().sort((a, b) => a - b).map((k) => k * 10));
    expect(heap.stats().pendingFinalizers).toBe(0);
    // Freed by the next collection, without running again.
    const ev2 = heap.collect();
    expect(ev2.freedObjects).toBe(98);
    expect(ran).toHaveLength(49);
    heap.collect();
    expect(ran).toHaveLength(49);
    live!.release();
    heap.collect();
    expect(ran).toHaveLength(50);
    expect(ran[49]).toBe(7);
    heap.collect();
    expect(ran).toHaveLength(50);
    expectVerified(heap);
  });

  it('run at the end of the outermost scope when an allocation triggered the collection', () => {
    const { heap, File, Leaf } = fileSetup(2 * MiB, 16 * MiB);
    const ran: number[] = [];
    heap.onFinalize(File, (ref) => ran.push(heap.getI32(ref, File.fd)));
    // A handle made now puts the handle table in place before the arena fills up.
    const anchor = heap.persist(heap.scope(() => heap.escape(heap.alloc(Leaf))));
    heap.scope(() => {
      for (let fd = 1; fd <= 5; fd++) heap.setI32(heap.alloc(File), File.fd, fd);
    });
    const u32 = new Uint32Array(heap.buffer);
    let ranInside = -1;
    heap.scope(() => {
      while (u32[G_MAJOR_COUNT]! + u32[G_MINOR_COUNT]! === 0) heap.scope(() => { for (let i = 0; i < 1000; i++) heap.alloc(Leaf); });
      ranInside = ran.length;
    });
    expect(heap.stats().collections.major + heap.stats().collections.minor).toBeGreaterThanOrEqual(1);
    expect(ranInside).toBe(0); // no user code ran inside the pause or the scope
    expect(ran.slice().sort()).toEqual([1, 2, 3, 4, 5]);
    expect(heap.stats().pendingFinalizers).toBe(0);
    heap.collect();
    expect(ran).toHaveLength(5);
    anchor.release();
    expectVerified(heap);
  });

  it('an object its finalizer stores in a persistent handle stays alive, and is freed later without a second finalization', () => {
    const { heap, File } = fileSetup();
    const calls: number[] = [];
    let saved: Persistent | undefined;
    heap.onFinalize(File, (ref) => {
      calls.push(ref);
      saved = heap.persist(ref);
    });
    const f = heap.scope(() => {
      const x = heap.alloc(File);
      heap.setI32(x, File.fd, 99);
      return x;
    });
    heap.collect();
    expect(calls).toEqual([f]);
    expect(saved!.get()).toBe(f);
    for (let i = 0; i < 3; i++) {
      heap.collect();
      expect(heap.getI32(f, File.fd)).toBe(99);
    }
    expect(calls).toHaveLength(1);
    saved!.release();
    const ev = heap.collect();
    expect(ev.freedObjects).toBe(1);
    expect(ev.finalizableObjects).toBe(0);
    expect(calls).toHaveLength(1);
    expect(() => heap.getI32(f, File.fd)).toThrow(StaleRefError);
    expectVerified(heap);
  });

  it('a finalizer may allocate, link and persist', () => {
    const { heap, File, Leaf } = fileSetup();
    const made: Persistent[] = [];
    heap.onFinalize(File, (ref) => {
      const leaf = heap.alloc(Leaf);
      heap.setI32(leaf, Leaf.x, heap.getI32(ref, File.fd) + 1000);
      for (let i = 0; i < 100; i++) heap.alloc(Leaf); // garbage
      made.push(heap.persist(leaf));
    });
    heap.scope(() => {
      for (let fd = 0; fd < 20; fd++) heap.setI32(heap.alloc(File), File.fd, fd);
    });
    heap.collect();
    expect(made).toHaveLength(20);
    expect(made.map((p) => heap.getI32(p.get(), Leaf.x)).sort((a, b) => a - b)).toEqual([...Array(20).keys()].map((k) => k + 1000));
    const ev = heap.collect();
    expect(ev.markedObjects).toBe(20);
    expect(ev.freedObjects).toBe(20 + 20 * 100);
    made.forEach((p) => p.release());
    expectVerified(heap);
  });

  it('finalizable arrays and large finalizable objects are finalized too', () => {
    const heap = Heap.create({ size: 4 * MiB });
    const Buf = heap.defineArray('FinBuf', 'u8', { finalize: true });
    const lens: number[] = [];
    heap.onFinalize(Buf, (ref) => lens.push(heap.length(ref)));
    heap.scope(() => {
      for (const len of [0, 10, 5000, 20000]) heap.allocArray(Buf, len);
    });
    heap.collect();
    expect(lens.sort((a, b) => a - b)).toEqual([0, 10, 5000, 20000]);
    const ev = heap.collect();
    expect(ev.freedObjects).toBe(4);
    heap.collect(); // checked mode keeps dead slots one more collection (quarantine)
    expect(heap.stats().pages.large).toBe(0);
    expectVerified(heap);
  });

  it('objects of finalizable types without a registered callback are freed quietly', () => {
    const { heap, File } = fileSetup();
    heap.scope(() => {
      for (let i = 0; i < 10; i++) heap.alloc(File);
    });
    heap.collect();
    expect(heap.stats().pendingFinalizers).toBe(0);
    expect(heap.collect().freedObjects).toBe(10);
    expect(heap.stats().allocatedObjects).toBe(0);
  });

  it('every finalizer runs when the first handle chunk is made inside a pause that grows the arena', () => {
    // No handle exists yet, and the page pool is empty when an allocation triggers the
    // collection: queueing the dead files needs the first handle chunk, which only fits in
    // pages the pause itself adds to the arena. (Without generations, so that it is the
    // empty pool, not the young budget, that collects.)
    const { heap, File, Leaf } = fileSetup(2 * MiB, 16 * MiB, 0);
    const ran: number[] = [];
    heap.onFinalize(File, (ref) => ran.push(heap.getI32(ref, File.fd)));
    heap.scope(() => {
      for (let fd = 0; fd < 3; fd++) heap.setI32(heap.alloc(File), File.fd, fd);
    });
    const initialBytes = heap.stats().arenaBytes;
    const u32 = new Uint32Array(heap.buffer);
    expect(u32[HANDLE_DIR_WORD]).toBe(0);
    heap.scope(() => {
      while (u32[G_MAJOR_COUNT]! + u32[G_MINOR_COUNT]! === 0) heap.scope(() => { for (let i = 0; i < 1000; i++) heap.alloc(Leaf); });
    });
    // The scenario happened: the first chunk lies in memory the collection added.
    expect(u32[HANDLE_DIR_WORD]).toBeGreaterThanOrEqual(initialBytes);
    expect.soft(ran.slice().sort(), 'finalizers run after the scope').toEqual([0, 1, 2]);
    expect.soft(heap.stats().pendingFinalizers).toBe(0);
    expect.soft(heap.verify().errors, 'handle table right after the pause').toEqual([]);
    heap.collect();
    expect.soft(ran.slice().sort(), 'finalizers run after one more collect').toEqual([0, 1, 2]);
    heap.collect();
    expect(heap.stats().allocatedObjects).toBe(0);
    expectVerified(heap);
  });

  it('every finalizer runs when a later handle chunk is made inside a pause that grows the arena', () => {
    const { heap, File, Leaf } = fileSetup(2 * MiB, 16 * MiB, 0);
    const ran: number[] = [];
    heap.onFinalize(File, (ref) => ran.push(heap.getI32(ref, File.fd)));
    const anchor = heap.scope(() => heap.escape(heap.alloc(Leaf)));
    const handles: Persistent[] = [];
    for (let i = 0; i < HANDLES_PER_CHUNK - 2; i++) handles.push(heap.persist(anchor)); // two entries left
    heap.scope(() => {
      for (let fd = 0; fd < 3; fd++) heap.setI32(heap.alloc(File), File.fd, fd);
    });
    const initialBytes = heap.stats().arenaBytes;
    const u32 = new Uint32Array(heap.buffer);
    heap.scope(() => {
      while (u32[G_MAJOR_COUNT]! + u32[G_MINOR_COUNT]! === 0) heap.scope(() => { for (let i = 0; i < 1000; i++) heap.alloc(Leaf); });
    });
    expect(u32[HANDLE_DIR_WORD + 1]).toBeGreaterThanOrEqual(initialBytes);
    expect.soft(ran.slice().sort(), 'finalizers run after the scope').toEqual([0, 1, 2]);
    expect.soft(heap.stats().pendingFinalizers).toBe(0);
    expect.soft(heap.verify().errors, 'handle table right after the pause').toEqual([]);
    handles.forEach((h) => h.release());
    heap.collect();
    expect.soft(ran.slice().sort(), 'finalizers run after one more collect').toEqual([0, 1, 2]);
    heap.collect();
    expect(heap.stats().allocatedObjects).toBe(0);
    expectVerified(heap);
  });
});
