// Recovery: inside a pause, completes or undoes whatever threads that died left half done,
// so that the heap satisfies every invariant again. A collection runs it first; `verify()`
// runs it when a worker has died (or a collector was killed) since the last pause, so that
// it never reports a dead thread's half-finished step as corruption.
//
// Every shared structure a kill can interrupt is either derived (rebuilt here from ground
// truth) or follows a protocol whose half states this pass recognises:
//   1. A pause whose collector died (GC_FLAG_IN_PAUSE still set) left marks behind: clear
//      them all. Its sweep is restartable: what it freed stays free, the rest is redone; a
//      span it promoted but did not finish (AGE_PROMOTING) gets its dirty bits now.
//   2. Every worker's TLABs are retired, so the allocated bitmaps describe every object.
//   3. Spans: a stray tail (a claim or release cut short; spans.ts) is freed. A system span
//      that no live control block or the handle directory names (a root stack of a dead or
//      outgrown owner, a handle chunk whose maker died before linking it) is freed. A large
//      span of a dead owner that holds no object (its maker died between publishing it and
//      allocating in it) is freed. Any other span whose owner is dead becomes an orphan.
//   4. Dead workers' control blocks are cleared (roots dropped, TLAB words zeroed) and their
//      slots freed, DEAD → FREE.
//   5. Derived structures are rebuilt: the free-page bitmap and count from the page table;
//      the handle free list from the entries' kinds; every finalization queue from the
//      entries' owners (entries of dead owners go to this thread), with each queued object's
//      "finalized" header bit set, so a queue entry a dead collector made is never made twice.

import type { Thread } from '../heap/thread.js';
import {
  AGE_PROMOTING, S_AGE, BITMAP_WORDS, G_DEATHS, G_DEATHS_SEEN, G_GC_FLAGS, GC_FLAG_IN_PAUSE, HANDLE_DIR_WORD, MAX_WORKERS, PK_LARGE_HEAD,
  PK_SMALL_HEAD, PK_SYSTEM_HEAD, ROOT_SPARES_KEPT, S_ALLOC, S_CHUNK_PREV, S_MARK, W_FINAL_HEAD, W_FINALIZING, W_PIN, G_FINAL_INTERRUPTED, W_ROOT_SPARE, G_COMMITTED_PAGES, W_ROOT_BASE, W_ROOT_LIMIT, W_ROOT_SPAN,
  W_GEN, W_RESERVER, W_ROOT_TOP, W_STATE, WS_DEAD, WS_FREE, WS_PARKED, WS_RESERVED, WS_RUNNING, WS_STOPPED, workerWord, G_HANDLE_CHUNKS,
} from '../heap/layout.js';
import { retireAllTlabs } from '../heap/allocator.js';
import { holdsFinalEntry, rebuildFinalQueues, rebuildHandleFreeList } from '../heap/handles.js';
import { rebuildFreeBitmap, releasePages } from '../heap/pagepool.js';
import { SpanWalker, WALK_SPAN, WALK_STRAY, infoOwner, orphanSpanPlain, setSpanOld } from '../heap/spans.js';
import { finishPromotion } from './remset.js';
import { takeGeneration } from '../safepoint/registry.js';

/** Whether a pause must recover before it trusts the heap: a death or a killed collector since the last one. */
export function needsRecovery(u32: Uint32Array): boolean {
  return (u32[G_GC_FLAGS]! & GC_FLAG_IN_PAUSE) !== 0 || Atomics.load(u32, G_DEATHS) !== u32[G_DEATHS_SEEN];
}

/** Slot states whose roots and queues count: the worker is attached and alive. */
export function isLiveState(state: number): boolean {
  return state === WS_PARKED || state === WS_RUNNING || state === WS_STOPPED;
}

/** Step 2 alone: retires every attached worker's TLABs (a pause that only verifies). */
export function retireEveryTlab(t: Thread): void {
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    const ctl = workerWord(slot);
    if (Atomics.load(t.i32, ctl + W_STATE) !== WS_FREE) retireAllTlabs(t.u32, t.f32, ctl);
  }
}

