// Snapshots: a view agrees with the live heap, is a copy, is read-only, and a file that is
// not a readable snapshot is refused with a SnapshotError that says what was expected where.
import { describe, expect, it } from 'vitest';
import {
  Heap, HeapError, HeapUsageError, InvalidRefError, ReadOnlyHeapError, SnapshotError, StaleRefError, type HeapView,
} from '../../src/index.js';
import {
  P_COMMITTED_PAGES, P_STORED_PAGES, P_VERSION, PREAMBLE_BYTES, SNAPSHOT_CONSTANTS, checkSnapshot, sealSnapshot,
} from '../../src/inspect/format.js';
import { G_MAGIC, PAGE_BYTES, PAGE_TABLE_WORD, PT_INFO, PT_WORDS, PK_FREE } from '../../src/heap/layout.js';
import { buildKnownHeap, MiB, type KnownHeap } from './fixture.js';
import { spawnMutator, withWatchdog } from '../multi/harness.js';

type Reader = Heap | HeapView;

/** Every object reached from `refs`, described by its address, type and contents, in BFS order. */
function describeGraph(h: Reader, refs: number[]): string[] {
  const out: string[] = [];
  const seen = new Set<number>();
  const queue = refs.filter((r) => r !== 0);
  while (queue.length > 0) {
    const ref = queue.shift()!;
    if (seen.has(ref)) continue;
    seen.add(ref);
    const t = h.typeOf(ref);
    const parts: string[] = [`${ref}:${t.$name}`];
    if (t.$kind === 2) {
      const n = h.length(ref);
      parts.push(`len=${n}`);
      for (let i = 0; i < n; i++) {
        if (t.$elemKind === 1) { const c = h.getRefAt(ref, i); parts.push(String(c)); if (c !== 0) queue.push(c); }
        else if (t.$elemKind === 2) parts.push(String(h.getI32At(ref, i)));
        else if (t.$elemKind === 3) parts.push(String(h.getF64At(ref, i)));
        else parts.push(String(h.getU8At(ref, i)));
      }
    } else {
      t.$wordKinds.forEach((k, w) => {
        const off = w * 4;
        if (k === 1) { const c = h.getRef(ref, off); parts.push(`${t.$wordNames[w]}=${c}`); if (c !== 0) queue.push(c); }
        else if (k === 2) parts.push(`${t.$wordNames[w]}=${h.getI32(ref, off)}`);
        else if (k === 3) parts.push(`${t.$wordNames[w]}=${h.getF64(ref, off)}`);
      });
    }
    out.push(parts.join(' '));
  }
  return out;
}

function handleRefs(h: Reader, k: KnownHeap): number[] {
  return [k.treeId, k.listId, k.bigId].map((id) => h.handle(id).get());
}

