// The collector: what one pause does, on whichever thread won the request.
//
// A collection, step by step (the rendezvous around it is in safepoint/rendezvous.ts, the
// driver that holds the pause in pause.ts):
//   1. Recover (recover.ts; in a minor only after a death or a killed collector, else just
//      retire every TLAB): clear a killed collector's marks, retire every TLAB, free strays
//      and unreferenced system spans, orphan dead workers' spans and free their slots,
//      rebuild the derived structures. After this the heap meets every invariant.
//   2. Mark from every live worker's root stack and pin, and from the strong and
//      finalization entries of the handle table; a minor marks young objects only, and also
//      from the dirty slots of the remembered set (remset.ts).
//   3. Sweep phase 1: clear weak entries whose target is unmarked; resurrect dead objects
//      of finalizable types (marking what they reach) and queue them on their owner's
//      finalization list (or the collector's, for orphans). Young ones only in a minor;
//      skipped while no finalizable type exists (G_FINALIZABLE_TYPES).
//   4. Sweep phase 2: bitmap arithmetic over every span (young spans only in a minor);
//      empty spans back to the pool, partly free ones onto the central lists; young spans
//      age and dense ones are promoted; then the dirty bits of remembered and promoted spans
//      are recomputed (remset.ts refreshDirty).
//   5. Pacing: if the live set left too little room, grow towards twice the live size.
//   6. Record the GcEvent in the arena (for participants) and the pause ring.

