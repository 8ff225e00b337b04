// Generations on one thread: objects are born young; minors mark young objects only, from
// the roots and the remembered set; dense survivors age and are promoted; the write barrier
// records old → young stores, for large ref arrays card by card; weak refs and finalizers of
// young objects are handled by minors; the verifier catches a missing dirty bit.
import { describe, expect, it } from 'vitest';
import { Heap, type GcEvent } from '../../src/index.js';
import { PAGE_LOG, S_DIRTY } from '../../src/heap/layout.js';
import { PROMOTE_AGE } from '../../src/gc/collector.js';
import { CLASS_SLOTS } from '../../src/heap/sizeclasses.js';
import { CLASS_OF_GRANULES } from '../../src/heap/types.js';

const MiB = 1 << 20;

function setup(options: Parameters<typeof Heap.create>[0] = {}) {
  const heap = Heap.create({ size: 16 * MiB, youngBytes: MiB, verifyEachGC: true, ...options });
  const Node = heap.defineStruct('GNode', { next: 'ref', other: 'ref', v: 'i32' });
  const Refs = heap.defineArray('GRefs', 'ref');
  const events: GcEvent[] = [];
  heap.onGC((e) => events.push(e));
  return { heap, Node, Refs, events };
}

const isOld = (heap: Heap, ref: number): boolean => heap.pages()[ref >>> PAGE_LOG]!.old;

/** Nodes in one span of the nodes' size class: `longLived` fills whole spans, all dense. */
const PER_SPAN = CLASS_SLOTS[CLASS_OF_GRANULES[2]!]!;

/**
 * Allocates `n` nodes linked into a list, persisted: a dense, long-lived structure. `get()`
 * gives its first node (the last allocated), `tail` its last (the first allocated).
 */
function longLived(heap: Heap, Node: ReturnType<typeof setup>['Node'], n: number) {
  let tail = 0;
  const handle = heap.scope(() => {
    let head = 0;
    for (let i = 0; i < n; i++) {
      const x = heap.alloc(Node);
      heap.setRef(x, Node.next, head);
      heap.setI32(x, Node.v, i);
      if (i === 0) tail = x;
      head = x;
    }
    return heap.persist(head);
  });
  return { get: () => handle.get(), release: () => handle.release(), tail };
}

/** Minor collections until the object at `ref` is old. */
function promote(heap: Heap, ref: () => number): number {
  let minors = 0;
  while (!isOld(heap, ref()) && minors < 10) {
    heap.collect('minor');
    minors++;
  }
  return minors;
}

