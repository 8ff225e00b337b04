// Page-table entries and span headers: every read and write of them goes through here.
//
// A span is 1–8 pages (small spans, of one size class), or as many pages as one large object
// needs, or a system span (a root-stack chunk, a handle chunk). Its first page is its head;
// the page table (layout.ts) maps every page to its span:
//
//   page table entry of a head page        of a tail page
//   PT_SPAN  the span's byte address       the span's byte address
//   PT_INFO  kind | O | G | class | owner  kind + 1 | G | class      (owner and orphan: head only)
//
// Publish and retire (the protocol a kill cannot break, ARCHITECTURE.md "Kill safety"):
//   publish  write the span header (S_PAGES and geometry), then the tail entries, then the
//            head entry last;
//   retire   write the head entry free first, then the tails.
// So a head in the page table always names a whole span whose tails name it. A walk that
// steps from head to head never lands on a tail; if it does, that tail is a *stray*, left by a
// claim or a release that a killed thread did not finish, and nothing else refers to it.
//
// Slot index: (addr - base - SPAN_HEADER_BYTES) · S_INV_F32, truncated. S_INV_F32 is 1/block
// rounded up by 2⁻²⁰, which is exact for every slot start; an address inside a slot may be
// off by one, so a check of "is this a slot start" multiplies back (`isSlotStart`).

import {
  G_COMMITTED_PAGES, G_MAX_PAGES, PAGE_BYTES, PAGE_LOG, PAGE_TABLE_WORD, PI_CLASS_MASK, PI_CLASS_SHIFT, PI_KIND_MASK, PI_OLD, PI_ORPHAN,
  PI_OWNER_SHIFT, PK_FREE, PK_HEADER, PK_LARGE_HEAD, PK_SMALL_HEAD, PK_SYSTEM_HEAD, PT_INFO, PT_SPAN, PT_WORDS,
  SPAN_HEADER_BYTES, S_BLOCK_BYTES, S_INV_F32, S_PAGES, S_SLOTS, NO_OWNER, MAX_SLOTS_LOG,
} from './layout.js';
import { FP_PUBLISH_TAILS, faultHook } from './faults.js';

// ---------------------------------------------------------------------------------------
// Page-table entries.

/** Byte address of page `page` (a multiply: refs above 2 GiB overflow a shift). */
export function pageAddr(page: number): number {
  return page * PAGE_BYTES;
}

/** Word index of page `page`'s PT_SPAN word (PT_INFO follows it). */
export function ptWord(page: number): number {
  return PAGE_TABLE_WORD + page * PT_WORDS;
}

export function pageInfo(u32: Uint32Array, page: number): number {
  return u32[PAGE_TABLE_WORD + page * PT_WORDS + PT_INFO]!;
}

export function pageSpan(u32: Uint32Array, page: number): number {
  return u32[PAGE_TABLE_WORD + page * PT_WORDS + PT_SPAN]!;
}

/** The byte address of the span holding `addr`. */
export function spanOf(u32: Uint32Array, addr: number): number {
  return u32[PAGE_TABLE_WORD + (addr >>> PAGE_LOG) * PT_WORDS + PT_SPAN]!;
}

/** The head page's info word of the span holding `addr`. */
export function spanInfo(u32: Uint32Array, addr: number): number {
  return pageInfo(u32, spanOf(u32, addr) >>> PAGE_LOG);
}

export function infoKind(info: number): number {
  return info & PI_KIND_MASK;
}

export function infoClass(info: number): number {
  return (info >>> PI_CLASS_SHIFT) & PI_CLASS_MASK;
}

/** Owner slot of a span (head entries only), or NO_OWNER. */
export function infoOwner(info: number): number {
  return info >>> PI_OWNER_SHIFT;
}

export function isHeadKind(kind: number): boolean {
  return kind === PK_SMALL_HEAD || kind === PK_LARGE_HEAD || kind === PK_SYSTEM_HEAD;
}

