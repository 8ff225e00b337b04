// Workers that exit, detach, crash or are terminated at any instruction, while others hold
// their objects: orphan pages, lock recovery, collector death.

import { afterEach, describe, expect, test } from 'vitest';
import { Heap } from '../../src/index.js';
import { SHAPE_ARRAY, SHAPE_TREE } from '../../src/stress/graphs.js';
import { G_GC_OWNER, G_LOCK } from '../../src/heap/layout.js';
import { runStress } from '../../src/stress/run.js';
import { MUTATOR_URL, spawnMutator, until, withWatchdog, workerState, type Mutator } from './harness.js';

let spawned: Mutator[] = [];
afterEach(async () => {
  await Promise.all(spawned.map((m) => m.worker.terminate()));
  spawned = [];
});

async function mutator(heap: Heap): Promise<Mutator> {
  const m = await spawnMutator(heap);
  spawned.push(m);
  return m;
}

const workersOf = (): import('node:worker_threads').Worker[] => spawned.map((m) => m.worker);

describe('worker lifecycle', () => {
  test.each(['exit', 'detach', 'terminate'] as const)(
    'objects of a worker that ends by %s stay valid on orphan pages, and are freed once dropped',
    async (how) => {
      const heap = Heap.create({ size: 8 << 20, verifyEachGC: true });
      await withWatchdog(30_000, heap, workersOf, async () => {
        const owner = await mutator(heap);
        const reader = await mutator(heap);
        const ids = [await owner.api.build(SHAPE_TREE, 2000, 1, 0), await owner.api.build(SHAPE_ARRAY, 1500, 2, 0)];
        await owner.api.churn(50, 6); // leaves garbage and partly free pages behind
        if (how === 'exit') void owner.api.exit(0);
        else if (how === 'detach') await owner.api.detach();
        else await owner.worker.terminate();
        if (how !== 'detach') await owner.exited;
        // A detached slot is free at once, its pages already orphans; a dead one waits for
        // the next collection.
        if (how === 'detach') {
          expect(workerState(heap, owner.workerId)).toBe('free');
          expect(heap.stats().pages.orphan).toBeGreaterThan(0);
        } else {
          await until(() => workerState(heap, owner.workerId) === 'dead', 'the slot to be declared dead');
        }

        const e = heap.collect();
        expect(e.freedObjects).toBeGreaterThan(0);
        const s = heap.stats();
        expect(s.pages.orphan).toBeGreaterThan(0);
        expect(workerState(heap, owner.workerId)).toBe('free');
        for (const id of ids) expect(await reader.api.check(id)).toBe(true);

        for (const id of ids) await reader.api.release(id);
        heap.collect();
        heap.collect(); // checked mode keeps dead slots one more collection (quarantine)
        const after = heap.stats();
        expect(after.pages.orphan).toBe(0);
        expect(after.allocatedObjects).toBeLessThan(50);
        expect(heap.verify().errors).toEqual([]);
      });
    },
  );

  test('spawning past 64 slots held by dead workers collects to free them, with no explicit collect', async () => {
    const heap = Heap.create({ size: 8 << 20 });
    await withWatchdog(60_000, heap, workersOf, async () => {
      for (let i = 0; i < 80; i++) {
        const m = await mutator(heap);
        await m.worker.terminate();
        await until(() => workerState(heap, m.workerId) !== 'running' && workerState(heap, m.workerId) !== 'parked', 'the slot to be declared dead');
      }
      expect(heap.stats().collections.major).toBeGreaterThan(0);
      expect(heap.verify().errors).toEqual([]);
    });
  });

  test('partly used orphan pages are adopted and their free slots reused', async () => {
    const heap = Heap.create({ size: 8 << 20 });
    await withWatchdog(30_000, heap, workersOf, async () => {
      const owner = await mutator(heap);
      // Consecutive small trees share pages; dropping every other one leaves them partly used.
      const kept: number[] = [];
      for (let i = 0; i < 24; i++) {
        const id = await owner.api.build(SHAPE_TREE, 100, i, 0);
        if (i % 2 === 0) kept.push(id);
        else await owner.api.release(id);
      }
      await owner.worker.terminate();
      await until(() => workerState(heap, owner.workerId) === 'dead', 'the slot to be declared dead');
      heap.collect();
      const orphaned = heap.stats().pages.orphan;
      expect(orphaned).toBeGreaterThan(0);
      // No collection from here on: only adoption can turn an orphan page into an owned one.
      const reader = await mutator(heap);
      await reader.api.build(SHAPE_TREE, 400, 99, 1);
      const later = heap.stats().pages;
      expect(later.orphan).toBeLessThan(orphaned);
      for (const id of kept) expect(await reader.api.check(id)).toBe(true);
      expect(heap.verify().errors).toEqual([]);
    });
  });

  test('terminate() at random points, dozens of times, with every collection verified: no hang, no lost object', async () => {
    const report = await runStress({
      workers: 3,
      durationMs: 3_000,
      heapBytes: 16 << 20,
      maxHeapBytes: 256 << 20,
      churn: 0.5,
      graphSize: 600,
      replaceEveryMs: 100,
      replacements: 30,
      seed: 42,
      workerUrl: MUTATOR_URL,
      safepointTimeoutMs: 20_000,
    });
    expect(report.failures).toEqual([]);
    expect(report.verify.errors).toEqual([]);
    expect(report.replaced).toBeGreaterThanOrEqual(30);
    expect(report.adoptedGraphs).toBeGreaterThan(0);
    expect(report.collections.major).toBeGreaterThan(0);
    expect(report.ok).toBe(true);
  }, 60_000);

  test('a worker terminated while collecting: waiters take the collection over', async () => {
    const heap = Heap.create({ size: 8 << 20, verifyEachGC: true, safepointTimeoutMs: 20_000 });
    await withWatchdog(45_000, heap, workersOf, async () => {
      const keeper = await mutator(heap);
      const id = await keeper.api.build(SHAPE_TREE, 1000, 3, 0);
      for (let round = 0; round < 12; round++) {
        const victim = await mutator(heap);
        void victim.api.collectLoop(5_000).catch(() => 0);
        await until(() => Atomics.load(new Int32Array(heap.buffer), G_GC_OWNER) === victim.workerId + 1, 'the victim to collect');
        await victim.worker.terminate();
        // The keeper and the main thread go on; a collection the victim left half-done is redone.
        expect(await keeper.api.churn(10, 6)).toBe(10 * 127);
        heap.collect();
      }
      expect(await keeper.api.check(id)).toBe(true);
      expect(heap.verify().errors).toEqual([]);
    });
  });

  test('a worker terminated while holding the heap lock: the lock is recovered', async () => {
    const heap = Heap.create({ size: 8 << 20 });
    await withWatchdog(45_000, heap, workersOf, async () => {
      const lockWord = new Int32Array(heap.buffer);
      let heldAtKill = 0;
      for (let round = 0; round < 15; round++) {
        const victim = await mutator(heap);
        void victim.api.handleChurn(5_000).catch(() => 0);
        // Wait until it holds the lock, then kill it there.
        await until(() => (Atomics.load(lockWord, G_LOCK) & 0xff) === victim.workerId + 1, 'the victim to hold the lock');
        await victim.worker.terminate();
        if ((Atomics.load(lockWord, G_LOCK) & 0xff) === victim.workerId + 1) heldAtKill++;
        // Persisting takes the lock: it must not wait forever for the dead holder.
        const p = heap.scope(() => heap.persist(heap.alloc(heap.defineStruct('Cell', { v: 'i32' }))));
        p.release();
      }
      expect(heldAtKill).toBeGreaterThan(0);
      heap.collect();
      expect(heap.verify().errors).toEqual([]);
    });
  });
});
