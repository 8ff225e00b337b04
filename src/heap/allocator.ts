// The allocator's slow paths. The fast path (Heap.alloc / allocArray) is a compare and an
// add against this thread's TLAB for the object's allocation class; everything else is here.
//
// A TLAB is a run of consecutive free slots in one span: [start, limit), bumped by cursor.
// Its allocated bits are set in bulk when it retires (on refill, or by the collector at the
// rendezvous), so the fast path writes no bitmap. Refill looks, in order:
//   1. for the next free run in the span the TLAB was in (the span's S_SCAN cursor moves
//      forward only, so each slot is looked at once per cycle: O(1) amortised);
//   2. for a partly free young span on the central list of its class (built by the sweep;
//      mutators only pop it between collections, so a CAS pop has no ABA);
//   3. for a fresh span from this thread's spares or the page pool (under the heap lock);
//   4. for a partly free old span on the class's old list: its objects are born old.
// Objects are born young everywhere else. Bytes handed out are counted per generation: the
// young ones against the young budget (a minor collection when it is used up: REFILL_MINOR),
// the old ones as old-space growth (read by gc/collector.ts `pace`).
// When all four fail it returns REFILL_EMPTY, and the caller (gc/pacer.ts) collects or
// grows the arena and tries again: this layer never calls up. Under stress (gcInterval) runs
// are cut so that the refill after every gcInterval-th allocation returns REFILL_STRESS, and
// the caller collects: collections land at every allocation site, at no cost otherwise.
//
// A span's allocated bits describe every object outside the TLABs; a TLAB's own objects
// are [start, cursor). A thread writes an object's header before bumping its cursor, so a
// thread killed mid-allocation never leaves an allocated slot without a type.

import type { Thread } from './thread.js';
import {
  G_ALLOC_KIB, G_CENTRAL, G_CENTRAL_OLD, G_GC_STARTED, G_OLD_GROWTH_KIB, G_YOUNG_BUDGET_KIB, G_YOUNG_KIB, PAGE_LOG, PI_OLD, PAGE_BYTES, PAGE_WORDS, PK_LARGE_HEAD, PK_SMALL_HEAD, PK_SYSTEM_HEAD,
  SPAN_HEADER_BYTES, SPAN_HEADER_WORDS, S_ALLOC, S_BLOCK_BYTES, S_NEXT, S_PAGES, S_SCAN, S_SLOTS, SCAN_SLOT_MASK, SCAN_WRITTEN_SHIFT, TLAB_CURSOR,
  TLAB_LIMIT, TLAB_START, TLAB_WORDS, W_TLAB, NUM_ALLOC_CLASSES,
} from './layout.js';
import { CLASS_SPAN_PAGES, NUM_SIZE_CLASSES } from './sizeclasses.js';
import { claimSpan, zeroWords } from './pagepool.js';
import { acquireLock, releaseLock } from './lock.js';
import { adoptSpan, ctz, pageInfo, setBitRangePlain, slotIndex, spanOf } from './spans.js';
import { FP_LARGE_CLAIMED, FP_POPPED, FP_TLAB_START, faultHook } from './faults.js';

/** Bytes counted locally before they are added to the shared pacing counters. */
const ALLOC_FLUSH_BYTES = 256 << 10;

function countAlloc(t: Thread, bytes: number, old: boolean): void {
  t.pendingAllocBytes += bytes;
  if (t.pendingAllocBytes >= ALLOC_FLUSH_BYTES) {
    Atomics.add(t.u32, G_ALLOC_KIB, t.pendingAllocBytes >>> 10);
    t.pendingAllocBytes &= 1023;
  }
  if (!t.generational) return;
  if (old) {
    t.pendingOldBytes += bytes;
    if (t.pendingOldBytes >= ALLOC_FLUSH_BYTES) {
      Atomics.add(t.u32, G_OLD_GROWTH_KIB, t.pendingOldBytes >>> 10);
      t.pendingOldBytes &= 1023;
    }
    return;
  }
  t.pendingYoungBytes += bytes;
  // Flushed in steps of at most 1/16 of the budget, so that a few workers cannot overrun it.
  const budgetKiB = t.u32[G_YOUNG_BUDGET_KIB]!;
  if (t.pendingYoungBytes >= Math.min(ALLOC_FLUSH_BYTES, budgetKiB << 6)) {
    const total = Atomics.add(t.u32, G_YOUNG_KIB, t.pendingYoungBytes >>> 10) + (t.pendingYoungBytes >>> 10);
    t.pendingYoungBytes &= 1023;
    if (total >= budgetKiB) t.minorDue = true;
  }
}

