// The sanity check (MMTk's sanity GC, Go's gccheckmark): inside a pause, mark the whole heap
// from scratch and compare with what the collections kept.
//
//   1. Mark from the roots, every generation: the reachable objects.
//   2. Mark on from every old object, alive or not: what a minor collection must keep (old
//      objects are its roots through the remembered set).
//      If the collection had no room to queue some finalizable objects, it kept them (and
//      what they reach) for the next one: every unqueued finalizable object counts as kept.
//   3. Every allocated young object must now be marked: right after a collection, a young
//      object that neither the roots nor any old object reach should have been freed.
//   4. Clear the marks. GC_FLAG_IN_PAUSE is held meanwhile, as a collection holds it: a thread
//      killed with marks set leaves the next pause to clear them (recover.ts).
// Run only on a heap verify() found sound (every ref valid), so marking cannot stray.

import type { Arena } from '../heap/arena.js';
import {
  BITMAP_WORDS, G_COMMITTED_PAGES, G_GC_FLAGS, GC_FLAG_IN_PAUSE, MAX_WORKERS, PI_OLD, PK_LARGE_HEAD, PK_SMALL_HEAD, SPAN_HEADER_BYTES, S_ALLOC,
  S_AGE, S_BLOCK_BYTES, S_MARK, W_STATE, ZAP_WORD, workerWord, HDR_FINALIZED, HDR_TYPE_MASK, PAGE_LOG, PI_ORPHAN,
} from '../heap/layout.js';
import { NUM_SIZE_CLASSES } from '../heap/sizeclasses.js';
import { isFinalizableType } from './sweep.js';
import { SpanWalker, WALK_SPAN, infoClass, infoOwner, pageInfo, spanOf } from '../heap/spans.js';
import { Marker } from './mark.js';
import { isLiveState } from './recover.js';
import { markRoots } from './collector.js';
import { FP_REMARK, faultHook } from '../heap/faults.js';

export interface RemarkResult {
  /** Objects reachable from the roots. */
  reachableObjects: number;
  /** Old objects nothing reaches: garbage only a major collection frees. */
  unreachableOldObjects: number;
  /** Young objects neither the roots nor any old object reach (0 right after a collection). */
  unreachableYoungObjects: number;
  /** The first of them (0: none), for a diagnosis. */
  firstUnreachableYoung: number;
}

/**
 * `rootSlots`: the workers whose roots count (1 per slot) — right after a collection, the
 * ones it marked from; else undefined, for the workers live now. `keptUnqueued`: the last
 * collection kept finalizable objects it could not queue.
 */
