// The remembered set: old objects that may hold refs to young ones.
//
// Invariant (verify.ts checks it): every old → young ref lies in a dirty slot — the dirty bit
// of its object's slot, or for a large object of the card holding the word — of a span whose
// head page is in the remset bitmap. Three things keep it:
//   1. the write barrier (barrier.ts), for stores into old objects;
//   2. promotion: a span that turns old may hold refs to young spans, so after a collection
//      its objects are scanned and their dirty bits set (`refreshDirty`); until then its age
//      word says AGE_PROMOTING, and a collector killed in between leaves recovery to finish;
//   3. after every collection the dirty bits of remembered spans are recomputed, so a slot
//      whose young targets have all been promoted stops costing the next minor anything.
// A minor collection traces the dirty slots' refs (`scanRemembered`) as roots.

import type { Arena } from '../heap/arena.js';
import {
  ARRAY_HEADER_BYTES, ARRAY_LENGTH_WORD, BITMAP_WORDS, EK_REF, HDR_TYPE_MASK, PAGE_LOG, PI_OLD, PK_LARGE_HEAD, PK_SMALL_HEAD,
  REFMAP_WORD, SPAN_HEADER_BYTES, S_ALLOC, S_BLOCK_BYTES, S_DIRTY, TK_STRUCT, TYPE_TABLE_WORD, TYPE_WORDS, T_KIND,
  S_AGE, T_REF_COUNT, T_REF_START, ZAP_WORD,
} from '../heap/layout.js';
import { cardShift, infoKind, pageAddr, pageInfo, remsetAddAtomic, remsetRemovePlain, spanBlockBytes } from '../heap/spans.js';
import type { Marker } from './mark.js';

/** Whether `v` is a ref into a young page. */
function isYoungRef(u32: Uint32Array, v: number): boolean {
  return v !== 0 && (pageInfo(u32, v >>> PAGE_LOG) & PI_OLD) === 0;
}

/** Whether the object at `ref` holds a ref to a young object. */
function holdsYoungRef(u32: Uint32Array, ref: number): boolean {
  const word = ref >>> 2;
  const header = u32[word]!;
  if (header === ZAP_WORD) return false;
  const tw = TYPE_TABLE_WORD + (header & HDR_TYPE_MASK) * TYPE_WORDS;
  const kind = u32[tw + T_KIND]!;
  if ((kind & 0xff) === TK_STRUCT) {
    const start = REFMAP_WORD + u32[tw + T_REF_START]!;
    const end = start + u32[tw + T_REF_COUNT]!;
    for (let r = start; r < end; r++) if (isYoungRef(u32, u32[word + u32[r]!]!)) return true;
    return false;
  }
  if (((kind >>> 8) & 0xff) !== EK_REF) return false;
  const end = word + 2 + u32[word + ARRAY_LENGTH_WORD]!;
  for (let e = word + 2; e < end; e++) if (isYoungRef(u32, u32[e]!)) return true;
  return false;
}

/** What holds refs in the object at `ref`: its struct fields, all its elements, or nothing. */
const HOLDS_NONE = 0;
const HOLDS_FIELDS = 1;
const HOLDS_ELEMENTS = 2;

function refLayout(u32: Uint32Array, ref: number): number {
  const kind = u32[TYPE_TABLE_WORD + (u32[ref >>> 2]! & HDR_TYPE_MASK) * TYPE_WORDS + T_KIND]!;
  if ((kind & 0xff) === TK_STRUCT) return HOLDS_FIELDS;
  return ((kind >>> 8) & 0xff) === EK_REF ? HOLDS_ELEMENTS : HOLDS_NONE;
}

/** The elements [first, last) of the ref array at `ref`. */
function refWords(u32: Uint32Array, ref: number): [number, number] {
  const first = (ref >>> 2) + (ARRAY_HEADER_BYTES >>> 2);
  return [first, first + u32[(ref >>> 2) + ARRAY_LENGTH_WORD]!];
}

/** Bit `card` of the dirty bitmap at word `bw + S_DIRTY`. */
function cardBit(u32: Uint32Array, bw: number, card: number): boolean {
  return (u32[bw + S_DIRTY + (card >>> 5)]! & (1 << (card & 31))) !== 0;
}

/** Elements [from, to) of card `card` of the large ref array at `ref` (empty past its end). */
function cardRange(u32: Uint32Array, ref: number, card: number, shift: number): [number, number] {
  const word = ref >>> 2;
  const [first, last] = refWords(u32, ref);
  return [Math.max(first, word + card * 2 ** shift), Math.min(last, word + (card + 1) * 2 ** shift)];
}