/**
 * Retires the TLAB at word `tl`: sets the allocated bits of its objects and empties it.
 * Run by the owner on refill, and by the collector for stopped, parked and dead workers.
 */
export function retireTlab(u32: Uint32Array, f32: Float32Array, tl: number): void {
  const start = u32[tl + TLAB_START]!;
  const cursor = u32[tl + TLAB_CURSOR]!;
  if (cursor > start) {
    // Bits first, then the TLAB words: a concurrent checked reader (check.ts) that misses
    // the object in the TLAB finds its bit on a second look.
    const base = spanOf(u32, start);
    setBitRangePlain(u32, (base >>> 2) + S_ALLOC, slotIndex(f32, base, start), slotIndex(f32, base, cursor));
  }
  u32[tl + TLAB_CURSOR] = 0;
  u32[tl + TLAB_LIMIT] = 0;
  u32[tl + TLAB_START] = 0;
}

/** Retires every TLAB of the worker whose control block starts at `ctl`, and clears its words. */
export function retireAllTlabs(u32: Uint32Array, f32: Float32Array, ctl: number): void {
  for (let c = 0; c < NUM_ALLOC_CLASSES; c++) {
    const tl = ctl + W_TLAB + c * TLAB_WORDS;
    if (u32[tl + TLAB_LIMIT] !== 0) retireTlab(u32, f32, tl);
    else if (u32[tl + TLAB_START] !== 0 || u32[tl + TLAB_CURSOR] !== 0) {
      // A thread killed while making this TLAB: its run was never handed out.
      u32[tl + TLAB_CURSOR] = 0;
      u32[tl + TLAB_START] = 0;
    }
  }
}

/**
 * Makes the next free run of `base` this thread's TLAB at `tl`, zeroing it. Returns false
 * when the span has no free slot left past its scan cursor.
 */
function takeRun(t: Thread, tl: number, base: number): boolean {
  const u32 = t.u32;
  const bw = base >>> 2;
  const slots = u32[bw + S_SLOTS]!;
  const scan = u32[bw + S_SCAN]!;
  const written = scan >>> SCAN_WRITTEN_SHIFT;
  let s = scan & SCAN_SLOT_MASK;
  // First free slot at or after s.
  while (s < slots) {
    const bits = (u32[bw + S_ALLOC + (s >>> 5)]! | ((1 << (s & 31)) - 1)) | 0;
    if (bits !== -1) {
      s = (s & ~31) + ctz(~bits);
      break;
    }
    s = (s & ~31) + 32;
  }
  if (s >= slots) {
    u32[bw + S_SCAN] = (written << SCAN_WRITTEN_SHIFT) | slots;
    return false;
  }
  // First allocated slot after s ends the run.
  let e = s + 1;
  while (e < slots) {
    const bits = (u32[bw + S_ALLOC + (e >>> 5)]! & ~((1 << (e & 31)) - 1)) | 0;
    if (bits !== 0) {
      e = (e & ~31) + ctz(bits);
      break;
    }
    e = (e & ~31) + 32;
  }
  if (e > slots) e = slots;
  if (t.gcInterval !== 0) {
    e = Math.min(e, s + t.stressLeft);
    t.stressLeft -= e - s;
  }
  // The written mark moves before anything is written in the run: a kill between the two
  // leaves it too high (zeroing a clean slot later), never too low.
  u32[bw + S_SCAN] = (Math.max(written, e) << SCAN_WRITTEN_SHIFT) | e;
  const block = u32[bw + S_BLOCK_BYTES]!;
  const start = base + SPAN_HEADER_BYTES + s * block;
  const limit = base + SPAN_HEADER_BYTES + e * block;
  if (s < written) zeroWords(u32, start >>> 2, (base + SPAN_HEADER_BYTES + Math.min(e, written) * block) >>> 2);
  u32[tl + TLAB_START] = start;
  if (faultHook !== null) faultHook(FP_TLAB_START);
  u32[tl + TLAB_CURSOR] = start;
  u32[tl + TLAB_LIMIT] = limit;
  countAlloc(t, limit - start, (pageInfo(u32, base >>> PAGE_LOG) & PI_OLD) !== 0);
  return true;
}

