// Generations with real worker_threads: old → young stores from one worker into another's
// old objects while a third collects; a multi-page ref array's cards; TLABs live at the
// rendezvous of a minor; a tree built across minors; weak and finalizable young objects;
// a dead worker's young orphan pages. verifyEachGC is on throughout: every minor also
// checks the remembered-set invariant at its start.

import type { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { afterEach, describe, expect, test } from 'vitest';
import { Heap, type GcEvent } from '../../src/index.js';
import { PAGE_LOG, TLAB_CURSOR, TLAB_LIMIT, TLAB_START, TLAB_WORDS, W_TLAB, workerWord } from '../../src/heap/layout.js';
import { PROMOTE_AGE } from '../../src/gc/collector.js';
import { CLASS_SLOTS } from '../../src/heap/sizeclasses.js';
import { CLASS_OF_GRANULES } from '../../src/heap/types.js';
import { until, withWatchdog, workerState } from './harness.js';
import { defineGenTypes, youngTag, type GenApi, type TreeResult } from './gen-shared.js';

const GEN_URL = new URL('../../.test-build/test-workers/generations.mjs', import.meta.url);
const MiB = 1 << 20;
/** Nodes ('mg.Node': three words and a header) in one span of their size class. */
const PER_SPAN = CLASS_SLOTS[CLASS_OF_GRANULES[2]!]!;

interface GenWorker {
  worker: Worker;
  api: Comlink.Remote<GenApi>;
  workerId: number;
}

let spawned: GenWorker[] = [];
afterEach(async () => {
  await Promise.all(spawned.map((w) => w.worker.terminate()));
  spawned = [];
});
const workersOf = (): Worker[] => spawned.map((w) => w.worker);

async function spawnGen(heap: Heap, n: number): Promise<GenWorker[]> {
  const ws = await Promise.all(Array.from({ length: n }, async () => {
    const worker = heap.spawn<Worker>(GEN_URL);
    const api = Comlink.wrap<GenApi>(nodeEndpoint(worker));
    const g: GenWorker = { worker, api, workerId: -1 };
    spawned.push(g);
    g.workerId = await api.workerId();
    return g;
  }));
  return ws;
}

/** Lets the event loop run (comlink replies, the watchdog) between blocking collections. */
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function oldPages(heap: Heap): boolean[] {
  return heap.pages().map((p) => p.old);
}

/** Minor collections on this thread until every ref `refs()` gives is old (at most 10). */
async function promote(heap: Heap, refs: () => number[]): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const old = oldPages(heap);
    if (refs().every((r) => old[r >>> PAGE_LOG])) return;
    heap.collect('minor');
    await tick();
  }
  throw new Error('not promoted after 10 minor collections');
}

/** The nodes of a list made by buildList, read on this thread. */
function listNodes(heap: Heap, Node: ReturnType<typeof defineGenTypes>['Node'], head: number): number[] {
  const out: number[] = [];
  for (let x = head; x !== 0; x = heap.getRef(x, Node.next)) out.push(x);
  return out;
}

