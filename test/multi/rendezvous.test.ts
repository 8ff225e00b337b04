// The stop-the-world protocol with real workers: concurrent collectors, parked workers,
// stalled workers, attaching during a collection.

import { afterEach, describe, expect, test } from 'vitest';
import { Heap, SafepointTimeoutError, type GcEvent } from '../../src/index.js';
import { G_GC_OWNER } from '../../src/heap/layout.js';
import { SHAPE_ARRAY, SHAPE_LIST, SHAPE_RING, SHAPE_TREE } from '../../src/stress/graphs.js';
import { describeHeap, spawnMutator, until, withWatchdog, workerState, type Mutator } from './harness.js';

let spawned: Mutator[] = [];
afterEach(async () => {
  await Promise.all(spawned.map((m) => m.worker.terminate()));
  spawned = [];
});

async function mutators(heap: Heap, n: number): Promise<Mutator[]> {
  const ms = await Promise.all(Array.from({ length: n }, () => spawnMutator(heap)));
  spawned.push(...ms);
  return ms;
}

const workersOf = (): import('node:worker_threads').Worker[] => spawned.map((m) => m.worker);

describe('rendezvous across workers', () => {
  test('workers build and check each other\'s graphs while several of them collect at once', async () => {
    const heap = Heap.create({ size: 16 << 20, maxSize: 256 << 20, verifyEachGC: true, safepointTimeoutMs: 20_000 });
    await withWatchdog(45_000, heap, workersOf, async () => {
      const ws = await mutators(heap, 3);
      const shapes = [SHAPE_TREE, SHAPE_LIST, SHAPE_ARRAY, SHAPE_RING];
      const graphs: number[] = [];
      for (let round = 0; round < 4; round++) {
        // Every worker builds one graph while the others churn garbage and collect.
        const built = await Promise.all(ws.map((w, i) => w.api.build(shapes[(round + i) % 4]!, 300 + 100 * i, round * 10 + i, i)));
        graphs.push(...built);
        const events = await Promise.all([
          ...ws.map((w) => w.api.collect()),
          ...ws.map((w) => w.api.churn(20, 8)),
          Promise.resolve(heap.collect()),
        ]);
        for (const e of events.slice(0, ws.length) as GcEvent[]) expect(e.kind).toBe('major');
        // Each worker checks every graph, including those built by the others.
        for (const w of ws) for (const id of graphs) expect(await w.api.check(id)).toBe(true);
      }
      const v = heap.verify();
      expect(v.errors).toEqual([]);
      expect(v.checkedObjects).toBeGreaterThan(1000);
      for (const id of graphs) await ws[0]!.api.release(id);
      heap.collect();
      expect(heap.stats().allocatedObjects).toBeLessThan(100);
    });
  });

  test('with a collection after every 300 allocations on every worker (gcInterval), graphs shared across workers stay intact', async () => {
    const heap = Heap.create({ size: 16 << 20, maxSize: 256 << 20, verifyEachGC: true, gcInterval: 300, safepointTimeoutMs: 20_000 });
    await withWatchdog(60_000, heap, workersOf, async () => {
      const ws = await mutators(heap, 3);
      const shapes = [SHAPE_TREE, SHAPE_LIST, SHAPE_ARRAY, SHAPE_RING];
      const graphs: number[] = [];
      for (let round = 0; round < 3; round++) {
        const built = await Promise.all(ws.map((w, i) => w.api.build(shapes[(round + i) % 4]!, 400 + 100 * i, round * 10 + i, i)));
        graphs.push(...built);
        await Promise.all([...ws.map((w) => w.api.churn(10, 7)), ...ws.map((w, i) => w.api.mutate(built[i]!, round))]);
        for (const w of ws) for (const id of graphs) expect(await w.api.check(id)).toBe(true);
      }
      // 3 workers × (3 graphs of ~500 nodes + 30 trees of 255 nodes + mutations): dozens of
      // collections, each one requested from inside an allocation and verified in its pause.
      expect(heap.stats().collections.major).toBeGreaterThan(30);
      expect(heap.verify().errors).toEqual([]);
    });
  });

  test('a parked worker does not hold a collection up', async () => {
    const heap = Heap.create({ size: 4 << 20, safepointTimeoutMs: 1_000 });
    await withWatchdog(20_000, heap, workersOf, async () => {
      const [w] = await mutators(heap, 1);
      expect(workerState(heap, w!.workerId)).toBe('parked');
      // If the collector waited for the parked worker, it would give up after 1 s and throw.
      const e = heap.collect();
      expect(e.kind).toBe('major');
      expect(workerState(heap, w!.workerId)).toBe('parked');
      expect(await w!.api.churn(5, 6)).toBe(5 * 127);
    });
  });

  test('a worker in a non-allocating loop is named by SafepointTimeoutError, and the heap stays usable', async () => {
    const heap = Heap.create({ size: 4 << 20, safepointTimeoutMs: 300 });
    await withWatchdog(20_000, heap, workersOf, async () => {
      const [w] = await mutators(heap, 1);
      const id = await w!.api.build(SHAPE_TREE, 200, 1, 0);
      const spinning = w!.api.spin(3_000);
      await until(() => workerState(heap, w!.workerId) === 'running', 'the worker to enter its loop');
      let error: unknown;
      try {
        heap.collect();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SafepointTimeoutError);
      const err = error as SafepointTimeoutError;
      expect(err.workers.map((x) => x.id)).toEqual([w!.workerId]);
      expect(err.workers[0]!.state).toBe('running');
      expect(err.workers[0]!.msSinceSafepoint).toBeGreaterThanOrEqual(300);
      expect(err.message).toContain(`worker ${w!.workerId}`);
      expect(Atomics.load(new Int32Array(heap.buffer), G_GC_OWNER)).toBe(0);
      await spinning;
      expect(heap.collect().kind).toBe('major');
      expect(await w!.api.check(id)).toBe(true);
      expect(heap.verify().errors).toEqual([]);
    });
  });

  test('collect() works from a worker, from the main thread inside and outside a scope', async () => {
    const heap = Heap.create({ size: 4 << 20, verifyEachGC: true });
    await withWatchdog(20_000, heap, workersOf, async () => {
      const [w] = await mutators(heap, 1);
      const before = heap.stats().collections.major;
      const fromWorker = await w!.api.collect();
      const inScope = heap.scope(() => heap.collect());
      const outside = heap.collect();
      expect(new Set([fromWorker.seq, inScope.seq, outside.seq]).size).toBe(3);
      expect(heap.stats().collections.major).toBe(before + 3);
      expect(fromWorker.collector).toBe(w!.workerId);
      expect(outside.collector).toBe(heap.workerId);
    });
  });

  test('a worker attaching during a collection neither joins nor corrupts it', async () => {
    const heap = Heap.create({ size: 8 << 20, safepointTimeoutMs: 15_000, verifyEachGC: true });
    await withWatchdog(40_000, heap, workersOf, async () => {
      const [spinner, collector] = await mutators(heap, 2);
      const spinning = spinner!.api.spin(1_500);
      await until(() => workerState(heap, spinner!.workerId) === 'running', 'the spinner to run');
      // The collection waits at the rendezvous for the spinner...
      const collecting = collector!.api.collect();
      const owner = new Int32Array(heap.buffer);
      await until(() => Atomics.load(owner, G_GC_OWNER) === collector!.workerId + 1, 'the collection to start');
      // ...while a new worker attaches.
      const [late] = await mutators(heap, 1);
      expect(Atomics.load(owner, G_GC_OWNER)).toBe(collector!.workerId + 1);
      expect(workerState(heap, late!.workerId)).toBe('parked');
      const building = late!.api.build(SHAPE_LIST, 500, 7, 3); // waits for the collection to end
      const event = await collecting;
      await spinning;
      const id = await building;
      expect(event.kind).toBe('major');
      expect(await collector!.api.check(id)).toBe(true);
      const v = heap.verify();
      expect(v.errors, describeHeap(heap)).toEqual([]);
    });
  });
});
