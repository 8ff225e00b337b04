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
  AGE_PROMOTING, BITMAP_WORDS, G_CENTRAL, G_CENTRAL_OLD, G_COMMITTED_PAGES, PI_OLD, S_AGE, HDR_FINALIZED, HDR_TYPE_MASK, NUM_ALLOC_CLASSES, PK_LARGE_HEAD, PK_SMALL_HEAD,
  NO_OWNER, PAGE_BYTES, SPAN_HEADER_BYTES, S_ALLOC, S_BLOCK_BYTES, S_DIRTY, S_MARK, S_NEXT, S_QUARANTINED, S_SCAN, S_SLOTS, SCAN_SLOT_MASK, TF_FINALIZE,
  TYPE_TABLE_WORD, TYPE_WORDS, T_KIND, ZAP_WORD,
} from '../heap/layout.js';
import { NUM_SIZE_CLASSES } from '../heap/sizeclasses.js';
import { releasePages } from '../heap/pagepool.js';
import { SpanWalker, WALK_SPAN, WALK_STRAY, adoptSpan, infoClass, infoOwner, popcount, setSpanOld } from '../heap/spans.js';
import type { Arena } from '../heap/arena.js';
import type { Marker } from './mark.js';
import { FP_PROMOTED, FP_SWEEP_SPAN, faultHook } from '../heap/faults.js';


/** What phase 2 does with a dead object: bits that combine. */
export const DEAD_FREE = 0;
export const DEAD_QUARANTINE = 1; // zap the header, keep the slot until the next collection
export const DEAD_ZAP_BODY = 2; // fill the whole slot with ZAP_WORD

/** Whether the type named by an object's header was defined with { finalize: true }. */
export function isFinalizableType(u32: Uint32Array, header: number): boolean {
  return ((u32[TYPE_TABLE_WORD + (header & HDR_TYPE_MASK) * TYPE_WORDS + T_KIND]! >>> 16) & TF_FINALIZE) !== 0;
}

/** Receives each object phase 1 finds; returns false when it could not queue it (it stays unfinalized). */
export interface FinalizableSink {
  queue(ref: number, owner: number): boolean;
}

/**
 * Phase 1: resurrects dead, not yet finalized objects of finalizable types (in young spans
 * only, for a minor collection), handing each to `sink`. Returns how many it queued. The
 * caller drains the marker after.
 */
