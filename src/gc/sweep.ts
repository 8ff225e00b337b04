// Sweeping, in two phases, both driven by the span walker in address order.
//
// Phase 1 (`findFinalizable`) looks only at spans that can hold finalizable objects (the
// finalizable twins of the size classes, and large objects of finalizable types). Each dead
// object whose finalizer has not run is marked again, with everything it reaches, and
// handed to the caller to queue.
//
// Phase 2 (`sweepSpans`) frees everything else by bitmap arithmetic, per span:
//   allocated &= mark;  dirty &= allocated;  mark = 0
// parameterised by what it does with the dead (DEAD_*): free them at once, or (checked mode)
// zap their header and keep them allocated for one more collection, so that a stale ref
// fails as collected instead of reading whatever the slot holds next; a slot zapped by the
// previous collection is freed. A span left empty returns to the pool; a span left partly
// free joins the central list of its class (appended, so the lists run in address order). No list is iterated while the
// loop changes it: the page table is walked by index, and the central lists are rebuilt
// from empty. Both phases are restartable: a collector killed half-way leaves spans either
// swept or not, and the next pause (after recover.ts cleared the marks) sweeps them again.

import {
  BITMAP_WORDS, G_CENTRAL, HDR_FINALIZED, HDR_TYPE_MASK, NUM_ALLOC_CLASSES, PK_LARGE_HEAD, PK_SMALL_HEAD,
  PAGE_BYTES, SPAN_HEADER_BYTES, S_ALLOC, S_BLOCK_BYTES, S_DIRTY, S_MARK, S_NEXT, S_QUARANTINED, S_SCAN, S_SLOTS, TF_FINALIZE,
  TYPE_TABLE_WORD, TYPE_WORDS, T_KIND, ZAP_WORD,
} from '../heap/layout.js';
import { NUM_SIZE_CLASSES } from '../heap/sizeclasses.js';
import { releasePages } from '../heap/pagepool.js';
import { SpanWalker, WALK_SPAN, WALK_STRAY, infoClass, infoOwner, popcount } from '../heap/spans.js';
import type { Arena } from '../heap/arena.js';
import type { Marker } from './mark.js';
import { FP_SWEEP_SPAN, faultHook } from '../heap/faults.js';

export interface SweepResult {
  /** Objects found dead by this collection, and their bytes (quarantined ones included). */
  freedObjects: number;
  freedBytes: number;
  liveBytes: number;
  liveObjects: number;
  /** Bytes of dead objects kept one more collection (quarantine). */
  quarantinedBytes: number;
}

/** What phase 2 does with a dead object: bits that combine. */
export const DEAD_FREE = 0;
export const DEAD_QUARANTINE = 1; // zap the header, keep the slot until the next collection
export const DEAD_ZAP_BODY = 2; // fill the whole slot with ZAP_WORD

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
        if (header === ZAP_WORD || (header & HDR_FINALIZED) !== 0 || !isFinalizableType(u32, header)) continue;
        if (!sink.queue(ref, owner)) {
          // No room for its queue entry in this pause: keep it, unfinalized, for the next one.
          marker.mark(ref);
          continue;
        }
        u32[ref >>> 2] = (header | HDR_FINALIZED) >>> 0;
        marker.mark(ref);
        found++;
      }
    }
  }
  return found;
}

/** Phase 2. `dead` is a combination of DEAD_* saying what becomes of dead objects. */
export function sweepSpans(arena: Arena, walker: SpanWalker, dead: number): SweepResult {
  const u32 = arena.u32;
  const result: SweepResult = { freedObjects: 0, freedBytes: 0, liveBytes: 0, liveObjects: 0, quarantinedBytes: 0 };
  const tails = new Uint32Array(NUM_ALLOC_CLASSES);
  for (let c = 0; c < NUM_ALLOC_CLASSES; c++) u32[G_CENTRAL + c] = 0;
  const quarantine = (dead & DEAD_QUARANTINE) !== 0;
  const zapBody = (dead & DEAD_ZAP_BODY) !== 0;

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
      let held = 0;
      let died = 0;
      for (let w = 0; w < BITMAP_WORDS; w++) {
        const a = u32[bw + S_ALLOC + w]!;
        const m = u32[bw + S_MARK + w]!;
        let keep = a & m;
        const gone = (a & ~m) | 0;
        live += popcount(keep);
        if (gone !== 0) {
          if (quarantine) {
            const kept = quarantineSlots(u32, base, block, w, gone, zapBody);
            died += popcount(kept);
            held += popcount(kept);
            keep |= kept;
          } else {
            if (zapBody) zapSlots(u32, base, block, w, gone);
            died += popcount(gone);
          }
        }
        u32[bw + S_ALLOC + w] = keep;
        u32[bw + S_DIRTY + w] = u32[bw + S_DIRTY + w]! & keep;
        u32[bw + S_MARK + w] = 0;
      }
      if (!quarantine) held = 0;
      result.freedObjects += died;
      result.freedBytes += died * block;
      result.liveObjects += live;
      result.liveBytes += live * block;
      result.quarantinedBytes += held * block;
      u32[bw + S_SCAN] = 0;
      u32[bw + S_NEXT] = 0;
      u32[bw + S_QUARANTINED] = held;
      if (live + held === 0) {
        releasePages(arena, walker.page, pages);
      } else if (live + held < u32[bw + S_SLOTS]!) {
        const cls = infoClass(walker.info);
        if (tails[cls] === 0) u32[G_CENTRAL + cls] = base;
        else u32[(tails[cls]! >>> 2) + S_NEXT] = base;
        tails[cls] = base;
      }
    } else if (walker.kind === PK_LARGE_HEAD) {
      const allocated = (u32[bw + S_ALLOC]! & 1) !== 0;
      const alive = allocated && (u32[bw + S_MARK]! & 1) !== 0;
      u32[bw + S_MARK] = 0;
      u32[bw + S_QUARANTINED] = 0;
      const ref = base + SPAN_HEADER_BYTES;
      if (alive) {
        result.liveObjects++;
        result.liveBytes += pages * PAGE_BYTES;
      } else if (allocated && quarantine && u32[ref >>> 2] !== ZAP_WORD) {
        result.freedObjects++;
        result.freedBytes += u32[bw + S_BLOCK_BYTES]!;
        result.quarantinedBytes += pages * PAGE_BYTES;
        u32[bw + S_QUARANTINED] = 1;
        if (zapBody) u32.fill(ZAP_WORD, ref >>> 2, (ref + u32[bw + S_BLOCK_BYTES]!) >>> 2);
        else u32[ref >>> 2] = ZAP_WORD;
      } else {
        if (allocated && !quarantine) {
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

/**
 * Quarantine of the dead slots `gone` of bitmap word `w`: a slot zapped by the last
 * collection is let go; the others are zapped and returned, to stay allocated.
 */
function quarantineSlots(u32: Uint32Array, base: number, block: number, w: number, gone: number, zapBody: boolean): number {
  let kept = 0;
  while (gone !== 0) {
    const bit = gone & -gone;
    gone ^= bit;
    const word = (base + SPAN_HEADER_BYTES + ((w << 5) + (31 - Math.clz32(bit))) * block) >>> 2;
    if (u32[word] === ZAP_WORD) continue;
    if (zapBody) u32.fill(ZAP_WORD, word, word + (block >>> 2));
    else u32[word] = ZAP_WORD;
    kept |= bit;
  }
  return kept;
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
