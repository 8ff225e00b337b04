// Sweeping, in two phases, both driven by the span walker in address order.
//
// Phase 1 (`findFinalizable`) looks only at spans that can hold finalizable objects (the
// finalizable twins of the size classes, and large objects of finalizable types). Each dead
// object whose finalizer has not run is marked again, with everything it reaches, and
// handed to the caller to queue.
//
// Phase 2 (`sweepSpans`) frees everything else by bitmap arithmetic, per span:
//   allocated &= mark;  dirty &= allocated;  mark = 0
// A span left empty returns to the pool; a span left partly free joins the central list of
// its class (appended, so the lists run in address order). No list is iterated while the
// loop changes it: the page table is walked by index, and the central lists are rebuilt
// from empty. Both phases are restartable: a collector killed half-way leaves spans either
// swept or not, and the next pause (after recover.ts cleared the marks) sweeps them again.

import {
  BITMAP_WORDS, G_CENTRAL, HDR_FINALIZED, HDR_TYPE_MASK, NUM_ALLOC_CLASSES, PK_LARGE_HEAD, PK_SMALL_HEAD,
  PAGE_BYTES, SPAN_HEADER_BYTES, S_ALLOC, S_BLOCK_BYTES, S_DIRTY, S_MARK, S_NEXT, S_SCAN, S_SLOTS, TF_FINALIZE,
  TYPE_TABLE_WORD, TYPE_WORDS, T_KIND, ZAP_WORD,
} from '../heap/layout.js';
import { NUM_SIZE_CLASSES } from '../heap/sizeclasses.js';
import { releasePages } from '../heap/pagepool.js';
import { SpanWalker, WALK_SPAN, WALK_STRAY, infoClass, infoOwner, popcount } from '../heap/spans.js';
import type { Arena } from '../heap/arena.js';
import type { Marker } from './mark.js';
import { FP_SWEEP_SPAN, faultHook } from '../heap/faults.js';

export interface SweepResult {
  freedObjects: number;
  freedBytes: number;
  liveBytes: number;
  liveObjects: number;
}

function isFinalizableType(u32: Uint32Array, header: number): boolean {
  return ((u32[TYPE_TABLE_WORD + (header & HDR_TYPE_MASK) * TYPE_WORDS + T_KIND]! >>> 16) & TF_FINALIZE) !== 0;
}

/** Receives each object phase 1 finds; returns false when it could not queue it (it stays unfinalized). */
export interface FinalizableSink {
  queue(ref: number, owner: number): boolean;
}

/**
 * Phase 1: resurrects dead, not yet finalized objects of finalizable types, handing each to
 * `sink`. Returns how many it queued. The caller drains the marker after.
 */
export function findFinalizable(arena: Arena, walker: SpanWalker, marker: Marker, sink: FinalizableSink): number {
  const u32 = arena.u32;
  let found = 0;
  walker.reset(u32, arena.layout.headerPages);
  while (walker.next()) {
    const kind = walker.kind;
    if (walker.what !== WALK_SPAN || (kind !== PK_SMALL_HEAD && kind !== PK_LARGE_HEAD)) continue;
    if (kind === PK_SMALL_HEAD && infoClass(walker.info) < NUM_SIZE_CLASSES) continue;
    const base = walker.base;
    const bw = base >>> 2;
    const block = u32[bw + S_BLOCK_BYTES]!;
    const owner = infoOwner(walker.info);
    for (let w = 0; w < BITMAP_WORDS; w++) {
      let dead = (u32[bw + S_ALLOC + w]! & ~u32[bw + S_MARK + w]!) | 0;
      while (dead !== 0) {
        const bit = dead & -dead;
        dead ^= bit;
        const slot = (w << 5) + (31 - Math.clz32(bit));
        const ref = kind === PK_LARGE_HEAD ? base + SPAN_HEADER_BYTES : base + SPAN_HEADER_BYTES + slot * block;
        const header = u32[ref >>> 2]!;
        if ((header & HDR_FINALIZED) !== 0 || !isFinalizableType(u32, header)) continue;
        if (!sink.queue(ref, owner)) continue;
        u32[ref >>> 2] = (header | HDR_FINALIZED) >>> 0;
        marker.mark(ref);
        found++;
      }
    }
  }
  return found;
}

/** Phase 2. `zap` fills freed slots with ZAP_WORD. */
export function sweepSpans(arena: Arena, walker: SpanWalker, zap: boolean): SweepResult {
  const u32 = arena.u32;
  const result: SweepResult = { freedObjects: 0, freedBytes: 0, liveBytes: 0, liveObjects: 0 };
  const tails = new Uint32Array(NUM_ALLOC_CLASSES);
  for (let c = 0; c < NUM_ALLOC_CLASSES; c++) u32[G_CENTRAL + c] = 0;

  walker.reset(u32, arena.layout.headerPages);
  while (walker.next()) {
    if (walker.what === WALK_STRAY) {
      releasePages(arena, walker.page, 1); // recover.ts frees strays first; a pause frees any left
      continue;
    }
    if (walker.what !== WALK_SPAN) continue;
    if (faultHook !== null) faultHook(FP_SWEEP_SPAN);
    const base = walker.base;
    const bw = base >>> 2;
    const pages = walker.pages;
    if (walker.kind === PK_SMALL_HEAD) {
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
        releasePages(arena, walker.page, pages);
      } else if (live < u32[bw + S_SLOTS]!) {
        const cls = infoClass(walker.info);
        if (tails[cls] === 0) u32[G_CENTRAL + cls] = base;
        else u32[(tails[cls]! >>> 2) + S_NEXT] = base;
        tails[cls] = base;
      }
    } else if (walker.kind === PK_LARGE_HEAD) {
      const alive = (u32[bw + S_ALLOC]! & u32[bw + S_MARK]! & 1) !== 0;
      u32[bw + S_MARK] = 0;
      if (alive) {
        result.liveObjects++;
        result.liveBytes += pages * PAGE_BYTES;
      } else {
        if (u32[bw + S_ALLOC] !== 0) {
          result.freedObjects++;
          result.freedBytes += u32[bw + S_BLOCK_BYTES]!;
        }
        releasePages(arena, walker.page, pages);
      }
    } else {
      // System spans that recover.ts did not free are live: root-stack and handle chunks.
      result.liveBytes += pages * PAGE_BYTES;
    }
  }
  return result;
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
