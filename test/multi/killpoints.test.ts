// A worker killed at every step of every protocol a kill can interrupt (src/heap/faults.ts):
// the heap must say nothing false (verify() right after the kill, before any collection),
// lose nothing, leak nothing (no false out-of-memory on a fixed arena), and keep working.
// Each step is hit several times, at different passages, with another worker allocating
// throughout.

import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, test } from 'vitest';
import { Heap } from '../../src/index.js';
import {
  FAULT_POINT_NAMES, FP_CLAIM_CLEARED, FP_DETACH, FP_HAND_BACK, FP_LARGE_CLAIMED, FP_SPAWN, FP_FINAL_ENTRY, FP_FINAL_UNLINKED, FP_HANDLE_CHUNK, FP_MARKED,
  FP_POPPED, FP_PROMOTED, FP_PUBLISH_TAILS, FP_REMARK, FP_RETIRE_HEAD, FP_ROOT_CHUNK, FP_SWEEP_SPAN, FP_TLAB_START,
} from '../../src/heap/faults.js';
import { describeHeap, until, withWatchdog, workerState } from './harness.js';
import { W_RESERVER, workerWord } from '../../src/heap/layout.js';

const KILLPOINT_URL = new URL('../../.test-build/test-workers/killpoint.mjs', import.meta.url);
const HAMMER_URL = new URL('../../.test-build/test-workers/hammer.mjs', import.meta.url);
const MiB = 1 << 20;

let workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.map((w) => w.terminate()));
  workers = [];
});

/** Spawns a worker that parks at `point`'s (skip + 1)-th passage; resolves once it is parked there. */
async function parkAt(heap: Heap, point: number, skip: number, action: string): Promise<{ worker: Worker; slot: number }> {
  const sync = new SharedArrayBuffer(12);
  const flag = new Int32Array(sync);
  const worker = heap.spawn<Worker>(KILLPOINT_URL, { workerData: { sync, point, skip, action } });
  workers.push(worker);
  let exited: unknown = null;
  worker.once('exit', (code) => { exited = code; });
  worker.once('error', (e) => { exited = e; });
  await until(() => Atomics.load(flag, 0) === 1 || exited !== null, `worker to reach ${FAULT_POINT_NAMES[point]}`, 30_000);
  if (Atomics.load(flag, 0) !== 1) throw new Error(`worker ended before reaching ${FAULT_POINT_NAMES[point]}: ${String(exited)}; ${describeHeap(heap)}`);
  return { worker, slot: Atomics.load(flag, 2) - 1 };
}

const cases: [number, string][] = [
  [FP_CLAIM_CLEARED, 'alloc'],
  [FP_PUBLISH_TAILS, 'alloc'],
  [FP_TLAB_START, 'alloc'],
  [FP_POPPED, 'alloc'],
  [FP_ROOT_CHUNK, 'roots'],
  [FP_HANDLE_CHUNK, 'handles'],
  [FP_MARKED, 'collect'],
  [FP_SWEEP_SPAN, 'collect'],
  [FP_SWEEP_SPAN, 'minor'],
  [FP_MARKED, 'minor'],
  [FP_PROMOTED, 'minor'],
  [FP_REMARK, 'collect'],
  [FP_RETIRE_HEAD, 'collect'],
  [FP_FINAL_ENTRY, 'collect'],
  [FP_FINAL_UNLINKED, 'finalize'],
  [FP_DETACH, 'detach'],
  [FP_LARGE_CLAIMED, 'alloc'],
  [FP_HAND_BACK, 'detach'],
  [FP_SPAWN, 'spawn'],
];