/** Head and tail entries of a span of `headKind`. */
export function headInfo(headKind: number, cls: number, owner: number): number {
  return (headKind | (cls << PI_CLASS_SHIFT) | (owner << PI_OWNER_SHIFT)) >>> 0;
}

export function tailInfo(headKind: number, cls: number): number {
  return (headKind + 1) | (cls << PI_CLASS_SHIFT);
}

/**
 * Publishes a span whose header (S_PAGES, geometry) is written: tails first, head last.
 * Caller holds the heap lock or runs inside a pause.
 */
export function publishSpan(u32: Uint32Array, base: number, pages: number, head: number): void {
  const first = base >>> PAGE_LOG;
  const tail = tailInfo(head & PI_KIND_MASK, infoClass(head)) | (head & PI_OLD);
  for (let p = first + pages - 1; p > first; p--) {
    const w = PAGE_TABLE_WORD + p * PT_WORDS;
    u32[w + PT_SPAN] = base;
    u32[w + PT_INFO] = tail;
  }
  if (faultHook !== null && pages > 1) faultHook(FP_PUBLISH_TAILS);
  const w = PAGE_TABLE_WORD + first * PT_WORDS;
  u32[w + PT_SPAN] = base;
  u32[w + PT_INFO] = head;
}

/** Marks pages [first, first + pages) free in the page table: the head first. */
export function retirePages(u32: Uint32Array, first: number, pages: number): void {
  for (let p = first; p < first + pages; p++) {
    const w = PAGE_TABLE_WORD + p * PT_WORDS;
    u32[w + PT_INFO] = PK_FREE;
    u32[w + PT_SPAN] = 0;
  }
}

/** Sets or clears the old-generation flag on every page of a span (inside a pause). */
export function setSpanOld(u32: Uint32Array, base: number, pages: number, old: boolean): void {
  const first = base >>> PAGE_LOG;
  for (let p = first; p < first + pages; p++) {
    const w = PAGE_TABLE_WORD + p * PT_WORDS + PT_INFO;
    u32[w] = (old ? u32[w]! | PI_OLD : u32[w]! & ~PI_OLD) >>> 0;
  }
}

/** Flags a span (its head entry) as an orphan with no owner. */
export function orphanSpanPlain(u32: Uint32Array, base: number): void {
  const w = PAGE_TABLE_WORD + (base >>> PAGE_LOG) * PT_WORDS + PT_INFO;
  u32[w] = ((u32[w]! & 0xffff) | PI_ORPHAN | (NO_OWNER << PI_OWNER_SHIFT)) >>> 0;
}

/**
 * Flags the span as an orphan if `owner` still owns it, with one CAS: a thread that pops it
 * from a central list meanwhile (adoptSpan) keeps it. Returns whether it was orphaned.
 */
export function orphanSpanIfOwnedAtomic(u32: Uint32Array, base: number, owner: number): boolean {
  const w = PAGE_TABLE_WORD + (base >>> PAGE_LOG) * PT_WORDS + PT_INFO;
  const info = Atomics.load(u32, w);
  if (info >>> PI_OWNER_SHIFT !== owner) return false;
  const orphaned = ((info & 0xffff) | PI_ORPHAN | (NO_OWNER << PI_OWNER_SHIFT)) >>> 0;
  return Atomics.compareExchange(u32, w, info, orphaned) === info;
}

/** Makes `slot` the owner of a span and clears its orphan flag (head entry only). */
export function adoptSpan(u32: Uint32Array, base: number, slot: number): void {
  const w = PAGE_TABLE_WORD + (base >>> PAGE_LOG) * PT_WORDS + PT_INFO;
  u32[w] = ((u32[w]! & 0xffff & ~PI_ORPHAN) | (slot << PI_OWNER_SHIFT)) >>> 0;
}

// ---------------------------------------------------------------------------------------
// Span headers and slots.

export function spanPages(u32: Uint32Array, base: number): number {
  return u32[(base >>> 2) + S_PAGES]!;
}