describe('generations across workers', () => {
  test('a young object stored into an old object by another worker, while a third worker and the main thread run minors, survives every minor', async () => {
    const heap = Heap.create({ size: 32 * MiB, youngBytes: MiB, verifyEachGC: true, safepointTimeoutMs: 20_000 });
    const { Node } = defineGenTypes(heap);
    await withWatchdog(90_000, heap, workersOf, async () => {
      const [a, b, c] = await spawnGen(heap, 3);
      const n = 8 * PER_SPAN;
      const listId = await a!.api.buildList(n);
      const list = heap.handle(listId);
      const nodes = listNodes(heap, Node, list.get());
      expect(nodes).toHaveLength(n);
      await promote(heap, () => [nodes[0]!, nodes[n - 1]!]);

      const stride = 7;
      let checked = 0;
      let youngAtCheck = 0;
      let minorsDuringStores = 0;
      for (let round = 1; round <= 6; round++) {
        const minorsBefore = heap.stats().collections.minor;
        const storing = b!.api.storeYoung(listId, stride, round, 20);
        const collecting = c!.api.minors(5);
        for (let i = 0; i < 3; i++) {
          heap.collect('minor');
          await tick();
        }
        const [stored, events] = await Promise.all([storing, collecting]);
        expect(stored).toBe(Math.ceil(n / stride));
        expect(events).toHaveLength(5);
        minorsDuringStores += heap.stats().collections.minor - minorsBefore;
        heap.collect('minor'); // at least one minor after the last store
        // Checked by a worker that neither stored nor collected, and by this thread.
        expect(await a!.api.checkStored(listId, stride, round), `round ${round}, read by worker ${a!.workerId}`).toEqual([]);
        const old = oldPages(heap);
        for (let i = 0; i < n; i += stride) {
          const y = heap.getRef(nodes[i]!, Node.other);
          expect(y, `round ${round}: list node ${i} lost its young object`).not.toBe(0);
          expect(heap.getI32(y, Node.v)).toBe(youngTag(round, i));
          checked++;
          if (!old[y >>> PAGE_LOG]) youngAtCheck++;
        }
        expect(old[nodes[0]! >>> PAGE_LOG] && old[nodes[n - 1]! >>> PAGE_LOG], 'the list stays old').toBe(true);
      }
      expect(checked).toBe(6 * Math.ceil(n / stride));
      // The stored objects were kept by the remembered set, not by being promoted themselves.
      expect(youngAtCheck).toBeGreaterThan(checked / 2);
      expect(minorsDuringStores).toBeGreaterThanOrEqual(6 * 5); // at least worker C's five a round
      expect(heap.stats().collections.major).toBe(0);
      expect(heap.verify().errors).toEqual([]);
    });
  });

  test('old → young stores from another worker into a multi-page ref array, at scattered indices, survive minors', async () => {
    const heap = Heap.create({ size: 32 * MiB, youngBytes: MiB, verifyEachGC: true, safepointTimeoutMs: 20_000 });
    const { Refs, Node } = defineGenTypes(heap);
    await withWatchdog(90_000, heap, workersOf, async () => {
      const [a, b, c] = await spawnGen(heap, 3);
      const length = 100_000; // about 100 pages
      const arr = heap.scope(() => heap.persist(heap.allocArray(Refs, length)));
      await promote(heap, () => [arr.get()]);
      const head = heap.pages()[arr.get() >>> PAGE_LOG]!;
      expect(head.kind).toBe('large');
      expect(head.spanPages).toBeGreaterThan(90);
      const random = mulberry(11);
      const indices = [...new Set([
        0, 1, 511, 512, 1023, 1024, 4095, 4096, 33_333, 50_000, 65_535, 65_536, length - 2, length - 1,
        ...Array.from({ length: 50 }, () => (random() * length) | 0),
      ])].sort((x, y) => x - y);

      let youngAtCheck = 0;
      for (let round = 1; round <= 5; round++) {
        const storing = b!.api.storeIntoArray(arr.id, indices, round, 20);
        const collecting = c!.api.minors(4);
        for (let i = 0; i < 2; i++) {
          heap.collect('minor');
          await tick();
        }
        expect(await storing).toBe(indices.length);
        await collecting;
        heap.collect('minor');
        expect(await a!.api.checkArray(arr.id, indices, round), `round ${round}`).toEqual([]);
        const old = oldPages(heap);
        for (const i of indices) {
          const y = heap.getRefAt(arr.get(), i);
          expect(heap.getI32(y, Node.v), `round ${round}, element ${i}`).toBe(youngTag(round, i));
          if (!old[y >>> PAGE_LOG]) youngAtCheck++;
        }
        // Untouched elements stay null.
        for (const i of [2, 777, 99_000]) if (!indices.includes(i)) expect(heap.getRefAt(arr.get(), i)).toBe(0);
      }
      expect(youngAtCheck).toBeGreaterThan((5 * indices.length) / 2);
      expect(heap.stats().collections.major).toBe(0);
      expect(heap.verify().errors).toEqual([]);
    });
  });

  test('a worker allocating and storing into its objects right before and right after each minor another thread runs: its spans are promoted under it and nothing is lost', async () => {
    const heap = Heap.create({ size: 32 * MiB, youngBytes: 4 * MiB, verifyEachGC: true, safepointTimeoutMs: 20_000 });
    await withWatchdog(90_000, heap, workersOf, async () => {
      const [w, c] = await spawnGen(heap, 2);
      const rounds = 8;
      const sync = new SharedArrayBuffer(8);
      const ready = new Int32Array(sync);
      const running = w!.api.allocAcrossMinors(rounds, 200, sync);
      let failed: unknown = null;
      running.catch((e: unknown) => { failed = e; });
      // The worker's TLAB of the nodes' class, read while it waits at its safepoints.
      const words = new Uint32Array(heap.buffer, 0, 1 << 16);
      const tl = workerWord(w!.workerId) + W_TLAB + CLASS_OF_GRANULES[2]! * TLAB_WORDS;
      let liveTlabs = 0;
      for (let round = 0; round < rounds; round++) {
        await until(() => Atomics.load(ready, 0) > round || failed !== null, `the worker to finish round ${round}`, 30_000);
        if (failed !== null) break;
        const [start, cursor, limit] = [words[tl + TLAB_START]!, words[tl + TLAB_CURSOR]!, words[tl + TLAB_LIMIT]!];
        if (start < cursor && cursor < limit) liveTlabs++;
        // The minor lands while the worker sits at a safepoint in the middle of its scope, with
        // a live TLAB; alternately run by this thread and by another worker.
        if (round % 2 === 0) heap.collect('minor');
        else expect((await c!.api.minors(1))[0]!.kind).toBe('minor');
      }
      const r = await running;
      expect(liveTlabs, 'minors that found a half-used TLAB of the worker').toBe(rounds);
      expect(r.mismatches).toEqual([]);
      expect(r.minorsSeen).toBe(rounds);
      expect(r.nodes).toBe(rounds * 200);
      // Batches lived through PROMOTE_AGE minors inside the scope: promoted under the worker,
      // which kept storing young objects into them.
      expect(r.oldAtEnd).toBeGreaterThanOrEqual((rounds - PROMOTE_AGE) * 200);
      expect(r.storesIntoOld).toBeGreaterThan(0);
      expect(heap.verify().errors).toEqual([]);
    });
  });

  /** Each minor of a build may promote only objects that were there PROMOTE_AGE - 1 minors before it. */
  function expectPromotionBoundedByAge(r: TreeResult): void {
    const minors = r.events.filter((e) => e.kind === 'minor');
    minors.forEach((e, j) => {
      const allowed = j < PROMOTE_AGE - 1 ? 0 : minors[j - (PROMOTE_AGE - 1)]!.nodesBefore;
      expect(e.promoted, `minor ${j} of the build promoted more than had lived through ${PROMOTE_AGE} collections`).toBeLessThanOrEqual(allowed);
    });
  }

  /**
   * Depth 15 on a worker, with a 256 KiB young budget: 65 535 nodes, 1 MiB. The budget widens
   * while the tree survives, so the build takes two minors, one fewer than PROMOTE_AGE; the
   * tree dies when the build returns.
   */
  async function treeThatDiesYoung(heap: Heap): Promise<TreeResult> {
    const [a] = await spawnGen(heap, 1);
    const small = await a!.api.buildTree(15, false);
    expect(small.intact).toBe(true);
    expect(small.nodes).toBe(2 ** 16 - 1);
    expect(small.events.every((e) => e.kind === 'minor')).toBe(true);
    expect(small.minorsGlobal, 'every minor of the build ran on the building worker').toBe(small.events.length);
    expect(small.events.length, 'the tree was built across several minors').toBeGreaterThanOrEqual(2);
    expect(small.events.length, 'the scenario needs a tree that dies before PROMOTE_AGE collections').toBeLessThan(PROMOTE_AGE);
    return small;
  }

  test('a tree built across several minors on a worker stays intact, is not promoted while it is built, and is freed young once dead', async () => {
    const heap = Heap.create({ size: 32 * MiB, youngBytes: 256 << 10, verifyEachGC: true, safepointTimeoutMs: 20_000 });
    await withWatchdog(60_000, heap, workersOf, async () => {
      const small = await treeThatDiesYoung(heap);
      expectPromotionBoundedByAge(small);
      const promotedWhileBuilt = small.events.reduce((s, e) => s + e.promoted, 0);
      expect(promotedWhileBuilt).toBeLessThan(small.nodes / 100);
      let freed = 0;
      let promoted = 0;
      for (let i = 0; i < PROMOTE_AGE; i++) {
        const e = heap.collect('minor');
        freed += e.freedObjects;
        promoted += e.promotedObjects;
      }
      expect(freed).toBe(small.nodes);
      expect(promoted).toBe(0);
      expect(heap.stats().collections.major).toBe(0);
    });
  });

  test('a tree that died young is not moved to the old space by the minors that free it (dead slots quarantined by checked mode are not survivors)', async () => {
    const heap = Heap.create({ size: 32 * MiB, youngBytes: 256 << 10, verifyEachGC: true, safepointTimeoutMs: 20_000 });
    await withWatchdog(60_000, heap, workersOf, async () => {
      const oldBefore = heap.stats().oldBytes;
      const small = await treeThatDiesYoung(heap);
      for (let i = 0; i < PROMOTE_AGE; i++) heap.collect('minor');
      const s = heap.stats();
      expect(s.oldBytes - oldBefore, 'bytes of old spans after the dead tree was collected by minors').toBeLessThan(small.nodes * 16 / 10);
      expect(s.quarantinedObjects, 'dead objects still holding their slots after three minors').toBe(0);
    });
  });

  test('a tree kept across PROMOTE_AGE collections is promoted, only in the parts that lived through them', async () => {
    const heap = Heap.create({ size: 32 * MiB, youngBytes: 256 << 10, verifyEachGC: true, safepointTimeoutMs: 20_000 });
    await withWatchdog(60_000, heap, workersOf, async () => {
      const [b] = await spawnGen(heap, 1);
      const big = await b!.api.buildTree(17, true); // 262 143 nodes, 4 MiB
      expect(big.intact).toBe(true);
      expect(big.minorsGlobal).toBe(big.events.length);
      expect(big.events.filter((e) => e.kind === 'minor').length).toBeGreaterThanOrEqual(PROMOTE_AGE);
      expectPromotionBoundedByAge(big);
      let promoted = big.events.reduce((s, e) => s + e.promoted, 0);
      for (let i = 0; i < PROMOTE_AGE; i++) promoted += heap.collect('minor').promotedObjects;
      expect(promoted).toBeGreaterThan(big.nodes / 2);
      await b!.api.dropTree();
      expect(heap.collect('major').freedObjects).toBeGreaterThanOrEqual(big.nodes);
      expect(heap.verify().errors).toEqual([]);
    });
  });

  test('weak and finalizable young objects in minors across workers: finalizers run on the owning worker, weak refs are cleared by a minor, and dead old objects keep young ones until a major', async () => {
    const heap = Heap.create({ size: 16 * MiB, youngBytes: MiB, verifyEachGC: true, safepointTimeoutMs: 20_000 });
    const { File } = defineGenTypes(heap);
    const ranHere: number[] = [];
    heap.onFinalize(File, (r) => ranHere.push(heap.getI32(r, File.fd)));
    await withWatchdog(90_000, heap, workersOf, async () => {
      const [a, b, c] = await spawnGen(heap, 3);
      const listId = await b!.api.buildList(4 * PER_SPAN);
      const list = heap.handle(listId);
      await promote(heap, () => [list.get()]);

      // Worker A's young objects; every fifth stored into worker B's old list.
      const n = 40;
      const keepFiles = Array.from({ length: n / 5 }, (_, k) => 5 * k);
      const keepWeak = keepFiles.map((i) => i + 1);
      await a!.api.makeFiles(1000, n, listId, keepFiles);
      const keys = await a!.api.makeWeak(n, listId, keepWeak);
      const headKey = await a!.api.weakToListHead(listId);

      const e = (await c!.api.minors(1))[0]!;
      expect(e.kind).toBe('minor');
      expect(e.finalizableObjects).toBe(n - keepFiles.length);
      const ran = await a!.api.runFinalizers();
      const dead = Array.from({ length: n }, (_, i) => i).filter((i) => !keepFiles.includes(i)).map((i) => 1000 + i);
      expect(ran.fds.sort((x, y) => x - y)).toEqual(dead);
      expect(new Set(ran.workerIds)).toEqual(new Set([a!.workerId]));
      expect((await c!.api.runFinalizers()).fds, 'the collecting worker runs none of them').toEqual([]);
      expect((await b!.api.runFinalizers()).fds).toEqual([]);
      heap.runFinalizers();
      expect(ranHere).toEqual([]);
      const cleared = await a!.api.weakCleared(keys);
      expect(cleared).toEqual(keys.map((_, i) => !keepWeak.includes(i)));
      expect(await a!.api.weakCleared([headKey])).toEqual([false]);

      // The list dies, old: a minor frees no old object, so what it holds stays.
      list.release();
      heap.collect('minor');
      await tick();
      expect((await a!.api.runFinalizers()).fds).toEqual([]);
      expect(await a!.api.weakCleared(keys)).toEqual(cleared);
      expect(await a!.api.weakCleared([headKey])).toEqual([false]);

      // A major frees the list, so what it held is finalized (on A again) and cleared.
      const major = heap.collect('major');
      expect(major.finalizableObjects).toBe(keepFiles.length);
      const late = await a!.api.runFinalizers();
      expect(late.fds.sort((x, y) => x - y)).toEqual(keepFiles.map((i) => 1000 + i));
      expect(new Set(late.workerIds)).toEqual(new Set([a!.workerId]));
      expect(await a!.api.weakCleared(keys)).toEqual(keys.map(() => true));
      expect(await a!.api.weakCleared([headKey])).toEqual([true]);
      expect(ranHere).toEqual([]);
      expect(heap.verify().errors).toEqual([]);
    });
  });

  /**
   * A worker builds `n` young nodes in a scope, the graph held by a persisted array (made
   * here) references some, and the worker is terminated inside the scope; then two minors
   * on this thread (checked mode keeps the dead one collection: the second frees their slots).
   */
  async function orphanedYoung(heap: Heap) {
    const { Refs, Node } = defineGenTypes(heap);
    const [a] = await spawnGen(heap, 1);
    const n = 5000;
    const keepAt = [...Array.from({ length: 100 }, (_, i) => i), 2500, n - 1];
    const keep = heap.scope(() => heap.persist(heap.allocArray(Refs, keepAt.length)));
    const sync = new SharedArrayBuffer(8);
    const flag = new Int32Array(sync);
    void a!.api.holdUntilKilled(n, keep.id, keepAt, sync).catch(() => undefined);
    await until(() => Atomics.load(flag, 0) === 1, 'the worker to build its nodes');
    const before = heap.stats();
    expect(before.pages.orphan).toBe(0);
    await a!.worker.terminate();
    await until(() => workerState(heap, a!.workerId) === 'dead', 'the worker to be declared dead');
    const events: GcEvent[] = [heap.collect('minor'), heap.collect('minor')];
    expect(events.map((e) => e.kind)).toEqual(['minor', 'minor']);
    expect(workerState(heap, a!.workerId)).toBe('free');
    const pages = heap.pages();
    const keptSpans = new Set(keepAt.map((_, k) => pages[heap.getRefAt(keep.get(), k) >>> PAGE_LOG]!.span));
    return { Node, n, keepAt, keep, before, events, keptSpans };
  }

  test('a terminated worker\'s young objects: minors keep those a persisted graph references, on young orphan pages, and free the rest', async () => {
    const heap = Heap.create({ size: 16 * MiB, youngBytes: 4 * MiB, verifyEachGC: true, safepointTimeoutMs: 20_000 });
    await withWatchdog(60_000, heap, workersOf, async () => {
      const { Node, n, keepAt, keep, before, events } = await orphanedYoung(heap);
      expect(events[0]!.freedObjects).toBe(n - keepAt.length);
      expect(events[1]!.freedObjects).toBe(0);
      const pages = heap.pages();
      keepAt.forEach((i, k) => {
        const y = heap.getRefAt(keep.get(), k);
        expect(heap.getI32(y, Node.v), `kept node ${i}`).toBe(i + 1);
        const p = pages[y >>> PAGE_LOG]!;
        expect(p.kind, `page of kept node ${i}`).toBe('orphan');
        expect(p.old).toBe(false);
      });
      const after = heap.stats();
      expect(before.allocatedObjects - after.allocatedObjects).toBe(n - keepAt.length);
      expect(after.collections.major).toBe(0);

      // Once the graph lets go, minors free the orphans' last objects too.
      keep.release();
      expect(heap.collect('minor').freedObjects).toBe(keepAt.length + 1); // and the array
      heap.collect('minor');
      expect(heap.pages().filter((p) => p.kind === 'orphan' && p.live > 0)).toEqual([]);
      expect(heap.stats().allocatedObjects).toBe(after.allocatedObjects - keepAt.length - 1);
      expect(heap.stats().collections.major).toBe(0);
      expect(heap.verify().errors).toEqual([]);
    });
  });

  test('a terminated worker\'s young orphan pages left empty by minors go back to the pool: no orphan page without objects', async () => {
    const heap = Heap.create({ size: 16 * MiB, youngBytes: 4 * MiB, verifyEachGC: true, safepointTimeoutMs: 20_000 });
    await withWatchdog(60_000, heap, workersOf, async () => {
      const { keep, keptSpans } = await orphanedYoung(heap);
      const emptyOrphans = (): string[] => heap.pages().filter((p) => p.kind === 'orphan' && p.live === 0).map((p) => `page ${p.index}`);
      expect(emptyOrphans(), 'orphan pages holding no object after two minors').toEqual([]);
      expect(heap.stats().pages.orphan).toBeLessThanOrEqual(keptSpans.size);
      keep.release();
      heap.collect('minor');
      heap.collect('minor');
      expect(emptyOrphans()).toEqual([]);
      expect(heap.stats().pages.orphan).toBe(0);
    });
  });
});

function mulberry(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
