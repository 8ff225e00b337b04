// The heap lock: one word in the arena guarding rare, short operations (page pool, type
// table, handle table). Concurrency contract: any thread may acquire it; the holder never
// reaches a safepoint while holding it; a holder that dies is recovered.
//
//  31            8 7        0
// +---------------+----------+
// | holder gen    | slot + 1 |      0: free
// +---------------+----------+
//
// The holder's generation stamp makes recovery exact: when the slot's current stamp differs,
// or its state is DEAD, the holder is gone and a waiter may take the lock over with one CAS.

import { G_LOCK, W_GEN, W_STATE, WS_DEAD, WS_FREE, workerWord } from './layout.js';

const SPINS = 64;
const WAIT_SLICE_MS = 2;

export function lockWord(slot: number, gen: number): number {
  return (((gen & 0xffffff) << 8) | (slot + 1)) | 0;
}

function holderGone(i32: Int32Array, word: number): boolean {
  const slot = (word & 0xff) - 1;
  const w = workerWord(slot);
  const state = Atomics.load(i32, w + W_STATE);
  return state === WS_DEAD || state === WS_FREE || (Atomics.load(i32, w + W_GEN) & 0xffffff) !== ((word >>> 8) & 0xffffff);
}

export function acquireLock(i32: Int32Array, me: number, canBlock: boolean): void {
  let spins = 0;
  for (;;) {
    const seen = Atomics.compareExchange(i32, G_LOCK, 0, me);
    if (seen === 0) return;
    if (holderGone(i32, seen)) {
      if (Atomics.compareExchange(i32, G_LOCK, seen, me) === seen) return;
      continue;
    }
    if (++spins < SPINS || !canBlock) continue;
    Atomics.wait(i32, G_LOCK, seen, WAIT_SLICE_MS);
  }
}

export function releaseLock(i32: Int32Array, me: number): void {
  if (Atomics.compareExchange(i32, G_LOCK, me, 0) === me) Atomics.notify(i32, G_LOCK, 1);
}