describe('a worker killed at a fault point', () => {
  test.each(cases)('point %i (%s): verify is clean before and after the next collection, nothing leaks', async (point, action) => {
    const heap = Heap.create({ size: 24 * MiB, maxSize: 24 * MiB, verifyEachGC: true, safepointTimeoutMs: 20_000 });
    await withWatchdog(90_000, heap, () => workers, async () => {
      const control = new SharedArrayBuffer(8);
      const companion = heap.spawn<Worker>(HAMMER_URL, { workerData: { control, seed: point, mode: 'alloc', keep: 0 } });
      workers.push(companion);
      const Cell = heap.defineStruct('kp.Cell', { v: 'i32' });
      const kept = heap.scope(() => {
        const c = heap.alloc(Cell);
        heap.setI32(c, Cell.v, 4242);
        return heap.persist(c);
      });
      for (let round = 0; round < 4; round++) {
        // A worker detaches once: it is the passage that varies for the others.
        const { worker, slot } = await parkAt(heap, point, action === 'detach' ? 0 : round, action);
        await worker.terminate();
        await until(() => ['dead', 'free'].includes(workerState(heap, slot)), `slot ${slot} to be declared dead`);
        // Before any collection: the half-done step must not read as corruption.
        expect(heap.verify().errors, `round ${round}, right after the kill`).toEqual([]);
        heap.collect(); // takes the pause over if the victim held it
        expect(heap.verify().errors, `round ${round}, after a collection`).toEqual([]);
      }
      Atomics.store(new Int32Array(control), 0, 1);
      await companion.terminate();
      expect(heap.scope(() => heap.getI32(kept.get(), Cell.v))).toBe(4242);
      // No slot stays reserved for a worker nobody will start (the victims' own spawns).
      const reserved = (): number[] => Array.from({ length: 64 }, (_, s) => s).filter((s) => workerState(heap, s) === 'reserved');
      await until(() => { heap.collect(); return reserved().length === 0; }, `reserved slots to be freed (${reserved().map((s) => `${s}: reserver ${new Uint32Array(heap.buffer, 0, 1 << 16)[workerWord(s) + W_RESERVER]}`).join(', ')})`);

      // No page leaked: the fixed arena still takes three times its size in garbage.
      const Big = heap.defineArray('kp.Fill', 'i32');
      for (let i = 0; i < 6000; i++) heap.scope(() => heap.allocArray(Big, 3000));
      heap.collect();
      const s = heap.stats();
      const p = s.pages;
      expect(p.free + p.small + p.large + p.orphan + p.system + p.header, 'every page is accounted for').toBe(s.arenaBytes / 4096);
      expect(heap.verify().errors).toEqual([]);
    });
  }, 120_000);
});

describe('a worker killed inside a finalizer callback', () => {
  test('the run it cut short is counted (finalizersInterrupted), no finalizer runs twice, the queue drains', async () => {
    const heap = Heap.create({ size: 16 * MiB, verifyEachGC: true });
    await withWatchdog(60_000, heap, () => workers, async () => {
      for (let round = 0; round < 3; round++) {
        const { worker, slot } = await parkAt(heap, 0, round, 'in-finalizer');
        await worker.terminate();
        await until(() => ['dead', 'free'].includes(workerState(heap, slot)), `slot ${slot} to be declared dead`);
        heap.collect();
        expect(heap.stats().finalizersInterrupted).toBe(round + 1);
      }
      // The dead workers' queued entries moved to this thread, which has no callback: they are
      // freed without one, and nothing is left queued.
      heap.collect();
      heap.runFinalizers();
      expect(heap.stats().pendingFinalizers).toBe(0);
      expect(heap.verify().errors).toEqual([]);
    });
  }, 90_000);
});

describe('storms of random kills', () => {
  test.each(['alloc', 'collect'] as const)('three workers (%s) on a fixed 64 MiB arena, one killed every few dozen scopes and replaced: no false out-of-memory, nothing leaks', async (mode) => {
    const heap = Heap.create({ size: 64 * MiB, maxSize: 64 * MiB, safepointTimeoutMs: 20_000 });
    const control = new SharedArrayBuffer(8);
    const errors: string[] = [];
    let seed = 1;
    const start = (): Worker => {
      const w = heap.spawn<Worker>(HAMMER_URL, { workerData: { control, seed: seed++, mode, keep: 0.01 } });
      w.on('error', (e) => errors.push(e.message));
      workers.push(w);
      return w;
    };
    await withWatchdog(90_000, heap, () => workers, async () => {
      const lanes = [start(), start(), start()];
      const random = mulberry(7);
      let kills = 0;
      const end = Date.now() + 6_000;
      while (Date.now() < end && errors.length === 0) {
        const progress = Atomics.load(new Int32Array(control), 1);
        await until(() => Atomics.load(new Int32Array(control), 1) > progress + (random() * 20 | 0), 'the hammers to make progress');
        const i = (random() * lanes.length) | 0;
        await lanes[i]!.terminate();
        lanes[i] = start();
        kills++;
        heap.collect();
      }
      Atomics.store(new Int32Array(control), 0, 1);
      await Promise.all(lanes.map((w) => w.terminate()));
      expect(errors).toEqual([]);
      expect(kills).toBeGreaterThan(10);
      heap.collect();
      expect(heap.verify().errors).toEqual([]);
      const s = heap.stats();
      const p = s.pages;
      expect(p.free + p.small + p.large + p.orphan + p.system + p.header).toBe(s.arenaBytes / 4096);
      // Dead hammers leave up to 16 persistent handles each; everything else is free again.
      expect(s.allocatedBytes).toBeLessThan(8 * MiB);
    });
  }, 120_000);
});

function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