/** Traces every dirty slot's refs of the remembered old spans (a minor collection's extra roots). */
export function scanRemembered(arena: Arena, marker: Marker): void {
  const u32 = arena.u32;
  const { remsetWord, freeBitmapWords } = arena.layout;
  for (let w = 0; w < freeBitmapWords; w++) {
    let bits = u32[remsetWord + w]! | 0;
    while (bits !== 0) {
      const bit = bits & -bits;
      bits ^= bit;
      const page = (w << 5) + (31 - Math.clz32(bit));
      const info = pageInfo(u32, page);
      const kind = infoKind(info);
      if ((info & PI_OLD) === 0 || (kind !== PK_SMALL_HEAD && kind !== PK_LARGE_HEAD)) continue;
      const base = pageAddr(page);
      const bw = base >>> 2;
      if (kind === PK_SMALL_HEAD) {
        const block = u32[bw + S_BLOCK_BYTES]!;
        for (let d = 0; d < BITMAP_WORDS; d++) {
          let dirty = (u32[bw + S_DIRTY + d]! & u32[bw + S_ALLOC + d]!) | 0;
          while (dirty !== 0) {
            const b = dirty & -dirty;
            dirty ^= b;
            const ref = base + SPAN_HEADER_BYTES + ((d << 5) + (31 - Math.clz32(b))) * block;
            if (u32[ref >>> 2] !== ZAP_WORD) marker.scan(ref);
          }
        }
      } else if ((u32[bw + S_ALLOC]! & 1) !== 0 && u32[(base + SPAN_HEADER_BYTES) >>> 2] !== ZAP_WORD) {
        const ref = base + SPAN_HEADER_BYTES;
        const holds = refLayout(u32, ref);
        if (holds === HOLDS_FIELDS) {
          // A large struct: its few ref fields are scanned whole when any card is dirty.
          let any = 0;
          for (let d = 0; d < BITMAP_WORDS; d++) any |= u32[bw + S_DIRTY + d]!;
          if (any !== 0) marker.scan(ref);
          continue;
        }
        if (holds === HOLDS_NONE) continue;
        const shift = cardShift(spanBlockBytes(u32, base));
        for (let d = 0; d < BITMAP_WORDS; d++) {
          let dirty = u32[bw + S_DIRTY + d]! | 0;
          while (dirty !== 0) {
            const b = dirty & -dirty;
            dirty ^= b;
            const [from, to] = cardRange(u32, ref, (d << 5) + (31 - Math.clz32(b)), shift);
            marker.scanWords(from, to);
          }
        }
      }
    }
  }
}

/**
 * Recomputes the dirty bits of one old span: of every allocated slot (`all`, for a span just
 * promoted) or of its dirty slots only. Keeps the span's remset bit true to its bitmap.
 */
function refreshSpan(u32: Uint32Array, remsetWord: number, base: number, all: boolean): void {
  const bw = base >>> 2;
  const kind = infoKind(pageInfo(u32, base >>> PAGE_LOG));
  let any = 0;
  if (kind === PK_SMALL_HEAD) {
    const block = u32[bw + S_BLOCK_BYTES]!;
    for (let d = 0; d < BITMAP_WORDS; d++) {
      let look = (all ? u32[bw + S_ALLOC + d]! : u32[bw + S_DIRTY + d]! & u32[bw + S_ALLOC + d]!) | 0;
      let keep = 0;
      while (look !== 0) {
        const b = look & -look;
        look ^= b;
        if (holdsYoungRef(u32, base + SPAN_HEADER_BYTES + ((d << 5) + (31 - Math.clz32(b))) * block)) keep |= b;
      }
      u32[bw + S_DIRTY + d] = keep;
      any |= keep;
    }
  } else if (kind === PK_LARGE_HEAD) {
    const ref = base + SPAN_HEADER_BYTES;
    const live = (u32[bw + S_ALLOC]! & 1) !== 0 && u32[ref >>> 2] !== ZAP_WORD;
    const holds = live ? refLayout(u32, ref) : HOLDS_NONE;
    const shift = cardShift(spanBlockBytes(u32, base));
    if (holds !== HOLDS_ELEMENTS) {
      // A large struct keeps card 0 for all its fields; anything else holds no refs.
      for (let d = 0; d < BITMAP_WORDS; d++) u32[bw + S_DIRTY + d] = 0;
      if (holds === HOLDS_FIELDS && holdsYoungRef(u32, ref)) u32[bw + S_DIRTY] = any = 1;
      if (any !== 0) remsetAddAtomic(u32, remsetWord, base >>> PAGE_LOG);
      else remsetRemovePlain(u32, remsetWord, base >>> PAGE_LOG);
      return;
    }
    const words = refWords(u32, ref)[1] - (ref >>> 2);
    for (let d = 0; d < BITMAP_WORDS; d++) {
      let keep = 0;
      for (let i = 0; i < 32; i++) {
        const card = (d << 5) + i;
        if (card * 2 ** shift >= words) break;
        if (!all && (u32[bw + S_DIRTY + d]! & (1 << i)) === 0) continue;
        const [from, to] = cardRange(u32, ref, card, shift);
        for (let e = from; e < to; e++) {
          if (isYoungRef(u32, u32[e]!)) { keep |= 1 << i; break; }
        }
      }
      u32[bw + S_DIRTY + d] = keep;
      any |= keep;
    }
  }
  if (any !== 0) remsetAddAtomic(u32, remsetWord, base >>> PAGE_LOG);
  else remsetRemovePlain(u32, remsetWord, base >>> PAGE_LOG);
}

