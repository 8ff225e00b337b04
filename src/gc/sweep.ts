// Sweeping, in two phases, both driven by the page table in address order.
//
// Phase 1 (`findFinalizable`) looks only at spans that can hold finalizable objects (the
// finalizable twins of the size classes, and large objects of finalizable types). Each dead
// object whose finalizer has not run is marked again, with everything it reaches, and
// handed to the caller to queue.
//
// Phase 2 (`sweepSpans`) frees everything else by bitmap arithmetic, per span:
//   allocated &= mark;  dirty &= allocated;  mark = 0
// A span left empty returns to the pool; a span left partly free joins the central list of
// its class (appended, so the lists run in address order); a span of a dead worker is
// flagged orphan. No list is iterated while the loop changes it: the page table is walked by
// index, and the central lists are rebuilt from empty.

import {
  G_CENTRAL, HDR_FINALIZED, HDR_TYPE_MASK, MAX_WORKERS, NUM_ALLOC_CLASSES, PAGE_LOG, PAGE_TABLE_WORD, PI_CLASS_MASK,
  PI_CLASS_SHIFT, PI_KIND_MASK, PI_ORPHAN, PI_OWNER_SHIFT, PK_FREE, PK_HEADER, PK_LARGE_HEAD, PK_SMALL_HEAD,
  PT_INFO, PT_SPAN, PT_WORDS, SPAN_HEADER_BYTES, S_ALLOC, S_BLOCK_BYTES, S_DIRTY, S_MARK, S_NEXT, S_PAGES,
  S_SCAN, S_SLOTS, TF_FINALIZE, TYPE_TABLE_WORD, TYPE_WORDS, T_KIND, BITMAP_WORDS, ZAP_WORD, NO_OWNER, SYS_ROOT_STACK,
} from '../heap/layout.js';
import { NUM_SIZE_CLASSES } from '../heap/sizeclasses.js';
import { popcount, releaseSpan } from '../heap/pagepool.js';
import type { Arena } from '../heap/arena.js';
import type { Marker } from './mark.js';

export interface SweepResult {
  freedObjects: number;
  freedBytes: number;
  liveBytes: number;
  liveObjects: number;
}

function isFinalizableType(u32: Uint32Array, header: number): boolean {
  return ((u32[TYPE_TABLE_WORD + (header & HDR_TYPE_MASK) * TYPE_WORDS + T_KIND]! >>> 16) & TF_FINALIZE) !== 0;
}

/**
 * Phase 1: resurrects dead, not yet finalized objects of finalizable types. Calls
 * `queue(ref, ownerSlot)` for each; returns how many. The caller drains the marker after.
 */
export function findFinalizable(arena: Arena, committedPages: number, marker: Marker, queue: (ref: number, owner: number) => boolean): number {
  const u32 = arena.u32;
  let found = 0;
  for (let p = arena.layout.headerPages; p < committedPages; ) {
    const info = u32[PAGE_TABLE_WORD + p * PT_WORDS + PT_INFO]!;
    const kind = info & PI_KIND_MASK;
    if (kind !== PK_SMALL_HEAD && kind !== PK_LARGE_HEAD) { p++; continue; }
    const base = u32[PAGE_TABLE_WORD + p * PT_WORDS + PT_SPAN]!;
    const bw = base >>> 2;
    p += Math.max(1, u32[bw + S_PAGES]!);
    const cls = (info >>> PI_CLASS_SHIFT) & PI_CLASS_MASK;
    if (kind === PK_SMALL_HEAD && cls < NUM_SIZE_CLASSES) continue;
    const block = u32[bw + S_BLOCK_BYTES]!;
    const owner = info >>> PI_OWNER_SHIFT;
    for (let w = 0; w < BITMAP_WORDS; w++) {
      let dead = (u32[bw + S_ALLOC + w]! & ~u32[bw + S_MARK + w]!) | 0;
      while (dead !== 0) {
        const bit = dead & -dead;
        dead ^= bit;
        const slot = (w << 5) + (31 - Math.clz32(bit));
        const ref = kind === PK_LARGE_HEAD ? base + SPAN_HEADER_BYTES : base + SPAN_HEADER_BYTES + slot * block;
        const header = u32[ref >>> 2]!;
        if ((header & HDR_FINALIZED) !== 0 || !isFinalizableType(u32, header)) continue;
        if (!queue(ref, owner)) continue;
        u32[ref >>> 2] = (header | HDR_FINALIZED) >>> 0;
        marker.mark(ref);
        found++;
      }
    }
  }
  return found;
}