/** Pops a partly free span from the central list at global word `list`, or returns 0. */
function popCentral(t: Thread, list: number): number {
  for (;;) {
    const head = Atomics.load(t.u32, list);
    if (head === 0) return 0;
    // The span may lie in memory another thread added by growing the arena: a read through
    // a stale view gives undefined, and the CAS would then cut the list.
    const bw = head >>> 2;
    if (bw + SPAN_HEADER_WORDS > t.viewWords) t.syncViews();
    const u32 = t.u32;
    const next = u32[bw + S_NEXT]!;
    if (Atomics.compareExchange(u32, list, head, next) === head) {
      if (faultHook !== null) faultHook(FP_POPPED);
      if (bw + u32[bw + S_PAGES]! * PAGE_WORDS > t.viewWords) t.syncViews();
      adoptSpan(t.u32, head, t.slot);
      return head;
    }
  }
}

/**
 * Claims up to `count` spans of `pages` fresh pages each, of `kind`, under one acquisition
 * of the heap lock. Returns them lowest address first, with this thread's views covering
 * them; empty when the pool has no run of `pages` free pages.
 */
function claimSpans(t: Thread, pages: number, kind: number, allocClass: number, count: number): number[] {
  const claimed: number[] = [];
  acquireLock(t.i32, t.lockId, t.canBlock);
  try {
    for (let i = 0; i < count; i++) {
      const base = claimSpan(t.arena, pages, kind, allocClass, t.slot);
      if (base === 0) break;
      claimed.push(base);
    }
  } finally {
    releaseLock(t.i32, t.lockId);
  }
  if (claimed.length > 0 && (claimed[claimed.length - 1]! >>> 2) + pages * PAGE_WORDS > t.viewWords) t.syncViews();
  return claimed;
}

export const REFILL_OK = 0;
export const REFILL_EMPTY = 1; // the page pool is empty: collect or grow, then call again
export const REFILL_STRESS = 2; // gcInterval allocations since the last collection: collect
export const REFILL_MINOR = 3; // the young budget is used up: a minor collection, then call again

/**
 * Gives the TLAB of `allocClass` a new run with room for at least one block, or says why
 * not (REFILL_*); the caller collects or grows and calls again.
 */
export function refillTlab(t: Thread, allocClass: number): number {
  const tl = t.ctl + W_TLAB + allocClass * TLAB_WORDS;
  const prevStart = t.u32[tl + TLAB_START]!;
  retireTlab(t.u32, t.f32, tl);
  if (t.gcInterval !== 0 && t.stressLeft <= 0) return REFILL_STRESS;
  if (t.minorDue) {
    t.minorDue = false;
    // Another thread may have collected since this one's flush.
    if (Atomics.load(t.u32, G_YOUNG_KIB) >= t.u32[G_YOUNG_BUDGET_KIB]!) return REFILL_MINOR;
  }
  if (prevStart !== 0 && takeRun(t, tl, spanOf(t.u32, prevStart))) return REFILL_OK;
  for (;;) {
    const partial = popCentral(t, G_CENTRAL + allocClass);
    if (partial === 0) break;
    if (takeRun(t, tl, partial)) return REFILL_OK;
  }
  const fresh = freshSmallSpan(t, allocClass);
  if (fresh !== 0 && takeRun(t, tl, fresh)) return REFILL_OK;
  for (;;) {
    const partial = popCentral(t, G_CENTRAL_OLD + allocClass);
    if (partial === 0) break;
    if (takeRun(t, tl, partial)) return REFILL_OK;
  }
  return REFILL_EMPTY;
}