describe('snapshot round trip', () => {
  it('a view agrees with the live heap on stats, pages, verify and every object reached from the handles', () => {
    const k = buildKnownHeap();
    const before = k.heap.stats();
    const bytes = k.heap.snapshot();
    expect(k.heap.stats()).toEqual(before); // nothing allocated in the arena, nothing moved
    const view = Heap.fromSnapshot(bytes);
    expect(view.stats()).toEqual(before);
    expect(view.pages()).toEqual(k.heap.pages());
    expect(view.heapMap()).toEqual(k.heap.heapMap());
    expect(view.verify()).toMatchObject({ ok: true, errors: [] });
    const live = describeGraph(k.heap, handleRefs(k.heap, k));
    expect(live.length).toBe(k.treeNodes + 8 + 5); // the tree, 8 nodes in the list; the list, big, bytes, floats, file
    expect(describeGraph(view, handleRefs(view, k))).toEqual(live);
    expect(view.typeOf(k.garbage).$name).toBe('Node'); // garbage not collected yet: in the copy too
  });

  it('stores only the pages in use and round-trips through snapshot() of the view', () => {
    const k = buildKnownHeap({ size: 16 * MiB });
    const bytes = k.heap.snapshot();
    const s = checkSnapshot(bytes);
    const st = k.heap.stats();
    expect(s.geometry.storedPages).toBe(st.pages.small + st.pages.large + st.pages.system + st.pages.orphan);
    expect(bytes.byteLength).toBeLessThan(st.arenaBytes / 2); // 16 MiB arena, a few pages used
    const again = Heap.fromSnapshot(bytes).snapshot();
    expect(Heap.fromSnapshot(again).pages()).toEqual(Heap.fromSnapshot(bytes).pages());
  });

  it('any worker may take one, in a scope or parked', async () => {
    const heap = Heap.create({ size: 8 * MiB });
    const worker = heap.spawn(new URL('../../.test-build/test-workers/snapshotter.mjs', import.meta.url), { workerData: { length: 300 } });
    const msg = await withWatchdog(30_000, heap, () => [worker], () => new Promise<{ handleId: number; inside: Uint8Array; outside: Uint8Array }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }));
    for (const bytes of [msg.inside, msg.outside]) {
      const view = Heap.fromSnapshot(bytes);
      expect(view.verify().errors).toEqual([]);
      const Link = view.defineStruct('Link', { next: 'ref', value: 'i32' });
      let n = 0;
      let last = 0;
      for (let r = view.handle(msg.handleId).get(); r !== 0; r = view.getRef(r, Link.next)) {
        expect(view.getI32(r, Link.value)).toBe(n++);
        last = r;
      }
      expect(n).toBe(300);
      expect(view.retainers(last)).toHaveLength(300);
    }
    // Taken inside the worker's scope, the snapshot holds that scope's roots.
    expect(Heap.fromSnapshot(msg.inside).roots().some((r) => r.kind === 'scope' && r.workerId !== 0)).toBe(true);
    expect(Heap.fromSnapshot(msg.outside).roots().some((r) => r.kind === 'scope' && r.workerId !== 0)).toBe(false);
  });

  it('is taken in a pause while another worker allocates, and the copy verifies', async () => {
    const k = buildKnownHeap({ size: 32 * MiB });
    const m = await spawnMutator(k.heap);
    try {
      await withWatchdog(60_000, k.heap, () => [m.worker], async () => {
        const graphId = await m.api.build(0, 500, 7, 1);
        const churning = m.api.churn(40, 10);
        const views: HeapView[] = [];
        for (let i = 0; i < 3; i++) views.push(Heap.fromSnapshot(k.heap.snapshot()));
        await churning;
        for (const v of views) {
          expect(v.verify().errors).toEqual([]);
          expect(v.typeOf(v.handle(graphId).get()).$name).toMatch(/./);
        }
      });
    } finally {
      await m.worker.terminate();
    }
  });
});

describe('a view is a copy', () => {
  it('later changes to the live heap do not show in it', () => {
    const k = buildKnownHeap();
    const view = Heap.fromSnapshot(k.heap.snapshot());
    const tree = k.heap.handle(k.treeId).get();
    const before = describeGraph(view, handleRefs(view, k));
    k.heap.scope(() => {
      k.heap.setI32(tree, k.Node.value, 424242);
      k.heap.setRef(tree, k.Node.left, 0);
      for (let i = 0; i < 1000; i++) k.heap.alloc(k.Node);
    });
    k.heap.handle(k.listId).release();
    k.heap.collect();
    expect(view.getI32(tree, k.Node.value)).toBe(1);
    expect(view.getRef(tree, k.Node.left)).not.toBe(0);
    expect(view.handle(k.listId).get()).not.toBe(0);
    expect(describeGraph(view, handleRefs(view, k))).toEqual(before);
    expect(() => k.heap.handle(k.listId)).toThrow(HeapUsageError);
  });
});

