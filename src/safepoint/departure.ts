// A worker that leaves on purpose (`detach()`) hands its slot back itself, so the slot is
// free for the next attach at once, without waiting for a collection to notice a death.
//
// It does so as a running mutator that reaches no safepoint: no pause can look at the slot
// while it is half handed back, and each step is one a pause could take over if the thread
// were killed in the middle (then the slot is declared dead, and recover.ts finishes it):
//   1. retire its TLABs (their objects become ordinary allocated objects);
//   2. orphan every span it owns, each with one CAS (a span another thread pops from a
//      central list meanwhile stays that thread's);
//   3. free its root-stack chunks under the heap lock (nothing else names them);
//   4. clear its control block and go RUNNING → DEAD, counted as a death, waking a
//      collector that waits: a kill from here on is recovered like any other death;
//   5. take the next generation with a CAS on the one it held, then DEAD → FREE. If a
//      pause's recovery freed the slot first, it changed the generation, so the CAS fails
//      and the slot (perhaps someone else's by now) is left alone.
// Its finalization queue is empty: the caller ran it after its last safepoint.

import type { Thread } from '../heap/thread.js';
import {
  G_COMMITTED_PAGES, G_DEATHS, PAGE_LOG, PK_LARGE_HEAD, PK_SMALL_HEAD, S_CHUNK_PREV, W_FINAL_HEAD, W_ROOT_BASE, W_ROOT_LIMIT,
  W_PIN, W_ROOT_SPAN, W_ROOT_SPARE, W_GEN, W_RESERVER, W_ROOT_TOP, W_STATE, W_THREAD_ID, WS_DEAD, WS_FREE, WS_RUNNING,
} from '../heap/layout.js';
import { retireAllTlabs } from '../heap/allocator.js';
import { acquireLock, releaseLock } from '../heap/lock.js';
import { releasePages } from '../heap/pagepool.js';
import { SpanWalker, WALK_SPAN, infoOwner, orphanSpanIfOwnedAtomic } from '../heap/spans.js';
import { FP_DETACH, FP_HAND_BACK, faultHook } from '../heap/faults.js';
import { announceArrival, takeGeneration } from './registry.js';
import { HeapUsageError } from '../errors.js';

/** Steps 1–5 above. The caller is running, outside any scope, with an empty finalization queue. */
export function handBackSlot(t: Thread): void {
  t.syncViews();
  const u32 = t.u32;
  const ctl = t.ctl;
  retireAllTlabs(u32, t.f32, ctl);
  t.spareSpans.length = 0;

  const walker = new SpanWalker().reset(u32, t.arena.layout.headerPages);
  let orphaned = 0;
  while (walker.next()) {
    if (walker.what !== WALK_SPAN || (walker.kind !== PK_SMALL_HEAD && walker.kind !== PK_LARGE_HEAD)) continue;
    if (infoOwner(walker.info) === t.slot && orphanSpanIfOwnedAtomic(u32, walker.base, t.slot) && ++orphaned === 1) {
      if (faultHook !== null) faultHook(FP_DETACH);
    }
  }

  acquireLock(t.i32, t.lockId, t.canBlock);
  try {
    const limit = Atomics.load(u32, G_COMMITTED_PAGES);
    for (const head of [ctl + W_ROOT_SPAN, ctl + W_ROOT_SPARE]) {
      let n = 0;
      for (let c = u32[head]!; c !== 0 && n++ < limit;) {
        const below = u32[(c >>> 2) + S_CHUNK_PREV]!;
        releasePages(t.arena, c >>> PAGE_LOG, 1);
        c = below;
      }
      u32[head] = 0;
    }
  } finally {
    releaseLock(t.i32, t.lockId);
  }
  u32[ctl + W_ROOT_BASE] = 0;
  u32[ctl + W_ROOT_TOP] = 0;
  u32[ctl + W_ROOT_LIMIT] = 0;
  u32[ctl + W_FINAL_HEAD] = 0;
  u32[ctl + W_PIN] = 0;
  u32[ctl + W_THREAD_ID] = 0;
  u32[ctl + W_RESERVER] = 0;
  t.rootLimit = 0;
  const gen = Atomics.load(t.i32, ctl + W_GEN);
  // Counted before the slot turns dead, so that a kill right after it still has the next
  // pause recover the slot (a death notice for a dead slot counts nothing).
  Atomics.add(t.i32, G_DEATHS, 1);
  const was = Atomics.compareExchange(t.i32, ctl + W_STATE, WS_RUNNING, WS_DEAD);
  if (was !== WS_RUNNING) {
    throw new HeapUsageError(`worker ${t.slot} cannot detach: it is ${was}, not running`, { workerId: t.slot });
  }
  announceArrival(t.i32);
  if (faultHook !== null) faultHook(FP_HAND_BACK);
  if (Atomics.compareExchange(t.i32, ctl + W_GEN, gen, takeGeneration(t.i32)) === gen) {
    Atomics.compareExchange(t.i32, ctl + W_STATE, WS_DEAD, WS_FREE);
  }
}