export function findFinalizable(arena: Arena, walker: SpanWalker, marker: Marker, sink: FinalizableSink, youngOnly: boolean): number {
  const u32 = arena.u32;
  let found = 0;
  walker.reset(u32, arena.layout.headerPages, Atomics.load(u32, G_COMMITTED_PAGES), youngOnly);
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

/** What a sweep does beyond freeing the dead. */
export interface SweepPlan {
  /** DEAD_* bits: what becomes of dead objects. */
  dead: number;
  /** A minor collection: young spans only; the old lists are kept, the young ones rebuilt. */
  minor: boolean;
  /** Generations are on: young survivors age and, dense and old enough, are promoted. */
  generational: boolean;
  /** Collections a dense young span's objects survive before the span turns old. */
  promoteAge: number;
  /** Minor: empty young spans kept on the young lists (warm, for the next allocations), in pages. */
  keepEmptyPages: number;
}

export interface SweepResult {
  /** Objects found dead by this collection, and their bytes (quarantined ones included). */
  freedObjects: number;
  freedBytes: number;
  liveBytes: number;
  liveObjects: number;
  /** Bytes of dead objects kept one more collection (quarantine). */
  quarantinedBytes: number;
  /** Live bytes in young spans (before promotion), and in old spans (major only). */
  youngLiveBytes: number;
  oldLiveBytes: number;
  /** Spans that turned old: their bases (in `promoted[0..promotedSpans)`), pages and live objects. */
  promotedSpans: number;
  promotedPages: number;
  promotedObjects: number;
  /** Pages of old spans after the sweep (major only: a minor leaves old spans alone). */
  oldPages: number;
}

/**
 * Phase 2, one object per thread, reused. Per span: free the dead (bitmap arithmetic), then
 * place the span: back to the pool when empty, on a central list when partly free, or — a
 * young span with survivors — age it: a span mostly full of survivors is withheld from
 * allocation so its age means what its objects survived, and promoted at `promoteAge`; a
 * sparse one goes back to the allocators and starts again at age 0.
 */
export class Sweeper {
  /** Bases of the spans promoted by the last sweep (valid up to result.promotedSpans). */
  promoted = new Uint32Array(1024);
  private readonly tails = new Uint32Array(NUM_ALLOC_CLASSES);
  private readonly oldTails = new Uint32Array(NUM_ALLOC_CLASSES);
  private u32: Uint32Array = new Uint32Array(0);
  private plan: SweepPlan = { dead: DEAD_FREE, minor: false, generational: false, promoteAge: 0, keepEmptyPages: 0 };
  private result: SweepResult = Sweeper.emptyResult();
  private keptEmpty = 0;

  private static emptyResult(): SweepResult {
    return {
      freedObjects: 0, freedBytes: 0, liveBytes: 0, liveObjects: 0, quarantinedBytes: 0, youngLiveBytes: 0, oldLiveBytes: 0,
      promotedSpans: 0, promotedPages: 0, promotedObjects: 0, oldPages: 0,
    };
  }

  sweep(arena: Arena, walker: SpanWalker, plan: SweepPlan): SweepResult {
    const u32 = arena.u32;
    this.u32 = u32;
    this.plan = plan;
    this.result = Sweeper.emptyResult();
    this.keptEmpty = 0;
    this.tails.fill(0);
    this.oldTails.fill(0);
    for (let c = 0; c < NUM_ALLOC_CLASSES; c++) {
      u32[G_CENTRAL + c] = 0;
      if (!plan.minor) u32[G_CENTRAL_OLD + c] = 0;
    }
    walker.reset(u32, arena.layout.headerPages, Atomics.load(u32, G_COMMITTED_PAGES), plan.minor);
    while (walker.next()) {
      if (walker.what === WALK_STRAY) {
        releasePages(arena, walker.page, 1); // recover.ts frees strays first; a pause frees any left
        continue;
      }
      if (walker.what !== WALK_SPAN) continue;
      if (faultHook !== null) faultHook(FP_SWEEP_SPAN);
      if (walker.kind === PK_SMALL_HEAD) this.sweepSmall(arena, walker.base, walker.page, walker.pages, walker.info);
      else if (walker.kind === PK_LARGE_HEAD) this.sweepLarge(arena, walker.base, walker.page, walker.pages, walker.info);
      else this.result.liveBytes += walker.pages * PAGE_BYTES; // root-stack and handle chunks recover.ts kept
    }
    return this.result;
  }

  private sweepSmall(arena: Arena, base: number, page: number, pages: number, info: number): void {
    const u32 = this.u32;
    const r = this.result;
    const bw = base >>> 2;
    const block = u32[bw + S_BLOCK_BYTES]!;
    const quarantine = (this.plan.dead & DEAD_QUARANTINE) !== 0;
    const zapBody = (this.plan.dead & DEAD_ZAP_BODY) !== 0;
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
          const n = popcount(kept);
          died += n;
          held += n;
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
    r.freedObjects += died;
    r.freedBytes += died * block;
    r.liveObjects += live;
    r.liveBytes += live * block;
    r.quarantinedBytes += held * block;
    u32[bw + S_SCAN] = u32[bw + S_SCAN]! & ~SCAN_SLOT_MASK; // the search restarts; the written mark stays
    u32[bw + S_NEXT] = 0;
    u32[bw + S_QUARANTINED] = held;
    const slots = u32[bw + S_SLOTS]!;
    const old = (info & PI_OLD) !== 0;
    if (old) {
      r.oldLiveBytes += live * block;
      if (live + held === 0) {
        releasePages(arena, page, pages);
        return;
      }
      r.oldPages += pages;
      if (live + held < slots) this.list(G_CENTRAL_OLD, this.oldTails, base, info);
      return;
    }
    r.youngLiveBytes += live * block;
    if (live + held === 0) {
      u32[bw + S_AGE] = 0;
      if (this.plan.minor && this.keptEmpty + pages <= this.plan.keepEmptyPages) {
        this.keptEmpty += pages;
        // Kept warm for whoever pops it next: it holds nothing, so it is nobody's orphan.
        adoptSpan(u32, base, NO_OWNER);
        this.list(G_CENTRAL, this.tails, base, info);
      } else {
        releasePages(arena, page, pages);
      }
      return;
    }
    // Density counts live objects only: slots quarantined by checked mode hold the dead.
    const dense = 2 * live >= slots;
    if (this.plan.generational && dense) {
      const age = u32[bw + S_AGE]! + 1;
      // A span still holding quarantined slots waits: promoted now, they would stay in the
      // old space (which minors do not sweep) until a major.
      if (age >= this.plan.promoteAge && held === 0) {
        this.promote(base, pages, live);
        if (live + held < slots) this.pushOld(base, info);
        return;
      }
      u32[bw + S_AGE] = age; // withheld: no new objects join the ones it is ageing
      return;
    }
    u32[bw + S_AGE] = 0;
    if (live + held < slots) this.list(G_CENTRAL, this.tails, base, info);
  }

  private sweepLarge(arena: Arena, base: number, page: number, pages: number, info: number): void {
    const u32 = this.u32;
    const r = this.result;
    const bw = base >>> 2;
    const quarantine = (this.plan.dead & DEAD_QUARANTINE) !== 0;
    const allocated = (u32[bw + S_ALLOC]! & 1) !== 0;
    const alive = allocated && (u32[bw + S_MARK]! & 1) !== 0;
    const old = (info & PI_OLD) !== 0;
    u32[bw + S_MARK] = 0;
    u32[bw + S_QUARANTINED] = 0;
    const ref = base + SPAN_HEADER_BYTES;
    if (alive) {
      r.liveObjects++;
      r.liveBytes += pages * PAGE_BYTES;
      if (old) {
        r.oldLiveBytes += pages * PAGE_BYTES;
        r.oldPages += pages;
      } else {
        r.youngLiveBytes += pages * PAGE_BYTES;
        const age = u32[bw + S_AGE]! + 1;
        if (this.plan.generational && age >= this.plan.promoteAge) this.promote(base, pages, 1);
        else u32[bw + S_AGE] = age;
      }
    } else if (allocated && quarantine && u32[ref >>> 2] !== ZAP_WORD) {
      r.freedObjects++;
      r.freedBytes += u32[bw + S_BLOCK_BYTES]!;
      r.quarantinedBytes += pages * PAGE_BYTES;
      if (old) r.oldPages += pages;
      u32[bw + S_QUARANTINED] = 1;
      u32[bw + S_DIRTY] = 0;
      if ((this.plan.dead & DEAD_ZAP_BODY) !== 0) u32.fill(ZAP_WORD, ref >>> 2, (ref + u32[bw + S_BLOCK_BYTES]!) >>> 2);
      else u32[ref >>> 2] = ZAP_WORD;
    } else {
      if (allocated && !quarantine) {
        r.freedObjects++;
        r.freedBytes += u32[bw + S_BLOCK_BYTES]!;
      }
      releasePages(arena, page, pages);
    }
  }

  /** Turns a young span old (every page's PI_OLD) and remembers it for refreshDirty. */
  private promote(base: number, pages: number, live: number): void {
    const r = this.result;
    // Flagged before any page turns old: a collector killed inside this step leaves a span
    // recovery finishes (every page old, dirty bits computed), never an old span no flag names.
    this.u32[(base >>> 2) + S_AGE] = AGE_PROMOTING; // until refreshDirty has looked at it
    setSpanOld(this.u32, base, pages, true);
    if (r.promotedSpans === this.promoted.length) {
      const bigger = new Uint32Array(this.promoted.length * 2);
      bigger.set(this.promoted);
      this.promoted = bigger;
    }
    this.promoted[r.promotedSpans++] = base;
    if (faultHook !== null) faultHook(FP_PROMOTED);
    r.promotedPages += pages;
    r.promotedObjects += live;
    r.oldPages += pages;
  }

  /** Appends a span to the list at `list + class` (lists run in address order). */
  private list(list: number, tails: Uint32Array, base: number, info: number): void {
    const u32 = this.u32;
    const cls = infoClass(info);
    if (tails[cls] === 0) u32[list + cls] = base;
    else u32[(tails[cls]! >>> 2) + S_NEXT] = base;
    tails[cls] = base;
  }

  /** A minor collection keeps the old lists: a span promoted into them goes at the head. */
  private pushOld(base: number, info: number): void {
    if (!this.plan.minor) {
      this.list(G_CENTRAL_OLD, this.oldTails, base, info);
      return;
    }
    const u32 = this.u32;
    const cls = infoClass(info);
    u32[(base >>> 2) + S_NEXT] = u32[G_CENTRAL_OLD + cls]!;
    u32[G_CENTRAL_OLD + cls] = base;
  }
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