describe('a view is read-only', () => {
  it('reads work, in scopes too; every write throws ReadOnlyHeapError', () => {
    const k = buildKnownHeap();
    const view = Heap.fromSnapshot(k.heap.snapshot());
    const tree = view.handle(k.treeId).get();
    const Node = view.defineStruct('Node', { left: 'ref', right: 'ref', value: 'i32', weight: 'f64' });
    expect(Node.value).toBe(k.Node.value);
    expect(Node.$id).toBe(k.Node.$id);
    expect(view.scope(() => view.getI32(view.root(tree), Node.value))).toBe(1);
    const writes: [string, () => unknown][] = [
      ['alloc', () => view.scope(() => view.alloc(Node))],
      ['allocArray', () => view.scope(() => view.allocArray(k.Refs, 3))],
      ['setRef', () => view.setRef(tree, Node.left, 0)],
      ['setI32', () => view.setI32(tree, Node.value, 1)],
      ['setF64', () => view.setF64(tree, Node.weight, 1)],
      ['setRefAt', () => view.setRefAt(view.handle(k.listId).get(), 0, 0)],
      ['setI32At', () => view.setI32At(tree, 0, 0)],
      ['setF64At', () => view.setF64At(tree, 0, 0)],
      ['setU8At', () => view.setU8At(tree, 0, 0)],
      ['persist', () => view.persist(tree)],
      ['weak', () => view.weak(tree)],
      ['release', () => view.handle(k.treeId).release()],
      ['collect', () => view.collect()],
      ['defineStruct of a new type', () => view.defineStruct('Brand.New', { a: 'i32' })],
    ];
    for (const [what, write] of writes) {
      expect(write, what).toThrow(ReadOnlyHeapError);
      expect(write, what).toThrow(/read-only/);
    }
    expect(ReadOnlyHeapError.prototype).toBeInstanceOf(HeapUsageError);
    expect(view.getI32(tree, Node.value)).toBe(1);
  });

  it('validates refs like checked mode: a free slot is stale, a misaligned ref invalid', () => {
    const k = buildKnownHeap();
    k.heap.collect(); // frees the garbage node
    const view = Heap.fromSnapshot(k.heap.snapshot());
    expect(() => view.getI32(k.garbage, k.Node.value)).toThrow(StaleRefError);
    expect(() => view.typeOf(view.handle(k.treeId).get() + 4)).toThrow(InvalidRefError);
    expect(() => view.handle(12345)).toThrow(/no persistent handle with id 12345/);
  });
});

