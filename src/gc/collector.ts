// The collector: what one pause does, on whichever thread won the request.
//
// A collection, step by step (the rendezvous around it is in safepoint/rendezvous.ts, the
// driver that holds the pause in pause.ts):
//   1. Recover (recover.ts): clear a killed collector's marks, retire every TLAB, free strays
//      and unreferenced system spans, orphan dead workers' spans and free their slots,
//      rebuild the derived structures. After this the heap meets every invariant.
//   2. Mark from every live worker's root stack and from the strong and finalization
//      entries of the handle table.
//   3. Sweep phase 1: clear weak entries whose target is unmarked; resurrect dead objects
//      of finalizable types (marking what they reach) and queue them on their owner's
//      finalization list (or the collector's, for orphans).
//   4. Sweep phase 2: bitmap arithmetic over every span; empty spans back to the pool,
//      partly free ones onto the central lists.
//   5. Pacing: if the live set left too little room, grow towards twice the live size.
//   6. Record the GcEvent in the arena (for participants) and the pause ring.

import type { Thread } from '../heap/thread.js';
import {
  G_ALLOC_KIB, G_CHECKED, G_COMMITTED_PAGES, G_EVENT_COLLECTOR, G_EVENT_FINALIZED, G_EVENT_FREED_KIB, G_EVENT_FREED_OBJECTS,
  G_EVENT_KIND, G_EVENT_MARKED, G_EVENT_MARK_US, G_EVENT_PAUSE_US, G_EVENT_PROMOTED, G_EVENT_RENDEZVOUS_US,
  G_EVENT_SEQ, G_EVENT_SWEEP_US, G_FINAL_PENDING, G_GC_FLAGS, G_GC_STARTED, G_INITIAL_PAGES, G_LIVE_KIB,
  G_MAJOR_COUNT, G_MAX_PAGES, G_MINOR_COUNT, G_PAUSE_COUNT, GC_FLAG_IN_PAUSE, GC_FLAG_ZAP, GC_KIND_MAJOR, GC_KIND_MINOR,
  H_META, H_NEXT, H_REF, HK_FINAL, HK_MASK, HK_STRONG, HK_WEAK, MAX_WORKERS, PAUSE_RING_SIZE, PAUSE_RING_WORD,
  W_FINAL_HEAD, W_PIN, W_STATE, workerWord, PAGE_BYTES,
} from '../heap/layout.js';
import { allocHandle, handleCapacity, handleWord } from '../heap/handles.js';
import { growArena } from '../heap/pagepool.js';
import { RootChunkWalker } from '../heap/roots.js';
import type { SpanWalker } from '../heap/spans.js';
import { Marker, isMarked } from './mark.js';
import { DEAD_FREE, DEAD_QUARANTINE, DEAD_ZAP_BODY, findFinalizable, sweepSpans, type FinalizableSink } from './sweep.js';
import { isLiveState, recover } from './recover.js';
import { FP_FINAL_ENTRY, FP_MARKED, faultHook } from '../heap/faults.js';

export type GcKind = 'minor' | 'major';

export interface GcEvent {
  kind: GcKind;
  /** Whole pause, from the request to the resume, in ms. */
  pauseMs: number;
  phases: { rendezvousMs: number; markMs: number; sweepMs: number };
  markedObjects: number;
  freedObjects: number;
  freedBytes: number;
  promotedObjects: number;
  /** Objects queued for finalization by this collection. */
  finalizableObjects: number;
  /** Slot of the worker that collected. */
  collector: number;
  /** Collection number (1 for the first). */
  seq: number;
}

/** Queues the objects phase 1 finds on their runner's finalization list. */
class FinalQueueSink implements FinalizableSink {
  constructor(private readonly t: Thread) {}

  queue(ref: number, owner: number): boolean {
    const t = this.t;
    const runner = owner < MAX_WORKERS && isLiveState(Atomics.load(t.i32, workerWord(owner) + W_STATE)) ? owner : t.slot;
    let index = allocHandle(t, HK_FINAL, ref, runner);
    if (index < 0 && growArena(t.arena, Atomics.load(t.u32, G_COMMITTED_PAGES) + 8) > 0) {
      t.syncViews();
      index = allocHandle(t, HK_FINAL, ref, runner);
    }
    if (index < 0) return false; // no room for the entry: phase 1 keeps the object for the next collection
    if (faultHook !== null) faultHook(FP_FINAL_ENTRY);
    const v = t.u32;
    const q = workerWord(runner) + W_FINAL_HEAD;
    v[handleWord(v, index) + H_NEXT] = v[q]!;
    v[q] = index + 1;
    Atomics.add(v, G_FINAL_PENDING, 1);
    return true;
  }
}

const roots = new RootChunkWalker();

