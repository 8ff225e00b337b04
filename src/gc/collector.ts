// The collector: what one pause does, on whichever thread won the request.
//
// A collection, step by step (the rendezvous around it is in safepoint/rendezvous.ts):
//   1. Prepare. Count the collection as started. If the last pause died half-way (its
//      collector was killed), clear every mark bit first: a pause is restartable from any
//      point. Retire every worker's TLABs, so the allocated bitmaps describe every object.
//      Note the dead workers.
//   2. Mark from every live worker's root stack and from the strong and finalization
//      entries of the handle table.
//   3. Sweep phase 1: clear weak entries whose target is unmarked; resurrect dead objects
//      of finalizable types (marking what they reach) and queue them on their owner's
//      finalization list (or the collector's, for orphans).
//   4. Sweep phase 2: bitmap arithmetic over every span; empty spans back to the pool,
//      partly free ones onto the central lists, dead workers' spans flagged orphan.
//   5. Dead workers (whose root stacks the sweep freed): hand their finalization lists to the
//      collector, free their slots. Rebuild the pool bitmap from the page table and the
//      handle free list from the handle kinds (a killed thread may have left either
//      half-updated).
//   6. Pacing: if the live set left too little room, grow towards twice the live size.
//   7. Record the GcEvent in the arena (for participants) and the pause ring.

import type { Thread } from '../heap/thread.js';
import {
  G_ALLOC_KIB, G_COMMITTED_PAGES, G_EVENT_COLLECTOR, G_EVENT_FINALIZED, G_EVENT_FREED_KIB, G_EVENT_FREED_OBJECTS,
  G_EVENT_KIND, G_EVENT_MARKED, G_EVENT_MARK_US, G_EVENT_PAUSE_US, G_EVENT_PROMOTED, G_EVENT_RENDEZVOUS_US,
  G_EVENT_SEQ, G_EVENT_SWEEP_US, G_FINAL_PENDING, G_GC_FLAGS, G_GC_STARTED, G_INITIAL_PAGES, G_LIVE_KIB,
  G_MAJOR_COUNT, G_MAX_PAGES, G_MINOR_COUNT, G_PAUSE_COUNT, GC_FLAG_ZAP, GC_KIND_MAJOR, GC_KIND_MINOR, H_META,
  H_NEXT, H_OWNER, H_REF, HK_FINAL, HK_MASK, HK_STRONG, HK_WEAK, MAX_WORKERS, PAUSE_RING_SIZE, PAUSE_RING_WORD,
  W_FINAL_HEAD, W_ROOT_BASE, W_ROOT_SPAN, W_ROOT_TOP, W_STATE, WS_DEAD, WS_FREE, WS_PARKED,
  WS_RESERVED, WS_RUNNING, WS_STOPPED, workerWord,
} from '../heap/layout.js';
import { retireAllTlabs } from '../heap/allocator.js';
import { allocHandle, handleCapacity, handleWord, rebuildHandleFreeList } from '../heap/handles.js';
import { growArena, rebuildFreeBitmap } from '../heap/pagepool.js';
import { Marker, isMarked } from './mark.js';
import { clearAllMarks, findFinalizable, sweepSpans } from './sweep.js';

/** G_GC_FLAGS bit: a pause is in progress (left set if its collector dies). */
export const GC_FLAG_IN_PAUSE = 0x100;

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