/** A spawn's reservation whose spawner is gone (dead, freed, or its slot held by another). */
function reserverDied(i32: Int32Array, ctl: number): boolean {
  const r = Atomics.load(i32, ctl + W_RESERVER) >>> 0;
  if (r === 0) return false;
  const w = workerWord((r & 0x7f) - 1);
  return !isLiveState(Atomics.load(i32, w + W_STATE)) || (Atomics.load(i32, w + W_GEN) & 0xffffff) !== r >>> 7;
}

/** Runs steps 1–5 inside a pause the caller holds. Returns how many dead slots it freed. */
export function recover(t: Thread, walker: SpanWalker): number {
  t.syncViews();
  const u32 = t.u32;
  const i32 = t.i32;
  const arena = t.arena;
  const deaths = Atomics.load(u32, G_DEATHS);
  const live = new Uint8Array(MAX_WORKERS);
  const dead = new Uint8Array(MAX_WORKERS);
  const deadGen = new Int32Array(MAX_WORKERS);

  // 1. Marks a killed collector left. The flag stays set while this pass runs, so that a
  // collector killed inside it is recovered from in turn.
  const restart = (u32[G_GC_FLAGS]! & GC_FLAG_IN_PAUSE) !== 0;
  u32[G_GC_FLAGS] = u32[G_GC_FLAGS]! | GC_FLAG_IN_PAUSE;
  if (restart) clearAllMarks(u32, walker.reset(u32, arena.layout.headerPages));

  // 2. TLABs.
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    const ctl = workerWord(slot);
    const state = Atomics.load(i32, ctl + W_STATE);
    if (state === WS_FREE) continue;
    retireAllTlabs(u32, t.f32, ctl);
    if (state === WS_RESERVED && reserverDied(i32, ctl) && Atomics.compareExchange(i32, ctl + W_STATE, WS_RESERVED, WS_DEAD) === WS_RESERVED) {
      dead[slot] = 1; // its spawner died before it started and watched the worker
    } else if (isLiveState(state)) live[slot] = 1;
    else if (state === WS_DEAD) dead[slot] = 1;
    if (dead[slot] === 1) deadGen[slot] = Atomics.load(i32, ctl + W_GEN);
  }

  // 3. Spans. System spans named by a live control block or the directory get bit 0 of their
  // (otherwise unused) mark bitmap for the length of the walk.
  const committed = Atomics.load(u32, G_COMMITTED_PAGES);
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    if (live[slot] === 1) keepRootChunks(u32, workerWord(slot), committed);
  }
  const chunks = u32[G_HANDLE_CHUNKS]!;
  for (let c = 0; c < chunks; c++) u32[(u32[HANDLE_DIR_WORD + c]! >>> 2) + S_MARK] = 1;
  walker.reset(u32, arena.layout.headerPages);
  while (walker.next()) {
    if (walker.what === WALK_STRAY) {
      releasePages(arena, walker.page, 1);
      continue;
    }
    if (walker.what !== WALK_SPAN) continue; // a corrupt head: verify() reports it
    const owner = infoOwner(walker.info);
    if (restart && walker.kind !== PK_SYSTEM_HEAD && u32[(walker.base >>> 2) + S_AGE] === AGE_PROMOTING) {
      setSpanOld(u32, walker.base, walker.pages, true); // the collector may have died part way through
      finishPromotion(u32, arena.layout.remsetWord, walker.base);
    }
    if (walker.kind === PK_SYSTEM_HEAD) {
      const bw = walker.base >>> 2;
      if (u32[bw + S_MARK] === 0) releasePages(arena, walker.page, walker.pages);
      else u32[bw + S_MARK] = 0;
    } else if (owner < MAX_WORKERS && dead[owner] === 1) {
      if (walker.kind === PK_LARGE_HEAD && (u32[(walker.base >>> 2) + S_ALLOC]! & 1) === 0) releasePages(arena, walker.page, walker.pages);
      else orphanSpanPlain(u32, walker.base);
    }
  }

  // 4. Dead workers.
  let freed = 0;
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    if (dead[slot] === 0) continue;
    const ctl = workerWord(slot);
    // The next generation first, by CAS on the one step 2 saw: a detaching thread finishing
    // its own hand-back (departure.ts) races for the slot the same way, and whichever loses
    // leaves the slot (perhaps someone else's by now) alone.
    if (Atomics.compareExchange(i32, ctl + W_GEN, deadGen[slot]!, takeGeneration(i32)) !== deadGen[slot]) continue;
    u32[ctl + W_ROOT_SPAN] = 0;
    u32[ctl + W_ROOT_BASE] = 0;
    u32[ctl + W_ROOT_TOP] = 0;
    u32[ctl + W_ROOT_LIMIT] = 0;
    u32[ctl + W_ROOT_SPARE] = 0;
    u32[ctl + W_PIN] = 0;
    u32[ctl + W_FINAL_HEAD] = 0;
    // Interrupted only if its entry is gone: a worker killed before freeing the entry leaves
    // it queued, and the finalizer runs again elsewhere.
    const finalizing = u32[ctl + W_FINALIZING]!;
    if (finalizing !== 0 && !holdsFinalEntry(u32, finalizing)) u32[G_FINAL_INTERRUPTED] = u32[G_FINAL_INTERRUPTED]! + 1;
    u32[ctl + W_FINALIZING] = 0;
    u32[ctl + W_RESERVER] = 0;
    if (Atomics.compareExchange(i32, ctl + W_STATE, WS_DEAD, WS_FREE) === WS_DEAD) freed++;
  }

  // 5. Derived structures.
  live[t.slot] = 1;
  rebuildFinalQueues(t, live, t.slot);
  rebuildHandleFreeList(t.u32);
  rebuildFreeBitmap(arena);
  const v = t.u32;
  v[G_DEATHS_SEEN] = deaths;
  v[G_GC_FLAGS] = v[G_GC_FLAGS]! & ~GC_FLAG_IN_PAUSE;
  return freed;
}

