// Page summaries: one entry per page, consistent with stats(); per-class and per-type figures
// on a heap whose contents are known; orphan, old and dirty pages; racy reads that meet torn
// words count them instead of throwing.
import { describe, expect, it } from 'vitest';
import { Heap } from '../../src/index.js';
import { CLASS_BLOCK_BYTES, CLASS_SLOTS, CLASS_SPAN_PAGES } from '../../src/heap/sizeclasses.js';
import { PAGE_BYTES, PAGE_TABLE_WORD, PT_SPAN, PT_WORDS, SPAN_HEADER_BYTES, S_BLOCK_BYTES, S_PAGES } from '../../src/heap/layout.js';
import { setSpanOld } from '../../src/heap/spans.js';
import type { HeapMap } from '../../src/inspect/pages.js';
import { buildKnownHeap, MiB } from './fixture.js';
import { spawnMutator, withWatchdog } from '../multi/harness.js';

function expectConsistent(map: HeapMap, heap: Heap): void {
  const st = heap.stats();
  expect(map.pages.length).toBe(st.arenaBytes / PAGE_BYTES);
  const { stray, ...kinds } = map.totals.pages;
  expect(stray).toBe(0);
  expect(kinds).toEqual(st.pages);
  expect(map.totals.objects).toBe(st.allocatedObjects);
  expect(map.totals.footprint).toBe(st.allocatedBytes);
  expect(map.pages.reduce((n, p) => n + p.live, 0)).toBe(st.allocatedObjects);
  expect(map.classes.reduce((n, c) => n + c.pages, 0) + map.pages.filter((p) => p.kind === 'large' || (p.kind === 'orphan' && p.sizeClass < 0)).length)
    .toBe(st.pages.small + st.pages.large + st.pages.orphan);
}