/** Forgets this thread's spares if a collection has begun since they were claimed. */
function dropStaleSpares(t: Thread): void {
  const started = Atomics.load(t.i32, G_GC_STARTED);
  if (t.sparesGc !== started) {
    t.spareSpans.length = 0;
    t.sparesGc = started;
  }
}

/** Pages of fresh small spans a thread claims under one acquisition of the heap lock. */
const CLAIM_BATCH_PAGES = 8;

/**
 * A fresh span of `allocClass`, from this thread's spares or from the pool, or 0. Spans are
 * claimed CLAIM_BATCH_PAGES at a time, so that two workers allocating at once take the heap
 * lock (and the bitmap and page-table lines under it) a few times less often. Spares need
 * no bookkeeping at a collection: they are empty spans, which the sweep frees, so a thread
 * drops its spares once G_GC_STARTED has moved.
 */
function freshSmallSpan(t: Thread, allocClass: number): number {
  dropStaleSpares(t);
  const spares = t.spareSpans[allocClass];
  if (spares !== undefined && spares.length > 0) return spares.pop()!;
  const pages = CLASS_SPAN_PAGES[allocClass % NUM_SIZE_CLASSES]!;
  const claimed = claimSpans(t, pages, PK_SMALL_HEAD, allocClass, Math.max(1, Math.floor(CLAIM_BATCH_PAGES / pages)));
  if (claimed.length === 0) return 0;
  // Claimed lowest address first; kept so that pop() hands out the next lowest.
  t.spareSpans[allocClass] = claimed.slice(1).reverse();
  return claimed[0]!;
}

/** Pages of a large span holding `bytes` (header included). */
export function largeSpanPages(bytes: number): number {
  return Math.ceil((SPAN_HEADER_BYTES + bytes) / PAGE_BYTES);
}

/**
 * Allocates a large object of `bytes` (header included) in a span of its own, or returns 0
 * when the pool has no run long enough. Its header word (and an array's length word) are
 * written before its allocated bit is set, so a thread killed in between leaves a span the
 * sweep frees.
 */
export function allocLarge(t: Thread, bytes: number, header: number, length: number, isArray: boolean): number {
  const pages = largeSpanPages(bytes);
  const claimed = claimSpans(t, pages, PK_LARGE_HEAD, 0, 1);
  if (claimed.length === 0) return 0;
  const base = claimed[0]!;
  if (faultHook !== null) faultHook(FP_LARGE_CLAIMED);
  const u32 = t.u32;
  const bw = base >>> 2;
  u32[bw + S_BLOCK_BYTES] = bytes;
  const ref = base + SPAN_HEADER_BYTES;
  u32[ref >>> 2] = header;
  if (isArray) u32[(ref >>> 2) + 1] = length;
  Atomics.store(u32, bw + S_ALLOC, 1);
  countAlloc(t, pages * PAGE_BYTES, false);
  return ref;
}

/** A span for the runtime's own use (SYS_ROOT_STACK or SYS_HANDLE_CHUNK), or 0; never traced. */
export function allocSystemSpan(t: Thread, bytes: number, systemClass: number): number {
  const pages = largeSpanPages(bytes);
  const claimed = claimSpans(t, pages, PK_SYSTEM_HEAD, systemClass, 1);
  if (claimed.length === 0) return 0;
  t.u32[(claimed[0]! >>> 2) + S_BLOCK_BYTES] = bytes;
  return claimed[0]!;
}