/**
 * After a collection's sweep and promotions: the dirty bits of every remembered span, and of
 * every span promoted (`promoted[0..count)`), say exactly which slots hold young refs.
 */
export function refreshDirty(arena: Arena, promoted: Uint32Array, count: number): void {
  const u32 = arena.u32;
  const { remsetWord, freeBitmapWords } = arena.layout;
  for (let w = 0; w < freeBitmapWords; w++) {
    let bits = u32[remsetWord + w]! | 0;
    while (bits !== 0) {
      const bit = bits & -bits;
      bits ^= bit;
      const page = (w << 5) + (31 - Math.clz32(bit));
      const info = pageInfo(u32, page);
      if ((info & PI_OLD) === 0) remsetRemovePlain(u32, remsetWord, page);
      else refreshSpan(u32, remsetWord, pageAddr(page), false);
    }
  }
  for (let i = 0; i < count; i++) finishPromotion(u32, remsetWord, promoted[i]!);
}

/**
 * The first old → young ref of the old span at `base` that the remembered set does not cover
 * (its slot's or card's dirty bit is clear, or the span is not in the remset), described; or
 * null. For verify().
 */
export function uncoveredYoungRef(u32: Uint32Array, remsetWord: number, base: number): string | null {
  const bw = base >>> 2;
  const page = base >>> PAGE_LOG;
  const inRemset = (u32[remsetWord + (page >>> 5)]! & (1 << (page & 31))) !== 0;
  const kind = infoKind(pageInfo(u32, page));
  const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
  if (kind === PK_SMALL_HEAD) {
    const block = u32[bw + S_BLOCK_BYTES]!;
    for (let d = 0; d < BITMAP_WORDS; d++) {
      let look = u32[bw + S_ALLOC + d]! | 0;
      while (look !== 0) {
        const b = look & -look;
        look ^= b;
        const ref = base + SPAN_HEADER_BYTES + ((d << 5) + (31 - Math.clz32(b))) * block;
        if (!holdsYoungRef(u32, ref)) continue;
        if ((u32[bw + S_DIRTY + d]! & b) === 0) return `old object ${hex(ref)} holds a ref to a young object but its dirty bit is clear`;
        if (!inRemset) return `old object ${hex(ref)} is dirty but its span ${hex(base)} is not in the remembered set`;
      }
    }
  } else if (kind === PK_LARGE_HEAD && (u32[bw + S_ALLOC]! & 1) !== 0 && u32[(base + SPAN_HEADER_BYTES) >>> 2] !== ZAP_WORD) {
    const ref = base + SPAN_HEADER_BYTES;
    const holds = refLayout(u32, ref);
    if (holds === HOLDS_FIELDS && holdsYoungRef(u32, ref)) {
      let any = 0;
      for (let d = 0; d < BITMAP_WORDS; d++) any |= u32[bw + S_DIRTY + d]!;
      if (any === 0) return `old large struct ${hex(ref)} holds a ref to a young object but no card is dirty`;
      if (!inRemset) return `old large struct ${hex(ref)} has dirty cards but its span is not in the remembered set`;
    } else if (holds === HOLDS_ELEMENTS) {
      const shift = cardShift(spanBlockBytes(u32, base));
      const [first, last] = refWords(u32, ref);
      for (let e = first; e < last; e++) {
        if (!isYoungRef(u32, u32[e]!)) continue;
        const card = (e - (ref >>> 2)) >>> shift;
        if (!cardBit(u32, bw, card)) return `old large array ${hex(ref)} holds a young ref at element ${e - first} but card ${card} is clean`;
        if (!inRemset) return `old large array ${hex(ref)} has dirty cards but its span is not in the remembered set`;
      }
    }
  }
  return null;
}

/** Computes the dirty bits of a span just turned old, then clears its AGE_PROMOTING mark. */
export function finishPromotion(u32: Uint32Array, remsetWord: number, base: number): void {
  refreshSpan(u32, remsetWord, base, true);
  u32[(base >>> 2) + S_AGE] = 0;
}