describe('pages()', () => {
  it('is consistent with stats() on a known heap', () => {
    const k = buildKnownHeap();
    const map = k.heap.heapMap();
    expectConsistent(map, k.heap);
    expect(k.heap.pages()).toEqual(map.pages);
    expect(map.pages.slice(0, map.headerPages).every((p) => p.kind === 'header')).toBe(true);
  });

  it('counts per type and per size class what the heap holds', () => {
    const k = buildKnownHeap();
    const map = k.heap.heapMap();
    const byName = Object.fromEntries(map.types.map((t) => [t.name, t]));
    // Node: 24 bytes (header, left, right, value, weight at 16): 127 tree nodes, 10 list nodes, 1 garbage.
    expect(k.Node.$bytes).toBe(24);
    expect(byName.Node).toMatchObject({ kind: 'struct', count: 138, bytes: 138 * 24, footprint: 138 * 24 });
    // Refs: the 10-element list (48 bytes, class of 48) and the 3000-element large array.
    expect(byName.Refs).toMatchObject({ kind: 'array', count: 2, bytes: 48 + 8 + 3000 * 4 });
    expect(byName.Refs!.footprint).toBe(48 + Math.ceil((SPAN_HEADER_BYTES + 8 + 3000 * 4) / PAGE_BYTES) * PAGE_BYTES);
    expect(byName.Bytes).toMatchObject({ count: 1, bytes: 108, footprint: 112 });
    expect(byName.Floats).toMatchObject({ count: 1, bytes: 168, footprint: 176 });
    expect(byName.File).toMatchObject({ count: 1, bytes: 12 });
    const c24 = map.classes.find((c) => c.blockBytes === 24)!;
    expect(c24.objects).toBe(138);
    expect(c24.liveBytes).toBe(138 * 24);
    expect(c24.internalWaste).toBe(0);
    // Fresh spans are claimed eight pages at a time: the spares are empty spans of the class.
    const spans = map.pages.filter((p) => p.sizeClass === 1 && p.span === p.index).length;
    expect(c24.spans).toBe(spans);
    expect(c24.slots).toBe(spans * CLASS_SLOTS[1]!);
    expect(c24.tailWaste).toBe(spans * (PAGE_BYTES - SPAN_HEADER_BYTES - CLASS_SLOTS[1]! * 24));
    expect(c24.freeBytes).toBe((spans * CLASS_SLOTS[1]! - 138) * 24);
    expect(c24.fragmentation).toBeCloseTo(1 - 138 / (spans * CLASS_SLOTS[1]!), 10);
    const c112 = map.classes.find((c) => c.blockBytes === 112)!;
    expect(c112.internalWaste).toBe(112 - 108); // the 100-byte array rounds up to its class
    for (const c of map.classes) {
      expect(c.blockBytes).toBe(CLASS_BLOCK_BYTES[c.sizeClass]);
      expect(c.pages).toBe(c.spans * CLASS_SPAN_PAGES[c.sizeClass]!);
      expect(c.internalWaste + c.liveBytes + c.freeBytes + c.tailWaste + c.spans * SPAN_HEADER_BYTES).toBe(c.pages * PAGE_BYTES);
    }
    // The finalizable File lies in a span of the finalizable twin of its class.
    expect(map.pages.find((p) => p.types?.includes(k.File.$id))!.finalizable).toBe(true);
  });

  it('describes a large span: the object on its head page, its tails in the same span', () => {
    const k = buildKnownHeap();
    const big = k.heap.handle(k.bigId).get();
    const pages = k.heap.pages();
    const head = pages[Math.floor(big / PAGE_BYTES)]!;
    expect(head).toMatchObject({ kind: 'large', slots: 1, live: 1, occupancy: 1, owner: 0, types: [k.Refs.$id] });
    expect(head.spanPages).toBe(Math.ceil((SPAN_HEADER_BYTES + 8 + 3000 * 4) / PAGE_BYTES));
    const tail = pages[head.index + 1]!;
    expect(tail).toMatchObject({ kind: 'large', span: head.index, slots: 0, live: 0 });
  });

  it('shows old pages and counts dirty bits set by the write barrier', () => {
    const k = buildKnownHeap();
    const tree = k.heap.handle(k.treeId).get();
    const u32 = new Uint32Array(k.heap.buffer);
    const base = u32[PAGE_TABLE_WORD + Math.floor(tree / PAGE_BYTES) * PT_WORDS + PT_SPAN]!;
    setSpanOld(u32, base, u32[(base >>> 2) + S_PAGES]!, true);
    k.heap.scope(() => k.heap.setRef(tree, k.Node.left, k.heap.allocArray(k.Refs, 1))); // old → young (another span): barrier
    const page = k.heap.pages()[base / PAGE_BYTES]!;
    expect(page.old).toBe(true);
    expect(page.dirty).toBe(1);
    expect(k.heap.pages().filter((p) => p.old).length).toBe(1);
  });

  it('turns a dead worker\'s pages into orphan pages, as stats() counts them', async () => {
    const heap = Heap.create({ size: 16 * MiB });
    const m = await spawnMutator(heap);
    await withWatchdog(30_000, heap, () => [m.worker], async () => {
      await m.api.build(0, 2000, 3, 1);
      const owned = heap.pages().filter((p) => p.owner === m.workerId && p.kind === 'small').length;
      expect(owned).toBeGreaterThan(0);
      await m.worker.terminate();
      heap.collect();
    });
    const map = heap.heapMap();
    expectConsistent(map, heap);
    expect(map.totals.pages.orphan).toBeGreaterThan(0);
    expect(map.pages.filter((p) => p.kind === 'orphan').every((p) => p.owner === -1 && p.sizeClass >= 0)).toBe(true);
  });

  it('reads racing the mutators the same quiet heap alike, and counts torn words instead of throwing', () => {
    const k = buildKnownHeap();
    const calm = k.heap.heapMap();
    expect(k.heap.heapMap('racy')).toEqual(calm);
    // Words a racing reader can meet mid-update: a span header not yet written, an object
    // header naming no type.
    const u32 = new Uint32Array(k.heap.buffer);
    const nodeSpan = u32[PAGE_TABLE_WORD + Math.floor(k.heap.handle(k.treeId).get() / PAGE_BYTES) * PT_WORDS + PT_SPAN]!;
    const list = k.heap.handle(k.listId).get();
    const listHeader = u32[list >>> 2]!;
    const block = u32[(nodeSpan >>> 2) + S_BLOCK_BYTES]!;
    u32[(nodeSpan >>> 2) + S_BLOCK_BYTES] = 0;
    u32[list >>> 2] = 999;
    try {
      const torn = k.heap.heapMap('racy');
      expect(torn.torn).toBe(2);
      expect(torn.totals.objects).toBe(calm.totals.objects - 138 - 1);
    } finally {
      u32[(nodeSpan >>> 2) + S_BLOCK_BYTES] = block;
      u32[list >>> 2] = listHeader;
    }
    expect(k.heap.verify().ok).toBe(true);
  });
});