import type { Thread } from '../heap/thread.js';
import {
  G_ALLOC_KIB, G_CHECKED, G_COMMITTED_PAGES, G_EVENT_COLLECTOR, G_EVENT_FINALIZED, G_EVENT_FREED_KIB, G_EVENT_FREED_OBJECTS,
  G_EVENT_KIND, G_EVENT_MARKED, G_EVENT_MARK_US, G_EVENT_PAUSE_US, G_EVENT_PROMOTED, G_EVENT_RENDEZVOUS_US,
  G_EVENT_SEQ, G_EVENT_SWEEP_US, G_FINAL_PENDING, G_GC_FLAGS, G_GC_STARTED, G_INITIAL_PAGES, G_LIVE_KIB,
  G_MAJOR_COUNT, G_MAX_PAGES, G_MINOR_COUNT, G_PAUSE_COUNT, GC_FLAG_IN_PAUSE, GC_FLAG_ZAP, GC_KIND_MAJOR, GC_KIND_MINOR,
  G_FINALIZABLE_TYPES, G_MAJOR_DUE, G_OLD_GROWTH_KIB, G_OLD_LIVE_KIB, G_OLD_PAGES, G_YOUNG_BUDGET_KIB, G_YOUNG_BYTES, G_YOUNG_KIB, GC_FLAG_VERIFY, PAGE_LOG, PI_OLD,
  H_META, H_NEXT, H_REF, HK_FINAL, HK_MASK, HK_STRONG, HK_WEAK, MAX_WORKERS, PAUSE_MAJOR_BIT, PAUSE_RING_SIZE, PAUSE_RING_WORD,
  PAUSE_US_MASK,
  W_FINAL_HEAD, W_PIN, W_STATE, workerWord, PAGE_BYTES,
} from '../heap/layout.js';
import { allocHandle, handleCapacity, handleWord } from '../heap/handles.js';
import { growArena } from '../heap/pagepool.js';
import { RootChunkWalker } from '../heap/roots.js';
import { pageInfo, type SpanWalker } from '../heap/spans.js';
import { Marker, isMarked } from './mark.js';
import { DEAD_FREE, DEAD_QUARANTINE, DEAD_ZAP_BODY, Sweeper, findFinalizable, type FinalizableSink, type SweepResult } from './sweep.js';
import { refreshDirty, scanRemembered } from './remset.js';
import { verifyHeap, type VerifyResult } from './verify.js';
import { isLiveState, needsRecovery, recover, retireEveryTlab } from './recover.js';
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
  /** Objects it had no room to queue: kept, unfinalized, for the next collection. */
  deferred = 0;
  constructor(private readonly t: Thread) {}

  queue(ref: number, owner: number): boolean {
    const t = this.t;
    const runner = owner < MAX_WORKERS && isLiveState(Atomics.load(t.i32, workerWord(owner) + W_STATE)) ? owner : t.slot;
    let index = allocHandle(t, HK_FINAL, ref, runner);
    if (index < 0 && growArena(t.arena, Atomics.load(t.u32, G_COMMITTED_PAGES) + 8) > 0) {
      t.syncViews();
      index = allocHandle(t, HK_FINAL, ref, runner);
    }
    if (index < 0) {
      this.deferred++; // no room for the entry: phase 1 keeps the object for the next collection
      return false;
    }
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

/** Collections a dense young span's objects must survive before it turns old (ARCHITECTURE.md). */
export const PROMOTE_AGE = 3;

/** What a thread keeps between collections it runs: reused, so a pause allocates nothing. */
export interface CollectorState {
  readonly marker: Marker;
  readonly walker: SpanWalker;
  readonly sweeper: Sweeper;
  /** Set by a minor collection under verifyEachGC: verify() at its start, after recovery. */
  preVerify: VerifyResult | undefined;
  /** Slots whose roots the last collection marked from (1): a worker declared dead during the
   *  pause stops counting as live, but its roots were this collection's. */
  readonly rootSlots: Uint8Array;
  /** Finalizable objects the last collection kept unqueued for want of a handle entry. */
  deferredFinalizable: number;
}

/** Marks from the root stacks and pins of the slots in `slots`, and the strong and final handles. */
export function markRoots(u32: Uint32Array, marker: Marker, slots: Uint8Array, committed: number): void {
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    if (slots[slot] !== 1) continue;
    const ctl = workerWord(slot);
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
}

/** Runs one collection of `kind` inside a pause that the caller holds. */
export function collectInPause(t: Thread, cs: CollectorState, kind: number, rendezvousMs: number, pauseStartMs: number): GcEvent {
  const seq = Atomics.add(t.i32, G_GC_STARTED, 1) + 1;
  const { marker, walker } = cs;
  const minor = kind === GC_KIND_MINOR;
  const generational = t.u32[G_YOUNG_BYTES] !== 0;

  // 1. Recover (always for a major, which also trims root chunks; for a minor only after a
  // death), then hold the in-pause flag: a collector killed from here on leaves it set.
  if (!minor || needsRecovery(t.u32)) recover(t, walker);
  else retireEveryTlab(t);
  let u32 = t.u32;
  const i32 = t.i32;
  const arena = t.arena;
  cs.preVerify = minor && (u32[G_GC_FLAGS]! & GC_FLAG_VERIFY) !== 0 ? verifyHeap(arena, walker) : undefined;
  u32[G_GC_FLAGS] = u32[G_GC_FLAGS]! | GC_FLAG_IN_PAUSE;

  // 2. Mark: from the roots (and, in a minor, from the remembered set), young objects only
  // in a minor.
  const markStart = t.clockMs();
  marker.begin(u32, t.f32, minor ? PI_OLD : 0);
  const committed = Atomics.load(u32, G_COMMITTED_PAGES);
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    cs.rootSlots[slot] = isLiveState(Atomics.load(i32, workerWord(slot) + W_STATE)) ? 1 : 0;
  }
  markRoots(u32, marker, cs.rootSlots, committed);
  if (minor) scanRemembered(arena, marker);
  marker.drain();
  const marked = marker.marked;
  const markEnd = t.clockMs();
  if (faultHook !== null) faultHook(FP_MARKED);

  // 3. Sweep phase 1: weak refs to dead objects (young ones, in a minor), then finalizable
  // objects. Queueing may add a handle chunk and so grow the arena inside the pause: `u32`
  // is re-read from `t` after it.
  const handles = handleCapacity(u32);
  for (let h = 0; h < handles; h++) {
    const w = handleWord(u32, h);
    if ((u32[w + H_META]! & HK_MASK) !== HK_WEAK) continue;
    const ref = u32[w + H_REF]!;
    if (ref === 0 || (minor && (pageInfo(u32, ref >>> PAGE_LOG) & PI_OLD) !== 0)) continue;
    if (!isMarked(u32, t.f32, ref)) u32[w + H_REF] = 0;
  }
  // Phase 1 looks only where finalizable objects can be: nowhere until such a type exists.
  let finalizable = 0;
  cs.deferredFinalizable = 0;
  if (u32[G_FINALIZABLE_TYPES] !== 0) {
    const sink = new FinalQueueSink(t);
    finalizable = findFinalizable(arena, walker, marker, sink, minor);
    cs.deferredFinalizable = sink.deferred;
  }
  marker.drain();
  t.syncViews();
  u32 = t.u32;

  // 4. Sweep phase 2 (young spans only in a minor), ageing and promotion, then the dirty
  // bits of remembered and promoted spans.
  const budgetKiB = u32[G_YOUNG_BUDGET_KIB]!;
  const swept = cs.sweeper.sweep(arena, walker, {
    dead: (u32[G_CHECKED] === 1 ? DEAD_QUARANTINE : DEAD_FREE) | ((u32[G_GC_FLAGS]! & GC_FLAG_ZAP) !== 0 ? DEAD_ZAP_BODY : 0),
    minor,
    generational,
    promoteAge: PROMOTE_AGE,
    keepEmptyPages: budgetKiB >>> 2,
  });
  if (generational) refreshDirty(arena, cs.sweeper.promoted, swept.promotedSpans);

  // 5. Pacing.
  pace(t, minor, generational, swept, committed);
  t.syncViews();

  // 6. Record.
  const end = t.clockMs();
  const event: GcEvent = {
    kind: minor ? 'minor' : 'major',
    pauseMs: end - pauseStartMs,
    phases: { rendezvousMs, markMs: markEnd - markStart, sweepMs: end - markEnd },
    markedObjects: marked,
    freedObjects: swept.freedObjects,
    freedBytes: swept.freedBytes,
    promotedObjects: swept.promotedObjects,
    finalizableObjects: finalizable,
    collector: t.slot,
    seq,
  };
  const v = t.u32;
  writeEvent(v, event);
  if (minor) v[G_MINOR_COUNT] = v[G_MINOR_COUNT]! + 1;
  else v[G_MAJOR_COUNT] = v[G_MAJOR_COUNT]! + 1;
  v[G_GC_FLAGS] = v[G_GC_FLAGS]! & ~GC_FLAG_IN_PAUSE;
  return event;
}

