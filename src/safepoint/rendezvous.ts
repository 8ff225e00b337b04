// The collector's side of the stop-the-world protocol.
//
//  1. Request: one CAS of G_GC_OWNER from 0 to (slot + 1). A thread that loses the race
//     stops at its safepoint like everyone else (registry.ts); it never collects alone.
//  2. Rendezvous: the collector reads every state; it waits while any other worker is
//     RUNNING, spinning first, then blocking on G_ARRIVALS in short slices (stopping,
//     parking and dying all bump it). Past the timeout it gives up (step 4) and reports
//     who it waited for.
//  3. The caller does the work of the pause (mark and sweep, or verify).
//  4. Resume: every STOPPED worker becomes RUNNING again, G_GC_OWNER returns to 0, and the
//     epoch is bumped and notified. In that order: a thread woken by the epoch must find
//     itself RUNNING and the owner word free, or else a new request it must stop for.

import {
  G_ARRIVALS, G_EPOCH, G_GC_OWNER, MAX_WORKERS, W_STATE, W_THREAD_ID, WORKER_STATE_NAMES, WS_RUNNING,
  WS_STOPPED, workerWord,
} from '../heap/layout.js';
import { SafepointTimeoutError, type StalledWorker } from '../errors.js';

export interface Collector {
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly slot: number;
  readonly canBlock: boolean;
  readonly safepointTimeoutMs: number;
  clockMs(): number;
}

// A short spin: on a machine with as many cores as busy threads, a collector that spins
// long takes the core a worker needs to reach its safepoint (measured with two workers on
// two cores: 2000 rounds gave a median rendezvous of 1.5-2 ms, 100 rounds 0.15-0.2 ms).
const SPIN_ROUNDS = 100;
const WAIT_SLICE_MS = 5;

/** Tries to become the collector. */
export function requestPause(i32: Int32Array, slot: number): boolean {
  return Atomics.compareExchange(i32, G_GC_OWNER, 0, slot + 1) === 0;
}

/** Waits until no other worker runs. Returns the ms it took; throws (after resuming) on timeout. */
export function stopTheWorld(c: Collector): number {
  const { i32 } = c;
  const start = c.clockMs();
  let spins = 0;
  for (;;) {
    const arrivals = Atomics.load(i32, G_ARRIVALS);
    let running = 0;
    for (let slot = 0; slot < MAX_WORKERS; slot++) {
      if (slot !== c.slot && Atomics.load(i32, workerWord(slot) + W_STATE) === WS_RUNNING) running++;
    }
    if (running === 0) return c.clockMs() - start;
    if (spins++ < SPIN_ROUNDS) continue;
    const waited = c.clockMs() - start;
    if (waited >= c.safepointTimeoutMs) throw timeout(c, waited);
    if (c.canBlock) Atomics.wait(i32, G_ARRIVALS, arrivals, Math.min(WAIT_SLICE_MS, c.safepointTimeoutMs - waited));
  }
}

function timeout(c: Collector, waited: number): SafepointTimeoutError {
  const workers: StalledWorker[] = [];
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    const w = workerWord(slot);
    const state = Atomics.load(c.i32, w + W_STATE);
    if (slot === c.slot || state !== WS_RUNNING) continue;
    workers.push({
      id: slot,
      state: WORKER_STATE_NAMES[state] ?? String(state),
      // Running while a pause is requested means no safepoint since the request (one would
      // have stopped it), and no new outermost scope (entering one waits out the pause).
      msSinceSafepoint: Math.round(waited),
      threadId: c.u32[w + W_THREAD_ID]!,
    });
  }
  resumeTheWorld(c);
  const list = workers.map((w) => `worker ${w.id} (thread ${w.threadId}, ${w.state}, no safepoint for at least ${w.msSinceSafepoint} ms)`).join('; ');
  return new SafepointTimeoutError(
    `collection by worker ${c.slot} gave up after ${Math.round(waited)} ms waiting at the safepoint for: ${list || '(no worker left running)'}; the heap is unchanged`,
    workers,
    c.slot,
  );
}

/** Ends the pause (step 4). */
export function resumeTheWorld(c: Collector): void {
  const { i32 } = c;
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    Atomics.compareExchange(i32, workerWord(slot) + W_STATE, WS_STOPPED, WS_RUNNING);
  }
  Atomics.store(i32, G_GC_OWNER, 0);
  Atomics.add(i32, G_EPOCH, 1);
  Atomics.notify(i32, G_EPOCH);
}
