// Real worker_threads for multi-worker tests, and a watchdog: a test that would hang fails
// instead, with the state of every worker slot and of the collection word.

import type { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { Heap } from '../../src/index.js';
import type { MutatorApi } from '../../src/stress/protocol.js';
import {
  G_EPOCH, G_GC_OWNER, G_LOCK, MAX_WORKERS, W_STATE, WORKER_STATE_NAMES, workerWord,
} from '../../src/heap/layout.js';

export const MUTATOR_URL = new URL('../../.test-build/workers/mutator.mjs', import.meta.url);

export interface Mutator {
  worker: Worker;
  api: Comlink.Remote<MutatorApi>;
  /** Resolves with the exit code when the worker's thread ends. */
  exited: Promise<number>;
  workerId: number;
}

export async function spawnMutator(heap: Heap): Promise<Mutator> {
  const worker = heap.spawn(MUTATOR_URL);
  const api = Comlink.wrap<MutatorApi>(nodeEndpoint(worker));
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  const workerId = await api.workerId();
  return { worker, api, exited, workerId };
}

/** One line per non-free worker slot, plus the collection and lock words. */
export function describeHeap(heap: Heap): string {
  const i32 = new Int32Array(heap.buffer, 0, 1 << 16);
  const slots: string[] = [];
  for (let s = 0; s < MAX_WORKERS; s++) {
    const state = Atomics.load(i32, workerWord(s) + W_STATE);
    if (state !== 0) slots.push(`slot ${s}: ${WORKER_STATE_NAMES[state] ?? state}`);
  }
  return `gc owner word ${Atomics.load(i32, G_GC_OWNER)}, epoch ${Atomics.load(i32, G_EPOCH)}, lock word ${Atomics.load(i32, G_LOCK)}; ${slots.join('; ')}`;
}

/**
 * Runs `body`, failing with a diagnosis if it takes longer than `ms`. The workers listed are
 * terminated on timeout, so a hung worker cannot keep the test process alive.
 */
export async function withWatchdog<T>(ms: number, heap: Heap, workers: () => Worker[], body: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const diagnosis = describeHeap(heap);
      for (const w of workers()) void w.terminate();
      reject(new Error(`watchdog: no progress after ${ms} ms; ${diagnosis}`));
    }, ms);
  });
  try {
    return await Promise.race([body(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits (without sleeping blindly) until `cond` holds, polling on the event loop. */
export async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

export function workerState(heap: Heap, slot: number): string {
  const i32 = new Int32Array(heap.buffer, 0, 1 << 16);
  return WORKER_STATE_NAMES[Atomics.load(i32, workerWord(slot) + W_STATE)] ?? 'unknown';
}