/** Runs steps 1–6 inside a pause that the caller holds. */
export function collectInPause(t: Thread, marker: Marker, walker: SpanWalker, kind: number, rendezvousMs: number, pauseStartMs: number): GcEvent {
  const seq = Atomics.add(t.i32, G_GC_STARTED, 1) + 1;

  // 1. Recover, then hold the in-pause flag: a collector killed from here on leaves it set.
  recover(t, walker);
  let u32 = t.u32;
  const i32 = t.i32;
  const arena = t.arena;
  u32[G_GC_FLAGS] = u32[G_GC_FLAGS]! | GC_FLAG_IN_PAUSE;

  // 2. Mark.
  const markStart = t.clockMs();
  marker.begin(u32, t.f32);
  const committed = Atomics.load(u32, G_COMMITTED_PAGES);
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    const ctl = workerWord(slot);
    if (!isLiveState(Atomics.load(i32, ctl + W_STATE))) continue;
    for (roots.reset(u32, ctl, committed); roots.next();) {
      for (let r = roots.from; r < roots.to; r++) marker.mark(u32[r]!);
    }
    marker.mark(u32[ctl + W_PIN]!);
  }
  const handles = handleCapacity(u32);
  for (let h = 0; h < handles; h++) {
    const w = handleWord(u32, h);
    const k = u32[w + H_META]! & HK_MASK;
    if (k === HK_STRONG || k === HK_FINAL) marker.mark(u32[w + H_REF]!);
  }
  marker.drain();
  const marked = marker.marked;
  const markEnd = t.clockMs();
  if (faultHook !== null) faultHook(FP_MARKED);

  // 3. Sweep phase 1: weak refs, then finalizable objects. Queueing may add a handle chunk
  // and so grow the arena inside the pause: `u32` is re-read from `t` after it.
  for (let h = 0; h < handles; h++) {
    const w = handleWord(u32, h);
    if ((u32[w + H_META]! & HK_MASK) !== HK_WEAK) continue;
    const ref = u32[w + H_REF]!;
    if (ref !== 0 && !isMarked(u32, t.f32, ref)) u32[w + H_REF] = 0;
  }
  const finalizable = findFinalizable(arena, walker, marker, new FinalQueueSink(t));
  marker.drain();
  t.syncViews();
  u32 = t.u32;

  // 4. Sweep phase 2.
  const dead = (u32[G_CHECKED] === 1 ? DEAD_QUARANTINE : DEAD_FREE) | ((u32[G_GC_FLAGS]! & GC_FLAG_ZAP) !== 0 ? DEAD_ZAP_BODY : 0);
  const swept = sweepSpans(arena, walker, dead);

  // 5. Pacing.
  const liveKiB = Math.ceil(swept.liveBytes / 1024);
  u32[G_LIVE_KIB] = liveKiB;
  Atomics.store(u32, G_ALLOC_KIB, 0);
  const livePages = Math.ceil((swept.liveBytes + swept.quarantinedBytes) / PAGE_BYTES) + arena.layout.headerPages;
  const wanted = Math.max(u32[G_INITIAL_PAGES]!, livePages * 2);
  if (wanted > committed) growArena(arena, Math.min(wanted, u32[G_MAX_PAGES]!));
  t.syncViews();

  // 6. Record.
  const end = t.clockMs();
  const event: GcEvent = {
    kind: kind === GC_KIND_MINOR ? 'minor' : 'major',
    pauseMs: end - pauseStartMs,
    phases: { rendezvousMs, markMs: markEnd - markStart, sweepMs: end - markEnd },
    markedObjects: marked,
    freedObjects: swept.freedObjects,
    freedBytes: swept.freedBytes,
    promotedObjects: 0,
    finalizableObjects: finalizable,
    collector: t.slot,
    seq,
  };
  const v = t.u32;
  writeEvent(v, event);
  if (kind === GC_KIND_MAJOR) v[G_MAJOR_COUNT] = v[G_MAJOR_COUNT]! + 1;
  else v[G_MINOR_COUNT] = v[G_MINOR_COUNT]! + 1;
  v[G_GC_FLAGS] = v[G_GC_FLAGS]! & ~GC_FLAG_IN_PAUSE;
  return event;
}

const US = 1000;

function writeEvent(u32: Uint32Array, e: GcEvent): void {
  u32[G_EVENT_KIND] = e.kind === 'minor' ? GC_KIND_MINOR : GC_KIND_MAJOR;
  u32[G_EVENT_PAUSE_US] = Math.round(e.pauseMs * US);
  u32[G_EVENT_RENDEZVOUS_US] = Math.round(e.phases.rendezvousMs * US);
  u32[G_EVENT_MARK_US] = Math.round(e.phases.markMs * US);
  u32[G_EVENT_SWEEP_US] = Math.round(e.phases.sweepMs * US);
  u32[G_EVENT_MARKED] = e.markedObjects;
  u32[G_EVENT_FREED_OBJECTS] = e.freedObjects;
  u32[G_EVENT_FREED_KIB] = Math.round(e.freedBytes / 1024);
  u32[G_EVENT_PROMOTED] = e.promotedObjects;
  u32[G_EVENT_FINALIZED] = e.finalizableObjects;
  u32[G_EVENT_COLLECTOR] = e.collector;
  const n = u32[G_PAUSE_COUNT]!;
  u32[PAUSE_RING_WORD + (n % PAUSE_RING_SIZE)] = Math.max(1, Math.round(e.pauseMs * US));
  u32[G_PAUSE_COUNT] = n + 1;
  Atomics.store(u32, G_EVENT_SEQ, e.seq);
}

/** The last collection's event, as recorded in the arena (freed bytes at KiB precision). */
export function readEvent(u32: Uint32Array): GcEvent {
  return {
    kind: u32[G_EVENT_KIND] === GC_KIND_MINOR ? 'minor' : 'major',
    pauseMs: u32[G_EVENT_PAUSE_US]! / US,
    phases: {
      rendezvousMs: u32[G_EVENT_RENDEZVOUS_US]! / US,
      markMs: u32[G_EVENT_MARK_US]! / US,
      sweepMs: u32[G_EVENT_SWEEP_US]! / US,
    },
    markedObjects: u32[G_EVENT_MARKED]!,
    freedObjects: u32[G_EVENT_FREED_OBJECTS]!,
    freedBytes: u32[G_EVENT_FREED_KIB]! * 1024,
    promotedObjects: u32[G_EVENT_PROMOTED]!,
    finalizableObjects: u32[G_EVENT_FINALIZED]!,
    collector: u32[G_EVENT_COLLECTOR]!,
    seq: Atomics.load(u32, G_EVENT_SEQ),
  };
}