export function remark(arena: Arena, walker: SpanWalker, marker: Marker, rootSlots?: Uint8Array, keptUnqueued = false): RemarkResult {
  const u32 = arena.u32;
  const committed = Atomics.load(u32, G_COMMITTED_PAGES);
  let slots = rootSlots;
  if (slots === undefined) {
    slots = new Uint8Array(MAX_WORKERS);
    for (let s = 0; s < MAX_WORKERS; s++) slots[s] = isLiveState(Atomics.load(u32, workerWord(s) + W_STATE)) ? 1 : 0;
  }
  // Marks exist from here to the end: a thread killed in between must leave the flag a
  // collection restarts from (recover.ts clears every mark).
  u32[G_GC_FLAGS] = u32[G_GC_FLAGS]! | GC_FLAG_IN_PAUSE;
  marker.begin(u32, arena.f32, 0);
  markRoots(u32, marker, slots, committed);
  if (faultHook !== null) faultHook(FP_REMARK);
  marker.drain();
  const reachableObjects = marker.marked;

  // Old objects nothing reached yet are counted, then scanned like the rest; so are unqueued
  // finalizable objects the collection kept.
  // Counted in a walk of their own first: scanning marks children, and old garbage reached
  // from old garbage earlier in the walk would otherwise not be counted.
  let unreachableOldObjects = 0;
  walker.reset(u32, arena.layout.headerPages, committed);
  while (walker.next()) {
    if (walker.what !== WALK_SPAN || (walker.info & PI_OLD) === 0) continue;
    forEachObject(u32, walker.base, walker.kind, (_ref, marked) => {
      if (!marked) unreachableOldObjects++;
    });
  }
  walker.reset(u32, arena.layout.headerPages, committed);
  while (walker.next()) {
    if (walker.what !== WALK_SPAN) continue;
    if ((walker.info & PI_OLD) !== 0) {
      forEachObject(u32, walker.base, walker.kind, (ref) => marker.scan(ref));
    } else if (keptUnqueued && (walker.kind === PK_LARGE_HEAD || infoClass(walker.info) >= NUM_SIZE_CLASSES)) {
      forEachObject(u32, walker.base, walker.kind, (ref, marked) => {
        if (!marked && (u32[ref >>> 2]! & HDR_FINALIZED) === 0 && isFinalizableType(u32, u32[ref >>> 2]!)) marker.mark(ref);
      });
    }
  }
  marker.drain();

  let unreachableYoungObjects = 0;
  let firstUnreachableYoung = 0;
  walker.reset(u32, arena.layout.headerPages, committed);
  while (walker.next()) {
    if (walker.what !== WALK_SPAN || (walker.kind !== PK_SMALL_HEAD && walker.kind !== PK_LARGE_HEAD)) continue;
    if ((walker.info & PI_OLD) === 0) {
      forEachObject(u32, walker.base, walker.kind, (ref, marked) => {
        if (marked) return;
        if (unreachableYoungObjects++ === 0) firstUnreachableYoung = ref;
      });
    }
    u32.fill(0, (walker.base >>> 2) + S_MARK, (walker.base >>> 2) + S_MARK + BITMAP_WORDS);
  }
  u32[G_GC_FLAGS] = u32[G_GC_FLAGS]! & ~GC_FLAG_IN_PAUSE;
  return { reachableObjects, unreachableOldObjects, unreachableYoungObjects, firstUnreachableYoung };
}

/** Calls `fn` for every allocated object of a small or large span that is not quarantined. */
function forEachObject(u32: Uint32Array, base: number, kind: number, fn: (ref: number, marked: boolean) => void): void {
  const bw = base >>> 2;
  if (kind === PK_LARGE_HEAD) {
    const ref = base + SPAN_HEADER_BYTES;
    if ((u32[bw + S_ALLOC]! & 1) !== 0 && u32[ref >>> 2] !== ZAP_WORD) fn(ref, (u32[bw + S_MARK]! & 1) !== 0);
    return;
  }
  if (kind !== PK_SMALL_HEAD) return;
  const block = u32[bw + S_BLOCK_BYTES]!;
  for (let w = 0; w < BITMAP_WORDS; w++) {
    let bits = u32[bw + S_ALLOC + w]! | 0;
    while (bits !== 0) {
      const bit = bits & -bits;
      bits ^= bit;
      const ref = base + SPAN_HEADER_BYTES + ((w << 5) + (31 - Math.clz32(bit))) * block;
      if (u32[ref >>> 2] !== ZAP_WORD) fn(ref, (u32[bw + S_MARK + w]! & bit) !== 0);
    }
  }
}

/** One line on an object for a diagnosis: its header and its span's owner, flags and age. */
export function describeObject(u32: Uint32Array, ref: number): string {
  if (ref === 0) return 'none';
  const header = u32[ref >>> 2]!;
  const base = spanOf(u32, ref);
  const info = pageInfo(u32, ref >>> PAGE_LOG);
  const owner = infoOwner(info);
  return `ref 0x${ref.toString(16)}, type ${header & HDR_TYPE_MASK}${(header & HDR_FINALIZED) !== 0 ? ' (finalized)' : ''}, ` +
    `in span 0x${base.toString(16)} of class ${infoClass(info)}, owner ${owner >= MAX_WORKERS ? 'none' : owner}` +
    `${(info & PI_ORPHAN) !== 0 ? ', orphan' : ''}, age ${u32[(base >>> 2) + S_AGE]}`;
}
