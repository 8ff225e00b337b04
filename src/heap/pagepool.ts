// The global page pool: a bitmap with one bit per page (1 = free), beside the page table.
//
// Concurrency contract: claim and grow run under the heap lock (or inside a pause); release
// runs inside a pause (or under the lock, for spans only their releaser can reach). The bitmap and the free count are derived from the page table: every
// pause rebuilds them (`rebuildFreeBitmap`), so a lock holder killed between two stores leaves
// at worst pages nobody can claim until the next pause. Page-table entries follow the
// publish/retire protocol of spans.ts, so a kill leaves strays, never a head over missing tails.
//
// Free pages are handed out lowest address first: recycled pages are cold, and packing the
// heap low keeps the working set small.

import type { Arena } from './arena.js';
import {
  G_COMMITTED_PAGES, G_FREE_PAGES, G_POOL_HINT, PAGE_WORDS, PI_CLEAN, PI_KIND_MASK, PK_FREE, PK_LARGE_HEAD,
  PK_SMALL_HEAD, PT_INFO, PT_SPAN, PT_WORDS, SPAN_HEADER_WORDS, S_BLOCK_BYTES, S_INV_F32, S_PAGES, S_SCAN, S_SLOTS, SCAN_WRITTEN_SHIFT,
} from './layout.js';
import { CLASS_BLOCK_BYTES, CLASS_SLOTS, NUM_SIZE_CLASSES } from './sizeclasses.js';
import { blockReciprocal, headInfo, pageAddr, popcount, publishSpan, remsetRemoveAtomic, retirePages } from './spans.js';
import { FP_CLAIM_CLEARED, FP_RETIRE_HEAD, faultHook } from './faults.js';

/**
 * Claims `pages` consecutive free pages as one span of `headKind` (class `cls`, owner
 * `owner`). Returns its byte address, or 0 when no run is free. The span comes back with its
 * header zeroed and its shape written (S_PAGES, a small span's geometry) before it is
 * published. Caller holds the heap lock.
 */
export function claimSpan(arena: Arena, pages: number, headKind: number, cls: number, owner: number): number {
  const { u32 } = arena;
  const { freeBitmapWord, freeBitmapWords } = arena.layout;
  const committed = Atomics.load(u32, G_COMMITTED_PAGES);
  const hint = u32[G_POOL_HINT]!;
  let first = -1;
  if (pages === 1) {
    for (let w = hint; w < freeBitmapWords; w++) {
      const bits = u32[freeBitmapWord + w]!;
      if (bits !== 0) {
        first = (w << 5) + (31 - Math.clz32(bits & -bits));
        if (first >= committed) first = -1;
        else u32[G_POOL_HINT] = w;
        break;
      }
    }
  } else {
    let run = 0;
    for (let p = hint << 5; p < committed; p++) {
      const w = p >>> 5;
      const bits = u32[freeBitmapWord + w]!;
      if (bits === 0) { run = 0; p = (w << 5) + 31; continue; }
      if ((bits >>> (p & 31)) & 1) {
        if (++run === pages) { first = p - pages + 1; break; }
      } else run = 0;
    }
  }
  if (first < 0) return 0;

  const base = pageAddr(first);
  // The run may lie in memory another thread added by growing the arena; the page table
  // and bitmap are in the header, always in view, but the span itself is written below.
  if (pageAddr(first + pages) > arena.viewBytes) arena.refresh();
  const { pageTableWord } = arena.layout;
  let dirty = false;
  for (let p = first; p < first + pages; p++) {
    u32[freeBitmapWord + (p >>> 5)] = u32[freeBitmapWord + (p >>> 5)]! & ~(1 << (p & 31));
    const pt = pageTableWord + p * PT_WORDS + PT_INFO;
    const info = u32[pt]!;
    // The clean flag goes before anything is written to the page: a claim killed after
    // writing leaves a free page that the next claim zeroes.
    if ((info & PI_CLEAN) === 0) dirty = true;
    else u32[pt] = info & ~PI_CLEAN;
  }
  Atomics.sub(u32, G_FREE_PAGES, pages);
  if (faultHook !== null) faultHook(FP_CLAIM_CLEARED);
  const word = base >>> 2;
  const body = arena.u32; // covers the span (refreshed above)
  // A small span's slots are zeroed run by run as they become TLABs (allocator.ts), so
  // only its header needs clearing here; other spans are zeroed whole.
  if (dirty) zeroWords(body, word, word + (headKind === PK_SMALL_HEAD ? SPAN_HEADER_WORDS : pages * PAGE_WORDS));
  body[word + S_PAGES] = pages;
  if (headKind === PK_SMALL_HEAD) initSmallSpan(arena, base, cls % NUM_SIZE_CLASSES, dirty);
  else if (headKind === PK_LARGE_HEAD) body[word + S_SLOTS] = 1;
  publishSpan(u32, base, pages, headInfo(headKind, cls, owner));
  return base;
}