/**
 * Flags the root-stack chunks of the live control block `ctl` as referenced: its chain, and
 * up to ROOT_SPARES_KEPT spares (the list is cut after them; the rest are freed).
 */
function keepRootChunks(u32: Uint32Array, ctl: number, maxChunks: number): void {
  let n = 0;
  for (let c = u32[ctl + W_ROOT_SPAN]!; c !== 0 && n <= maxChunks; c = u32[(c >>> 2) + S_CHUNK_PREV]!, n++) {
    u32[(c >>> 2) + S_MARK] = 1;
  }
  let kept = 0;
  let last = 0;
  for (let c = u32[ctl + W_ROOT_SPARE]!; c !== 0 && kept <= maxChunks; c = u32[(c >>> 2) + S_CHUNK_PREV]!) {
    if (kept === ROOT_SPARES_KEPT) {
      if (last === 0) u32[ctl + W_ROOT_SPARE] = 0;
      else u32[(last >>> 2) + S_CHUNK_PREV] = 0;
      break;
    }
    u32[(c >>> 2) + S_MARK] = 1;
    last = c;
    kept++;
  }
}

/** Clears every mark bit (and the liveness bit of system spans): only after a collector died. */
export function clearAllMarks(u32: Uint32Array, walker: SpanWalker): void {
  while (walker.next()) {
    if (walker.what !== WALK_SPAN) continue;
    const bw = walker.base >>> 2;
    if (walker.kind === PK_SMALL_HEAD || walker.kind === PK_LARGE_HEAD || walker.kind === PK_SYSTEM_HEAD) {
      u32.fill(0, bw + S_MARK, bw + S_MARK + BITMAP_WORDS);
    }
  }
}