describe('corrupt, truncated, foreign and newer files', () => {
  const k = buildKnownHeap();
  const good = k.heap.snapshot();
  const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const geometry = checkSnapshot(good).geometry;
  /** A copy with `edit` applied and, unless `reseal` is false, a fresh checksum (to reach the checks behind it). */
  const tampered = (edit: (b: Uint8Array) => void, reseal = true): Uint8Array => {
    const b = good.slice();
    edit(b);
    return reseal ? sealSnapshot(b) : b;
  };
  const ptInfoAt = (page: number): number => geometry.headerAt + (PAGE_TABLE_WORD + page * PT_WORDS + PT_INFO) * 4;

  const cases: [string, unknown, RegExp][] = [
    ['not bytes at all', 'snapshot.bin', /expects the Uint8Array .* got string/],
    ['empty', new Uint8Array(0), /truncated: 0 bytes, but its preamble alone is 48 bytes/],
    ['foreign (a PNG)', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array(60).fill(0)]), /not a bibop-gc snapshot: bytes 0\.\.7 are '\\x89PNG.*expected 'BIBOPSNP'/],
    ['a newer format version', tampered((b) => dv(b).setUint32(P_VERSION, 2, true), false), /format version 2 \(byte 8\) is newer than this library reads \(up to 1\)/],
    ['truncated in the pages', good.slice(0, good.byteLength - 100), /truncated: \d+ bytes, its preamble promises \d+/],
    ['trailing data', Uint8Array.from([...good, 1, 2, 3]), /3 bytes of trailing data after byte \d+/],
    ['a flipped byte in a page', tampered((b) => { b[b.byteLength - PAGE_BYTES + 200]! ^= 0x10; }, false), /checksum mismatch: byte 32 holds 0x[0-9a-f]+, bytes 48\.\.\d+ sum to 0x[0-9a-f]+: the file is corrupt/],
    ['another arena layout', tampered((b) => dv(b).setUint32(PREAMBLE_BYTES + 5 * 4, 999, true)), new RegExp(`constant ${SNAPSHOT_CONSTANTS[5]![0]} \\(byte ${PREAMBLE_BYTES + 20}\\) is 999, this library's layout has ${SNAPSHOT_CONSTANTS[5]![1]}`)],
    ['committed pages beyond the maximum', tampered((b) => dv(b).setUint32(P_COMMITTED_PAGES, 1 << 20, true)), /committed pages \(byte 20\) is 1048576, expected more than the \d+ header pages and at most \d+/],
    ['stored pages more than there are', tampered((b) => dv(b).setUint32(P_STORED_PAGES, geometry.storedPages + 1, true)), /truncated|promises/],
    ['an arena header that is not one', tampered((b) => dv(b).setUint32(geometry.headerAt + G_MAGIC * 4, 0x12345678, true)), new RegExp(`arena header \\(byte ${geometry.headerAt}\\) starts with 0x12345678, expected the arena magic`)],
    ['a page index out of order', tampered((b) => dv(b).setUint32(geometry.indexAt + 4, dv(b).getUint32(geometry.indexAt, true), true)), new RegExp(`page index entry 1 \\(byte ${geometry.indexAt + 4}\\) is page \\d+, expected a page from \\d+`)],
    ['a page in use whose contents are missing', tampered((b) => {
      const stored = new Set(Array.from({ length: geometry.storedPages }, (_, i) => dv(b).getUint32(geometry.indexAt + i * 4, true)));
      let p = geometry.headerBytes / PAGE_BYTES;
      while (stored.has(p)) p++;
      dv(b).setUint32(ptInfoAt(p), 2 /* small head */, true);
    }), /page \d+ is in use in the page table \(byte \d+, kind 2\) but its contents are not in the snapshot/],
    ['a stored page the page table calls free', tampered((b) => {
      const first = dv(b).getUint32(geometry.indexAt, true);
      dv(b).setUint32(ptInfoAt(first), PK_FREE, true);
    }), /page \d+ is stored but the page table \(byte \d+\) says it is free/],
  ];

  for (const [what, input, message] of cases) {
    it(`${what}: SnapshotError naming the place`, () => {
      let caught: unknown;
      try {
        Heap.fromSnapshot(input as Uint8Array);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(SnapshotError);
      expect((caught as Error).message).toMatch(message);
      expect((caught as SnapshotError).offset).toBeTypeOf('number');
    });
  }

  it('the good file opens (the cases above fail for what they changed)', () => {
    expect(Heap.fromSnapshot(good).verify().ok).toBe(true);
    expect(Heap.fromSnapshot(good.buffer.slice(0) as ArrayBuffer as unknown as Uint8Array).stats().allocatedObjects).toBe(k.heap.stats().allocatedObjects);
  });
});

describe('resealed garbage (a writer bug the checksum cannot catch)', () => {
  it('random words changed in a resealed file: a SnapshotError, or a view whose readers never throw', () => {
    const k = buildKnownHeap();
    const good = k.heap.snapshot();
    const g = checkSnapshot(good).geometry;
    let seed = 12345;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    let refused = 0;
    let opened = 0;
    for (let round = 0; round < 60; round++) {
      const b = good.slice();
      const dv = new DataView(b.buffer);
      // Changes in the arena header and the pages: the words readers trust most.
      for (let n = 0; n < 1 + round % 8; n++) {
        const at = g.headerAt + 4 * Math.floor(random() * ((b.byteLength - g.headerAt) / 4));
        dv.setUint32(at, random() < 0.5 ? Math.floor(random() * 2 ** 32) : Math.floor(random() * 64), true);
      }
      sealSnapshot(b);
      let view: HeapView;
      try {
        view = Heap.fromSnapshot(b);
      } catch (e) {
        expect(e).toBeInstanceOf(SnapshotError);
        refused++;
        continue;
      }
      opened++;
      view.stats();
      view.verify();
      view.heapMap();
      view.roots();
      view.exportChrome(() => {});
      for (const id of [k.treeId, k.listId, k.bigId]) {
        try {
          const ref = view.handle(id).get();
          if (ref !== 0) view.retainers(ref);
        } catch (e) {
          // A handle or ref the changed words broke: the library's own errors only.
          expect(e, String(e)).toBeInstanceOf(HeapError);
        }
      }
    }
    expect(refused + opened).toBe(60);
    expect(opened).toBeGreaterThan(0);
  });
});