/** Writes a fresh small span's header: its slots then form one free run, all of it to be
 *  zeroed as it is handed out if any page was used before, none of it otherwise. */
function initSmallSpan(arena: Arena, base: number, sizeClass: number, dirty: boolean): void {
  const bw = base >>> 2;
  const block = CLASS_BLOCK_BYTES[sizeClass]!;
  const slots = CLASS_SLOTS[sizeClass]!;
  arena.u32[bw + S_BLOCK_BYTES] = block;
  arena.u32[bw + S_SLOTS] = slots;
  arena.u32[bw + S_SCAN] = dirty ? slots << SCAN_WRITTEN_SHIFT : 0;
  arena.f32[bw + S_INV_F32] = blockReciprocal(block);
}

// A page of zeros in ordinary (unshared) memory: `set` from it zeroes shared memory twice as
// fast as `fill` on the shared view, which V8 writes element by element.
const ZERO_PAGE = new Uint32Array(PAGE_WORDS);

/** Zeroes words [from, to) of the arena. */
export function zeroWords(u32: Uint32Array, from: number, to: number): void {
  for (let w = from; w < to; w += PAGE_WORDS) {
    const n = Math.min(PAGE_WORDS, to - w);
    u32.set(n === PAGE_WORDS ? ZERO_PAGE : ZERO_PAGE.subarray(0, n), w);
  }
}

/**
 * Returns pages [first, first + pages) to the pool (a span, or a stray tail): the page
 * table is retired head first, then the bitmap is set. Inside a pause, or under the heap
 * lock for spans no other thread can reach (a detaching worker's root-stack chunks).
 */
export function releasePages(arena: Arena, first: number, pages: number): void {
  const { u32 } = arena;
  const { freeBitmapWord, remsetWord } = arena.layout;
  retirePages(u32, first, 1);
  if (faultHook !== null && pages > 1) faultHook(FP_RETIRE_HEAD);
  retirePages(u32, first + 1, pages - 1);
  for (let p = first; p < first + pages; p++) {
    u32[freeBitmapWord + (p >>> 5)] = u32[freeBitmapWord + (p >>> 5)]! | (1 << (p & 31));
  }
  remsetRemoveAtomic(u32, remsetWord, first); // detach releases outside a pause
  Atomics.add(u32, G_FREE_PAGES, pages);
  const w = first >>> 5;
  if (w < u32[G_POOL_HINT]!) u32[G_POOL_HINT] = w;
}

/**
 * Grows the buffer to hold `toPages` pages (never beyond the maximum), marking the new pages
 * free and clean. Returns the pages added. Caller holds the heap lock or runs in a pause.
 */
export function growArena(arena: Arena, toPages: number): number {
  const { maxPages, pageTableWord, freeBitmapWord } = arena.layout;
  const committed = Atomics.load(arena.u32, G_COMMITTED_PAGES);
  const target = Math.min(maxPages, toPages);
  if (target <= committed) return 0;
  if (arena.buffer.byteLength < pageAddr(target)) arena.buffer.grow(pageAddr(target));
  arena.refresh();
  const { u32 } = arena;
  for (let p = committed; p < target; p++) {
    const pt = pageTableWord + p * PT_WORDS;
    u32[pt + PT_SPAN] = 0;
    u32[pt + PT_INFO] = PK_FREE | PI_CLEAN;
    u32[freeBitmapWord + (p >>> 5)] = u32[freeBitmapWord + (p >>> 5)]! | (1 << (p & 31));
  }
  Atomics.add(u32, G_FREE_PAGES, target - committed);
  Atomics.store(u32, G_COMMITTED_PAGES, target);
  const w = committed >>> 5;
  if (w < u32[G_POOL_HINT]!) u32[G_POOL_HINT] = w;
  return target - committed;
}

/** Recomputes the free bitmap, the free count and the hint from the page table. Pause only. */
export function rebuildFreeBitmap(arena: Arena): number {
  const { u32 } = arena;
  const { freeBitmapWord, freeBitmapWords, pageTableWord } = arena.layout;
  const committed = Atomics.load(u32, G_COMMITTED_PAGES);
  let free = 0;
  let hint = -1;
  for (let w = 0; w < freeBitmapWords; w++) {
    let bits = 0;
    const end = Math.min(32, committed - (w << 5));
    for (let b = 0; b < end; b++) {
      const p = (w << 5) + b;
      if ((u32[pageTableWord + p * PT_WORDS + PT_INFO]! & PI_KIND_MASK) === PK_FREE) bits |= 1 << b;
    }
    u32[freeBitmapWord + w] = bits;
    if (bits !== 0) {
      if (hint < 0) hint = w;
      free += popcount(bits);
    }
  }
  Atomics.store(u32, G_FREE_PAGES, free);
  u32[G_POOL_HINT] = hint < 0 ? 0 : hint;
  return free;
}