/**
 * After a collection: the counters the pacer reads (pacer.ts), the young budget, and growth.
 *   major  old space size and growth start afresh; live size for GOGC pacing; grow the arena
 *          towards twice the live set.
 *   minor  promoted pages count as old-space growth; when it reaches the old space's size
 *          after the last major (at least a quarter of the initial arena), the next collection
 *          an allocation asks for is a major. The young budget doubles (up to 8x its base)
 *          while young survivors fill more than half of it, and halves back when they fill
 *          less than a tenth.
 */
function pace(t: Thread, minor: boolean, generational: boolean, swept: SweepResult, committed: number): void {
  const u32 = t.u32;
  const arena = t.arena;
  Atomics.store(u32, G_YOUNG_KIB, 0);
  if (!minor || !generational) {
    u32[G_LIVE_KIB] = Math.ceil(swept.liveBytes / 1024);
    Atomics.store(u32, G_ALLOC_KIB, 0);
  }
  if (!minor) {
    u32[G_OLD_PAGES] = swept.oldPages;
    u32[G_OLD_LIVE_KIB] = swept.oldPages * (PAGE_BYTES >>> 10);
    Atomics.store(u32, G_OLD_GROWTH_KIB, 0);
    u32[G_MAJOR_DUE] = 0;
    const livePages = Math.ceil((swept.liveBytes + swept.quarantinedBytes) / PAGE_BYTES) + arena.layout.headerPages;
    const wanted = Math.max(u32[G_INITIAL_PAGES]!, livePages * 2);
    if (wanted > committed) growArena(arena, Math.min(wanted, u32[G_MAX_PAGES]!));
    return;
  }
  if (!generational) return;
  u32[G_OLD_PAGES] = u32[G_OLD_PAGES]! + swept.promotedPages;
  const growth = Atomics.add(u32, G_OLD_GROWTH_KIB, swept.promotedPages * (PAGE_BYTES >>> 10)) + swept.promotedPages * (PAGE_BYTES >>> 10);
  const floorKiB = (u32[G_INITIAL_PAGES]! * (PAGE_BYTES >>> 10)) >>> 2;
  if (growth >= Math.max(u32[G_OLD_LIVE_KIB]!, floorKiB)) u32[G_MAJOR_DUE] = 1;
  const baseKiB = u32[G_YOUNG_BYTES]! >>> 10;
  const budgetKiB = u32[G_YOUNG_BUDGET_KIB]!;
  const survivingKiB = swept.youngLiveBytes / 1024;
  if (survivingKiB * 2 > budgetKiB) u32[G_YOUNG_BUDGET_KIB] = Math.min(budgetKiB * 2, baseKiB * 8);
  else if (survivingKiB * 10 < budgetKiB) u32[G_YOUNG_BUDGET_KIB] = Math.max(baseKiB, budgetKiB >>> 1);
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
  const us = Math.min(PAUSE_US_MASK, Math.max(1, Math.round(e.pauseMs * US)));
  u32[PAUSE_RING_WORD + (n % PAUSE_RING_SIZE)] = (e.kind === 'major' ? us | PAUSE_MAJOR_BIT : us) >>> 0;
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