/** Phase 2. `deadWorkers[slot]` is 1 for workers whose spans become orphans. */
export function sweepSpans(arena: Arena, committedPages: number, deadWorkers: Uint8Array, zap: boolean): SweepResult {
  const u32 = arena.u32;
  const result: SweepResult = { freedObjects: 0, freedBytes: 0, liveBytes: 0, liveObjects: 0 };
  const tails = new Uint32Array(NUM_ALLOC_CLASSES);
  for (let c = 0; c < NUM_ALLOC_CLASSES; c++) u32[G_CENTRAL + c] = 0;

  for (let p = arena.layout.headerPages; p < committedPages; ) {
    const pt = PAGE_TABLE_WORD + p * PT_WORDS;
    const info = u32[pt + PT_INFO]!;
    const kind = info & PI_KIND_MASK;
    if (kind === PK_FREE || kind === PK_HEADER) { p++; continue; }
    const base = u32[pt + PT_SPAN]!;
    const bw = base >>> 2;
    const pages = Math.max(1, u32[bw + S_PAGES]!); // claimSpan writes it before publishing the span
    const owner = info >>> PI_OWNER_SHIFT;
    const orphan = owner < MAX_WORKERS && deadWorkers[owner] === 1;

    if (kind === PK_SMALL_HEAD) {
      const block = u32[bw + S_BLOCK_BYTES]!;
      let live = 0;
      let freed = 0;
      for (let w = 0; w < BITMAP_WORDS; w++) {
        const a = u32[bw + S_ALLOC + w]!;
        const m = u32[bw + S_MARK + w]!;
        const keep = a & m;
        if (zap && a !== keep) zapSlots(u32, base, block, w, (a & ~m) | 0);
        u32[bw + S_ALLOC + w] = keep;
        u32[bw + S_DIRTY + w] = u32[bw + S_DIRTY + w]! & keep;
        u32[bw + S_MARK + w] = 0;
        live += popcount(keep);
        freed += popcount((a & ~m) | 0);
      }
      result.freedObjects += freed;
      result.freedBytes += freed * block;
      result.liveObjects += live;
      result.liveBytes += live * block;
      u32[bw + S_SCAN] = 0;
      u32[bw + S_NEXT] = 0;
      if (live === 0) {
        releaseSpan(arena, base, pages);
      } else {
        if (orphan) flagOrphan(u32, p, pages);
        if (live < u32[bw + S_SLOTS]!) {
          const cls = (info >>> PI_CLASS_SHIFT) & PI_CLASS_MASK;
          if (tails[cls] === 0) u32[G_CENTRAL + cls] = base;
          else u32[(tails[cls]! >>> 2) + S_NEXT] = base;
          tails[cls] = base;
        }
      }
    } else if (kind === PK_LARGE_HEAD) {
      const alive = (u32[bw + S_ALLOC]! & u32[bw + S_MARK]! & 1) !== 0;
      u32[bw + S_MARK] = 0;
      if (alive) {
        result.liveObjects++;
        result.liveBytes += pages << PAGE_LOG;
        if (orphan) flagOrphan(u32, p, pages);
      } else {
        if (u32[bw + S_ALLOC] !== 0) {
          result.freedObjects++;
          result.freedBytes += u32[bw + S_BLOCK_BYTES]!;
        }
        releaseSpan(arena, base, pages);
      }
    } else {
      // System spans: a root stack whose worker outgrew it (no owner) or died is freed here;
      // live root stacks and handle chunks stay.
      const cls = (info >>> PI_CLASS_SHIFT) & PI_CLASS_MASK;
      if (cls === SYS_ROOT_STACK && (owner === NO_OWNER || orphan)) releaseSpan(arena, base, pages);
      else result.liveBytes += pages << PAGE_LOG;
    }
    p += pages;
  }
  return result;
}

function flagOrphan(u32: Uint32Array, first: number, pages: number): void {
  for (let p = first; p < first + pages; p++) {
    const pt = PAGE_TABLE_WORD + p * PT_WORDS + PT_INFO;
    u32[pt] = (u32[pt]! | PI_ORPHAN) >>> 0;
  }
}

function zapSlots(u32: Uint32Array, base: number, block: number, w: number, dead: number): void {
  while (dead !== 0) {
    const bit = dead & -dead;
    dead ^= bit;
    const slot = (w << 5) + (31 - Math.clz32(bit));
    const word = (base + SPAN_HEADER_BYTES + slot * block) >>> 2;
    u32.fill(ZAP_WORD, word, word + (block >>> 2));
  }
}

/** Clears every mark bit: needed only when a collector died in the middle of a pause. */
export function clearAllMarks(arena: Arena, committedPages: number): void {
  const u32 = arena.u32;
  for (let p = arena.layout.headerPages; p < committedPages; ) {
    const pt = PAGE_TABLE_WORD + p * PT_WORDS;
    const kind = u32[pt + PT_INFO]! & PI_KIND_MASK;
    if (kind !== PK_SMALL_HEAD && kind !== PK_LARGE_HEAD) { p++; continue; }
    const bw = u32[pt + PT_SPAN]! >>> 2;
    u32.fill(0, bw + S_MARK, bw + S_MARK + BITMAP_WORDS);
    p += Math.max(1, u32[bw + S_PAGES]!);
  }
}