export function spanBlockBytes(u32: Uint32Array, base: number): number {
  return u32[(base >>> 2) + S_BLOCK_BYTES]!;
}

export function spanSlots(u32: Uint32Array, base: number): number {
  return u32[(base >>> 2) + S_SLOTS]!;
}

/** Slot index of the slot holding `addr` in the small span at `base`. */
export function slotIndex(f32: Float32Array, base: number, addr: number): number {
  return ((addr - base - SPAN_HEADER_BYTES) * f32[(base >>> 2) + S_INV_F32]!) | 0;
}

/** Byte address of slot `slot` of the span at `base`. */
export function slotAddr(u32: Uint32Array, base: number, slot: number): number {
  return base + SPAN_HEADER_BYTES + slot * u32[(base >>> 2) + S_BLOCK_BYTES]!;
}

/** Whether `addr` is the start of a slot of the small span at `base`; returns the slot or -1. */
export function slotStartIndex(u32: Uint32Array, f32: Float32Array, base: number, addr: number): number {
  const off = addr - base - SPAN_HEADER_BYTES;
  if (off < 0) return -1;
  const slot = slotIndex(f32, base, addr);
  return slot * u32[(base >>> 2) + S_BLOCK_BYTES]! === off && slot < u32[(base >>> 2) + S_SLOTS]! ? slot : -1;
}

/** The f32 reciprocal stored in S_INV_F32 for a block size. */
export function blockReciprocal(block: number): number {
  return Math.fround((1 / block) * (1 + 2 ** -20));
}

// ---------------------------------------------------------------------------------------
// Bitmaps: one bit per slot, BITMAP_WORDS words from a span-header word (S_MARK, S_ALLOC,
// S_DIRTY). Plain setters are for words one thread owns at that moment (the collector in a
// pause, a TLAB's owner); atomic ones for words two threads may write at once.

export function testBit(u32: Uint32Array, bitmapWord: number, slot: number): boolean {
  return (u32[bitmapWord + (slot >>> 5)]! & (1 << (slot & 31))) !== 0;
}

export function setBitPlain(u32: Uint32Array, bitmapWord: number, slot: number): void {
  const w = bitmapWord + (slot >>> 5);
  u32[w] = u32[w]! | (1 << (slot & 31));
}

export function setBitAtomic(u32: Uint32Array, bitmapWord: number, slot: number): void {
  Atomics.or(u32, bitmapWord + (slot >>> 5), 1 << (slot & 31));
}

/** Sets bits [from, to) of the bitmap at `bitmapWord` with plain stores. */
export function setBitRangePlain(u32: Uint32Array, bitmapWord: number, from: number, to: number): void {
  for (let s = from; s < to; ) {
    const w = s >>> 5;
    const lo = s & 31;
    const hi = Math.min(32, to - (w << 5));
    const mask = hi - lo === 32 ? -1 : ((1 << (hi - lo)) - 1) << lo;
    u32[bitmapWord + w] = u32[bitmapWord + w]! | mask;
    s = (w << 5) + hi;
  }
}

export function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

export function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/**
 * Cards of a large object: its dirty bitmap has one bit per run of 2^shift words, at most
 * MAX_SLOTS cards, so a minor collection scans only the dirty runs of a huge ref array.
 */
export function cardShift(objectBytes: number): number {
  const words = Math.max(1, objectBytes >>> 2);
  return Math.max(0, 32 - Math.clz32(words - 1) - MAX_SLOTS_LOG);
}

// ---------------------------------------------------------------------------------------
// The remembered set: a bit per page (layout.ts), set on the head page of an old span whose
// dirty bitmap is not empty. Set atomically by the barrier; cleared only in a pause.

export function remsetTest(u32: Uint32Array, remsetWord: number, page: number): boolean {
  return (u32[remsetWord + (page >>> 5)]! & (1 << (page & 31))) !== 0;
}

export function remsetAddAtomic(u32: Uint32Array, remsetWord: number, page: number): void {
  Atomics.or(u32, remsetWord + (page >>> 5), 1 << (page & 31));
}