/** Runs steps 1–7 inside a pause that the caller holds. */
export function collectInPause(t: Thread, marker: Marker, kind: number, rendezvousMs: number, pauseStartMs: number): GcEvent {
  t.syncViews();
  // Queueing a finalizer may add a handle chunk and so grow the arena inside the pause:
  // `u32` is re-read from `t` after phase 1, and the queueing code reads `t.u32` itself.
  let u32 = t.u32;
  const i32 = t.i32;
  const arena = t.arena;
  const seq = Atomics.add(i32, G_GC_STARTED, 1) + 1;
  const committed = Atomics.load(u32, G_COMMITTED_PAGES);

  // 1. Prepare.
  if ((u32[G_GC_FLAGS]! & GC_FLAG_IN_PAUSE) !== 0) clearAllMarks(arena, committed);
  u32[G_GC_FLAGS] = u32[G_GC_FLAGS]! | GC_FLAG_IN_PAUSE;
  const dead = new Uint8Array(MAX_WORKERS);
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    const ctl = workerWord(slot);
    const state = Atomics.load(i32, ctl + W_STATE);
    if (state === WS_FREE) continue;
    retireAllTlabs(u32, ctl);
    if (state === WS_DEAD) dead[slot] = 1;
  }

  // 2. Mark.
  const markStart = t.clockMs();
  marker.begin(u32, t.f32);
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    const ctl = workerWord(slot);
    const state = Atomics.load(i32, ctl + W_STATE);
    if (state !== WS_PARKED && state !== WS_RUNNING && state !== WS_STOPPED) continue;
    const top = u32[ctl + W_ROOT_TOP]!;
    for (let r = u32[ctl + W_ROOT_BASE]!; r < top; r++) marker.mark(u32[r]!);
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

  // 3. Sweep phase 1: weak refs, then finalizable objects.
  for (let h = 0; h < handles; h++) {
    const w = handleWord(u32, h);
    if ((u32[w + H_META]! & HK_MASK) !== HK_WEAK) continue;
    const ref = u32[w + H_REF]!;
    if (ref !== 0 && !isMarked(u32, t.f32, ref)) u32[w + H_REF] = 0;
  }
  const finalizable = findFinalizable(arena, committed, marker, (ref, owner) => {
    const runner = owner < MAX_WORKERS && dead[owner] === 0 && liveState(i32, owner) ? owner : t.slot;
    let index: number;
    try {
      index = allocHandle(t, HK_FINAL, ref, runner);
    } catch {
      return false; // no room for the queue entry: the object stays unfinalized until the next collection
    }
    const v = t.u32;
    const q = workerWord(runner) + W_FINAL_HEAD;
    v[handleWord(v, index) + H_NEXT] = v[q]!;
    v[q] = index + 1;
    Atomics.add(v, G_FINAL_PENDING, 1);
    return true;
  });
  marker.drain();
  t.syncViews();
  u32 = t.u32;

  // 4. Sweep phase 2.
  const swept = sweepSpans(arena, committed, dead, (u32[G_GC_FLAGS]! & GC_FLAG_ZAP) !== 0);

  // 5. Dead workers.
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    if (dead[slot] === 0) continue;
    const ctl = workerWord(slot);
    // The sweep freed its root stacks (orphaned system spans).
    u32[ctl + W_ROOT_SPAN] = 0;
    u32[ctl + W_ROOT_BASE] = 0;
    u32[ctl + W_ROOT_TOP] = 0;
    moveFinalQueue(u32, slot, t.slot);
    Atomics.compareExchange(i32, ctl + W_STATE, WS_DEAD, WS_FREE);
  }
  rebuildFreeBitmap(arena);
  rebuildHandleFreeList(u32);

  // 6. Pacing.
  const liveKiB = Math.ceil(swept.liveBytes / 1024);
  u32[G_LIVE_KIB] = liveKiB;
  Atomics.store(u32, G_ALLOC_KIB, 0);
  const livePages = Math.ceil(swept.liveBytes / 4096) + arena.layout.headerPages;
  const wanted = Math.max(u32[G_INITIAL_PAGES]!, livePages * 2);
  if (wanted > committed) growArena(arena, Math.min(wanted, u32[G_MAX_PAGES]!));
  t.syncViews();

  // 7. Record.
  const end = t.clockMs();
  const pauseMs = end - pauseStartMs;
  const event: GcEvent = {
    kind: kind === GC_KIND_MINOR ? 'minor' : 'major',
    pauseMs,
    phases: { rendezvousMs, markMs: markEnd - markStart, sweepMs: end - markEnd },
    markedObjects: marked,
    freedObjects: swept.freedObjects,
    freedBytes: swept.freedBytes,
    promotedObjects: 0,
    finalizableObjects: finalizable,
    collector: t.slot,
    seq,
  };
  writeEvent(t.u32, event);
  if (kind === GC_KIND_MAJOR) u32[G_MAJOR_COUNT] = u32[G_MAJOR_COUNT]! + 1;
  else u32[G_MINOR_COUNT] = u32[G_MINOR_COUNT]! + 1;
  t.u32[G_GC_FLAGS] = t.u32[G_GC_FLAGS]! & ~GC_FLAG_IN_PAUSE;
  return event;
}

function liveState(i32: Int32Array, slot: number): boolean {
  const s = Atomics.load(i32, workerWord(slot) + W_STATE);
  return s === WS_PARKED || s === WS_RUNNING || s === WS_STOPPED || s === WS_RESERVED;
}

/** Appends `from`'s finalization list to `to`'s. */
function moveFinalQueue(u32: Uint32Array, from: number, to: number): void {
  let head = u32[workerWord(from) + W_FINAL_HEAD]!;
  u32[workerWord(from) + W_FINAL_HEAD] = 0;
  while (head !== 0) {
    const w = handleWord(u32, head - 1);
    const next = u32[w + H_NEXT]!;
    u32[w + H_OWNER] = to;
    u32[w + H_NEXT] = u32[workerWord(to) + W_FINAL_HEAD]!;
    u32[workerWord(to) + W_FINAL_HEAD] = head;
    head = next;
  }
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

