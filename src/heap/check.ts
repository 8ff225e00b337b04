// Ref validation, shared by checked-mode accessors and the verifier.
//
// A valid ref is 8-byte aligned, inside the committed arena, on a page of a small or large
// span, on a slot boundary, and allocated (its bit is set, or it lies in the used part of
// its owner's TLAB). Anything else is classified so the error can say what went wrong.

import {
  G_COMMITTED_PAGES, HDR_TYPE_MASK, MAX_WORKERS, PAGE_LOG, PK_FREE, PK_LARGE_HEAD, PK_LARGE_TAIL, PK_SMALL_HEAD,
  PK_SMALL_TAIL, SPAN_HEADER_BYTES, S_ALLOC, TLAB_CURSOR, TLAB_START, TLAB_WORDS, W_TLAB, ZAP_WORD, workerWord,
} from './layout.js';
import { infoClass, infoKind, infoOwner, pageInfo, pageSpan, slotStartIndex } from './spans.js';

export const REF_OK = 0;
export const REF_NULL = 1;
export const REF_NOT_NUMBER = 2;
export const REF_OUTSIDE = 3;
export const REF_MISALIGNED = 4;
export const REF_NOT_OBJECT_PAGE = 5;
export const REF_FREE_PAGE = 6;
export const REF_NOT_SLOT_START = 7;
export const REF_FREE_SLOT = 8;
export const REF_QUARANTINED = 9;

export const REF_PROBLEMS = [
  'valid', 'null', 'not a ref (not a non-negative integer)', 'outside the arena', 'not 8-byte aligned',
  'not on an object page (header or runtime page)', 'on a free page: the object was collected',
  'not the start of an object', 'a free slot: the object was collected',
  'a collected object (its slot is quarantined until the next collection)',
];

/** Problems that mean "this object was collected" (StaleRefError rather than InvalidRefError). */
export function isStaleProblem(problem: number): boolean {
  return problem === REF_FREE_PAGE || problem === REF_FREE_SLOT || problem === REF_QUARANTINED;
}

/**
 * The common case of `classifyRef`, small enough to inline into a checked accessor: true
 * when `ref` starts an allocated, unquarantined object in a small span (or in a TLAB of
 * `self`'s). False means "ask classifyRef", which says what is wrong, if anything.
 */
export function isAllocatedSmallRef(u32: Uint32Array, f32: Float32Array, ref: number, self: number): boolean {
  if (typeof ref !== 'number' || (ref >>> 0) !== ref || ref === 0 || (ref & 7) !== 0 || (ref >>> 2) >= u32.length) return false;
  const page = ref >>> PAGE_LOG;
  if (page >= u32[G_COMMITTED_PAGES]!) return false;
  const kind = infoKind(pageInfo(u32, page));
  if (kind !== PK_SMALL_HEAD && kind !== PK_SMALL_TAIL) return false;
  const base = pageSpan(u32, page);
  const slot = slotStartIndex(u32, f32, base, ref);
  if (slot < 0) return false;
  if ((u32[(base >>> 2) + S_ALLOC + (slot >>> 5)]! & (1 << (slot & 31))) !== 0) return u32[ref >>> 2] !== ZAP_WORD;
  const head = pageInfo(u32, base >>> PAGE_LOG);
  return infoOwner(head) === self && inOwnTlab(u32, self, infoClass(head), ref);
}

/** `classifyRef`'s `self` for callers that count only objects whose allocated bit is set. */
export const NOT_TLAB_AWARE = -1;

/**
 * Classifies `ref`. With `self` a worker slot, objects in their owner's unretired TLAB count
 * as allocated; the caller's own TLABs are read without atomics, since only it moves them.
 * Checked accessors call this on every access, and an `Atomics.load` costs 20–40 ns here
 * against 2–5 ns for a plain read: the common path has none.
 */
export function classifyRef(u32: Uint32Array, f32: Float32Array, ref: number, self: number): number {
  if (typeof ref !== 'number' || (ref >>> 0) !== ref) {
    return typeof ref === 'number' && Number.isInteger(ref) && ref > 0 ? REF_OUTSIDE : REF_NOT_NUMBER;
  }
  if (ref === 0) return REF_NULL;
  if ((ref & 7) !== 0) return REF_MISALIGNED;
  const page = ref >>> PAGE_LOG;
  // The committed count only grows: a stale plain read can only be too small, so confirm.
  if ((page >= u32[G_COMMITTED_PAGES]! && page >= Atomics.load(u32, G_COMMITTED_PAGES)) || (ref >>> 2) >= u32.length) return REF_OUTSIDE;
  const kind = infoKind(pageInfo(u32, page));
  if (kind === PK_FREE) return REF_FREE_PAGE;
  if (kind !== PK_SMALL_HEAD && kind !== PK_SMALL_TAIL && kind !== PK_LARGE_HEAD && kind !== PK_LARGE_TAIL) return REF_NOT_OBJECT_PAGE;
  const base = pageSpan(u32, page);
  const bw = base >>> 2;
  if (kind === PK_LARGE_HEAD || kind === PK_LARGE_TAIL) {
    if (ref !== base + SPAN_HEADER_BYTES) return REF_NOT_SLOT_START;
    if ((u32[bw + S_ALLOC]! & 1) === 0) return REF_FREE_SLOT;
    return u32[ref >>> 2] === ZAP_WORD ? REF_QUARANTINED : REF_OK;
  }
  const slot = slotStartIndex(u32, f32, base, ref);
  if (slot < 0) return REF_NOT_SLOT_START;
  const bitWord = bw + S_ALLOC + (slot >>> 5);
  const bit = 1 << (slot & 31);
  if ((u32[bitWord]! & bit) !== 0) return u32[ref >>> 2] === ZAP_WORD ? REF_QUARANTINED : REF_OK;
  if (self < 0) return REF_FREE_SLOT;
  const head = pageInfo(u32, base >>> PAGE_LOG);
  if (infoOwner(head) === self) return inOwnTlab(u32, self, infoClass(head), ref) ? REF_OK : REF_FREE_SLOT;
  // Another owner may be retiring its TLAB right now: it sets the bit before it clears the
  // TLAB, so look at the TLAB, then at the bit again.
  if (inOwnersTlab(u32, head, ref)) return REF_OK;
  return (Atomics.load(u32, bitWord) & bit) !== 0 ? REF_OK : REF_FREE_SLOT;
}

function inOwnTlab(u32: Uint32Array, self: number, cls: number, ref: number): boolean {
  const tl = workerWord(self) + W_TLAB + cls * TLAB_WORDS;
  const start = u32[tl + TLAB_START]!;
  return start !== 0 && ref >= start && ref < u32[tl + TLAB_CURSOR]!;
}

function inOwnersTlab(u32: Uint32Array, head: number, ref: number): boolean {
  const owner = infoOwner(head);
  if (owner >= MAX_WORKERS) return false;
  const tl = workerWord(owner) + W_TLAB + infoClass(head) * TLAB_WORDS;
  // The owner may move its TLAB meanwhile: a cursor is paired with the start read before it
  // only if the start has not changed after it.
  const start = u32[tl + TLAB_START]!;
  const cursor = u32[tl + TLAB_CURSOR]!;
  return start !== 0 && Atomics.load(u32, tl + TLAB_START) === start && ref >= start && ref < cursor;
}

export function typeIdAt(u32: Uint32Array, ref: number): number {
  return u32[ref >>> 2]! & HDR_TYPE_MASK;
}