export function remsetRemovePlain(u32: Uint32Array, remsetWord: number, page: number): void {
  const w = remsetWord + (page >>> 5);
  u32[w] = u32[w]! & ~(1 << (page & 31));
}

/** The same, outside a pause: barriers may be setting other bits of the word meanwhile. */
export function remsetRemoveAtomic(u32: Uint32Array, remsetWord: number, page: number): void {
  const w = remsetWord + (page >>> 5);
  const bit = 1 << (page & 31);
  if ((u32[w]! & bit) !== 0) Atomics.and(u32, w, ~bit);
}

// ---------------------------------------------------------------------------------------
// The span walker: the one loop over the page table, in address order.

/** What `SpanWalker.next()` stopped at. */
export const WALK_SPAN = 1; // a span head: base, pages, info, kind describe the span
export const WALK_STRAY = 2; // a tail page not reached through its head (pages = 1)
export const WALK_BAD_HEAD = 3; // a head whose S_PAGES runs past the arena (pages = 1)

/**
 * Walks spans from page `from` to `to` (default: the committed pages): free and header pages
 * are skipped, a head is reported with its extent and the walk continues after it. A tail met
 * on the way is a stray (see above). With `youngOnly`, every page of an old span is skipped
 * by its page-table entry alone, so a minor collection never reads old pages. One object,
 * reused: no allocation per span.
 */
export class SpanWalker {
  /** What the last next() found: WALK_SPAN, WALK_STRAY or WALK_BAD_HEAD. */
  what = 0;
  /** First page of what was found, its byte address, and its page count. */
  page = 0;
  base = 0;
  pages = 0;
  /** The head page's info word (a stray's own), and its kind. */
  info = 0;
  kind = 0;
  private u32: Uint32Array = new Uint32Array(0);
  private at = 0;
  private end = 0;
  private skip = 0;
  private freeBitmapWord = 0;

  /** Starts a walk. `headerPages` is the first page that can hold a span. */
  reset(u32: Uint32Array, headerPages: number, to = Atomics.load(u32, G_COMMITTED_PAGES), youngOnly = false): this {
    this.u32 = u32;
    this.at = headerPages;
    this.end = to;
    this.what = 0;
    this.skip = youngOnly ? PI_OLD : 0;
    this.freeBitmapWord = PAGE_TABLE_WORD + u32[G_MAX_PAGES]! * PT_WORDS; // arenaLayout's, derived
    return this;
  }

  next(): boolean {
    const u32 = this.u32;
    for (let p = this.at; p < this.end; p++) {
      // 32 free pages in a row are one bitmap word: skipped whole. A page whose bit is set is
      // free in the page table (claims clear the bit before publishing, releases set it after).
      if ((p & 31) === 0 && u32[this.freeBitmapWord + (p >>> 5)] === 0xffffffff) {
        p += 31;
        continue;
      }
      const w = PAGE_TABLE_WORD + p * PT_WORDS;
      const info = u32[w + PT_INFO]!;
      const kind = info & PI_KIND_MASK;
      if (kind === PK_FREE || kind === PK_HEADER || (info & this.skip) !== 0) continue;
      this.page = p;
      this.info = info;
      this.kind = kind;
      if (kind === PK_SMALL_HEAD || kind === PK_LARGE_HEAD || kind === PK_SYSTEM_HEAD) {
        const base = p * PAGE_BYTES;
        const pages = u32[(base >>> 2) + S_PAGES]!;
        this.base = base;
        if (pages >= 1 && p + pages <= this.end) {
          this.what = WALK_SPAN;
          this.pages = pages;
          this.at = p + pages;
          return true;
        }
        this.what = WALK_BAD_HEAD;
      } else {
        this.what = WALK_STRAY;
        this.base = u32[w + PT_SPAN]!;
      }
      this.pages = 1;
      this.at = p + 1;
      return true;
    }
    this.at = this.end;
    return false;
  }
}