describe('young and old', () => {
  it('objects are born young; a dense span of survivors is promoted after PROMOTE_AGE collections, not before', () => {
    const { heap, Node, events } = setup();
    const list = longLived(heap, Node, 8 * PER_SPAN);
    expect(isOld(heap, list.get())).toBe(false);
    for (let i = 1; i < PROMOTE_AGE; i++) {
      heap.collect('minor');
      expect(isOld(heap, list.get()), `after ${i} minors`).toBe(false);
    }
    const e = heap.collect('minor');
    expect(e.kind).toBe('minor');
    expect(isOld(heap, list.get())).toBe(true);
    expect(isOld(heap, list.tail)).toBe(true);
    expect(e.promotedObjects).toBe(8 * PER_SPAN);
    expect(events.filter((x) => x.kind === 'major')).toHaveLength(0);
    const s = heap.stats();
    expect(s.oldBytes).toBeGreaterThan(0);
    expect(s.collections).toEqual({ minor: PROMOTE_AGE, major: 0 });
    expect(s.pauseMs.minor.samples).toBe(PROMOTE_AGE);
    expect(s.pauseMs.major.samples).toBe(0);
  });

  it.each([true, false])('a dense span whose objects all die just before their PROMOTE_AGE-th collection is freed, not promoted (checked: %s)', (checked) => {
    const { heap, Node } = setup({ checked });
    const list = longLived(heap, Node, 8 * PER_SPAN);
    for (let i = 1; i < PROMOTE_AGE; i++) heap.collect('minor');
    expect(isOld(heap, list.get())).toBe(false);
    const tail = list.tail;
    list.release();
    const e = heap.collect('minor');
    expect(e.freedObjects).toBe(8 * PER_SPAN);
    expect(e.promotedObjects).toBe(0);
    // Checked mode keeps the dead slots one more collection (quarantine): they are not survivors.
    expect(heap.pages()[tail >>> PAGE_LOG]!.old, 'the dead list\'s span turned old').toBe(false);
    expect(heap.stats().oldBytes).toBe(0);
    heap.collect('minor');
    const s = heap.stats();
    expect(s.quarantinedObjects).toBe(0);
    expect(s.allocatedObjects).toBe(0);
  });

  it('a minor marks only young objects: the old list is neither marked nor freed', () => {
    const { heap, Node } = setup();
    const list = longLived(heap, Node, 8 * PER_SPAN);
    promote(heap, () => list.get());
    heap.scope(() => { for (let i = 0; i < 500; i++) heap.alloc(Node); }); // young garbage
    const young = heap.scope(() => heap.persist(heap.alloc(Node)));
    const e = heap.collect('minor');
    expect(e.markedObjects).toBe(1); // `young`; none of the 2000 old nodes
    expect(e.freedObjects).toBe(500);
    list.release();
    // A minor leaves dead old objects alone; a major frees them.
    expect(heap.collect('minor').freedObjects).toBe(0);
    expect(heap.collect('major').freedObjects).toBe(8 * PER_SPAN);
    young.release();
  });

  it('a young object reachable only from an old one survives every minor (the barrier remembered the store)', () => {
    const { heap, Node } = setup();
    const list = longLived(heap, Node, 8 * PER_SPAN);
    promote(heap, () => list.get());
    const old = list.get();
    heap.scope(() => {
      const y = heap.alloc(Node);
      heap.setI32(y, Node.v, 4242);
      heap.setRef(old, Node.other, y); // old → young: the barrier records it
    });
    for (let i = 0; i < 6; i++) {
      heap.scope(() => { for (let j = 0; j < 2000; j++) heap.alloc(Node); });
      heap.collect('minor');
      expect(heap.scope(() => heap.getI32(heap.getRef(old, Node.other), Node.v))).toBe(4242);
    }
    expect(heap.verify().errors).toEqual([]);
  });

  it('the verifier catches a deliberately missing dirty bit', () => {
    const { heap, Node } = setup({ verifyEachGC: false });
    const list = longLived(heap, Node, 8 * PER_SPAN);
    promote(heap, () => list.get());
    const old = list.get();
    heap.scope(() => heap.setRef(old, Node.other, heap.alloc(Node)));
    expect(heap.verify().errors).toEqual([]);
    const u32 = new Uint32Array(heap.buffer);
    const base = heap.pages()[old >>> PAGE_LOG]!.index * 4096; // a one-page span
    for (let w = 0; w < 8; w++) u32[(base >>> 2) + S_DIRTY + w] = 0;
    expect(heap.verify().errors.join('\n')).toMatch(/remembered set: old object 0x[0-9a-f]+ holds a ref to a young object but its dirty bit is clear/);
  });

  it('an old → young store into a multi-page ref array is remembered by its card and survives minors', () => {
    const { heap, Node, Refs } = setup();
    const n = 100_000; // 400 KB: a large object of about 100 pages, 256 cards
    const arr = heap.scope(() => heap.persist(heap.escape(heap.allocArray(Refs, n))));
    promote(heap, () => arr.get());
    expect(isOld(heap, arr.get())).toBe(true);
    const at = [0, 777, 50_000, n - 1];
    heap.scope(() => {
      for (const i of at) {
        const y = heap.alloc(Node);
        heap.setI32(y, Node.v, i);
        heap.setRefAt(arr.get(), i, y);
      }
    });
    const u32 = new Uint32Array(heap.buffer);
    const base = (arr.get() >>> PAGE_LOG) << PAGE_LOG;
    let dirtyCards = 0;
    for (let w = 0; w < 8; w++) {
      let x = u32[(base >>> 2) + S_DIRTY + w]!;
      while (x !== 0) { dirtyCards += x & 1; x >>>= 1; }
    }
    expect(dirtyCards).toBe(at.length); // a card each: a minor scans 4 cards, not 100 000 elements
    for (let round = 0; round < 5; round++) {
      heap.scope(() => { for (let j = 0; j < 3000; j++) heap.alloc(Node); });
      heap.collect('minor');
      heap.scope(() => { for (const i of at) expect(heap.getI32(heap.getRefAt(arr.get(), i), Node.v)).toBe(i); });
    }
  });

  it('a large struct and large arrays of numbers: only ref fields count as refs, and an old large struct remembers its young ref', () => {
    const { heap, Node } = setup();
    const fields: Record<string, 'ref' | 'i32'> = { link: 'ref' };
    for (let i = 0; i < 2100; i++) fields[`n${i}`] = 'i32'; // 8 KiB: a large object
    const Big = heap.defineStruct('GBig', fields);
    const Ints = heap.defineArray('GInts', 'i32');
    const big = heap.scope(() => heap.persist(heap.escape(heap.alloc(Big))));
    const ints = heap.scope(() => heap.persist(heap.escape(heap.allocArray(Ints, 5000))));
    promote(heap, () => big.get());
    promote(heap, () => ints.get());
    heap.scope(() => {
      // Numbers that look like refs to young objects must not be taken for refs.
      const y = heap.alloc(Node);
      for (let i = 0; i < 5000; i++) heap.setI32At(ints.get(), i, y);
      heap.setI32(big.get(), (Big as unknown as Record<string, number>).n7!, y);
      heap.setI32(y, Node.v, 99);
      heap.setRef(big.get(), (Big as unknown as Record<string, number>).link!, y);
    });
    for (let i = 0; i < 4; i++) {
      heap.scope(() => { for (let j = 0; j < 3000; j++) heap.alloc(Node); });
      heap.collect('minor');
      expect(heap.scope(() => heap.getI32(heap.getRef(big.get(), (Big as unknown as Record<string, number>).link!), Node.v))).toBe(99);
    }
  });

  it('a tree built across several minors stays intact (what is being built is not lost, nor promoted at once)', () => {
    const { heap, Node, events } = setup({ youngBytes: 256 << 10 });
    const depth = 15; // 65 535 nodes, 2 MiB: eight young budgets
    const sum = heap.scope(() => {
      const make = (d: number): number => {
        const x = heap.alloc(Node);
        heap.setI32(x, Node.v, 1);
        if (d > 0) {
          heap.setRef(x, Node.next, make(d - 1));
          heap.setRef(x, Node.other, make(d - 1));
        }
        return x;
      };
      const root = make(depth);
      const count = (x: number): number => (x === 0 ? 0 : heap.getI32(x, Node.v) + count(heap.getRef(x, Node.next)) + count(heap.getRef(x, Node.other)));
      return count(root);
    });
    expect(sum).toBe(2 ** (depth + 1) - 1);
    // The young budget widens while most of it survives: fewer minors than budgets filled.
    const minors = events.filter((e) => e.kind === 'minor');
    expect(minors.length).toBeGreaterThan(1);
    expect(heap.stats().collections.major).toBe(0);
    expect(heap.verify().errors).toEqual([]);
  });

  it('weak refs to young objects are cleared by a minor; weak refs to old ones wait for a major', () => {
    const { heap, Node } = setup();
    const list = longLived(heap, Node, 8 * PER_SPAN);
    promote(heap, () => list.get());
    const toOld = heap.weak(list.get());
    const toYoung = heap.scope(() => heap.weak(heap.alloc(Node)));
    list.release();
    heap.collect('minor');
    expect(toYoung.get()).toBeNull();
    expect(toOld.get()).not.toBeNull();
    heap.collect('major');
    expect(toOld.get()).toBeNull();
  });

  it('finalizable young objects are finalized after a minor', () => {
    const { heap } = setup();
    const File = heap.defineStruct('GFile', { fd: 'i32' }, { finalize: true });
    const ran: number[] = [];
    heap.onFinalize(File, (r) => ran.push(heap.getI32(r, File.fd)));
    heap.scope(() => { for (let fd = 0; fd < 5; fd++) heap.setI32(heap.alloc(File), File.fd, fd); });
    const e = heap.collect('minor');
    expect(e.finalizableObjects).toBe(5);
    expect(ran.sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('the young budget triggers minors by itself; old growth then triggers a major', () => {
    const { heap, Node, events } = setup({ size: 8 * MiB, youngBytes: 256 << 10 });
    const keep: { release(): void }[] = [];
    // 4.5 MiB of survivors promoted: past a quarter of the initial arena, the old space's
    // growth makes the next collection a major.
    for (let i = 0; i < 300; i++) {
      keep.push(longLived(heap, Node, 4 * PER_SPAN)); // survivors: promoted, the old space grows
      heap.scope(() => { for (let j = 0; j < 5000; j++) heap.alloc(Node); }); // garbage
    }
    expect(events.filter((e) => e.kind === 'minor').length).toBeGreaterThan(5);
    expect(events.some((e) => e.kind === 'major')).toBe(true);
    expect(events.reduce((a, e) => a + e.promotedObjects, 0)).toBeGreaterThan(10_000);
    for (const k of keep) k.release();
  });

  it('verify({ remark: true }) marks the heap again: right after a minor every young object is reached, old garbage is counted', () => {
    const { heap, Node } = setup({ verifyEachGC: false });
    const list = longLived(heap, Node, 8 * PER_SPAN);
    promote(heap, () => list.get());
    list.release(); // old garbage now: only a major frees it
    heap.scope(() => { for (let i = 0; i < 1000; i++) heap.alloc(Node); });
    const before = heap.verify({ remark: true });
    expect(before.remark!.unreachableYoungObjects).toBe(1000);
    heap.collect('minor');
    const after = heap.verify({ remark: true });
    expect(after.errors).toEqual([]);
    expect(after.remark).toEqual({ reachableObjects: 0, unreachableOldObjects: 8 * PER_SPAN, unreachableYoungObjects: 0, firstUnreachableYoung: 0 });
    heap.collect('major');
    expect(heap.verify({ remark: true }).remark!.unreachableOldObjects).toBe(0);
  });

  it('verify({ remark: true }) counts every old garbage object, also those old garbage reaches from a lower address', () => {
    const { heap, Node } = setup({ verifyEachGC: false });
    // Built head first: each node points to one allocated after it, at a higher address.
    const n = 8 * PER_SPAN;
    const handle = heap.scope(() => {
      const head = heap.alloc(Node);
      let last = head;
      for (let i = 1; i < n; i++) {
        const x = heap.alloc(Node);
        heap.setRef(last, Node.next, x);
        last = x;
      }
      return heap.persist(head);
    });
    promote(heap, () => handle.get());
    handle.release();
    heap.collect('minor');
    expect(heap.verify({ remark: true }).remark!.unreachableOldObjects).toBe(n);
  });

  it('with youngBytes: 0 nothing is ever old and the barrier has nothing to record', () => {
    const { heap, Node } = setup({ youngBytes: 0 });
    const list = longLived(heap, Node, 8 * PER_SPAN);
    for (let i = 0; i < 5; i++) heap.collect();
    expect(isOld(heap, list.get())).toBe(false);
    expect(heap.stats().oldBytes).toBe(0);
    expect(heap.collect('minor').kind).toBe('minor'); // marks everything: there is no old space
  });
});
