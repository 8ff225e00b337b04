// Page summaries and object statistics: one walk over the spans (SpanWalker), one entry per
// page, and totals per size class and per type.
//
// A page's `slots` and `live` count the slots that *start* on that page, so they add up
// over the pages of a span to the span's own counts, and a map can colour every page by its
// own occupancy. A large object counts on its head page.
//
// Two ways to read (ReadMode): inside a pause (the facade's default: every figure
// consistent, as stats() sees them after retiring TLABs), or racing the mutators (the live
// view). A racing read may see a span half published, a bitmap word mid-update, an object
// header not yet written: it validates what it reads against the size-class table and the
// type table, counts what did not add up in `torn`, and never throws for it.

import {
  ARRAY_HEADER_BYTES, ARRAY_LENGTH_WORD, G_COMMITTED_PAGES, G_MAJOR_COUNT, G_MAX_PAGES, G_MINOR_COUNT,
  G_TYPE_COUNT, HDR_TYPE_MASK, MAX_SLOTS, MAX_WORKERS, NO_OWNER, PAGE_BYTES, PI_OLD, PI_ORPHAN, PK_HEADER,
  PK_LARGE_HEAD, PK_LARGE_TAIL, PK_SMALL_HEAD, PK_SMALL_TAIL, PK_SYSTEM_HEAD, S_ALLOC, S_BLOCK_BYTES, S_DIRTY,
  S_SLOTS, SPAN_HEADER_BYTES, SYS_HANDLE_CHUNK, SYS_ROOT_STACK, TK_ARRAY, W_STATE, W_THREAD_ID, WORKER_STATE_NAMES,
  workerWord,
} from '../heap/layout.js';
import { CLASS_BLOCK_BYTES, CLASS_SLOTS, CLASS_SPAN_PAGES, NUM_SIZE_CLASSES } from '../heap/sizeclasses.js';
import { SpanWalker, WALK_SPAN, infoClass, infoKind, infoOwner, pageInfo, testBit } from '../heap/spans.js';
import type { Arena } from '../heap/arena.js';
import type { TypeCache } from '../heap/types.js';

export type PageKind = 'free' | 'small' | 'large' | 'orphan' | 'system' | 'header';

/** How a whole-heap reader reads: inside a pause, or racing the mutators (figures may be torn). */
export type ReadMode = 'pause' | 'racy';

export interface PageInfo {
  index: number;
  kind: PageKind;
  /** First page of the span holding this page (this page itself for free and header pages). */
  span: number;
  spanPages: number;
  /** Small spans: size class 0..50 (the same for finalizable spans); otherwise -1. */
  sizeClass: number;
  /** A span of a finalizable type's own classes. */
  finalizable: boolean;
  /** Small: bytes per slot; large: the object's bytes; otherwise 0. */
  blockBytes: number;
  /** Slots that start on this page, and how many of them hold an object. */
  slots: number;
  live: number;
  /** Worker slot that owns the span, or -1 (none, or an orphan). */
  owner: number;
  /** Old generation (PI_OLD). */
  old: boolean;
  /** Dirty bits (write barrier) of the slots that start on this page. */
  dirty: number;
  /** live / slots of this page; for a large span's tail pages, the span's. */
  occupancy: number;
  /** System pages: what they hold. */
  system?: 'root-stack' | 'handle-chunk';
  /** Type ids of the objects that start on this page. */
  types?: number[];
  /** A tail page no head reaches (left by a killed thread; the next pause frees it). */
  stray?: true;
}

export interface ClassSummary {
  sizeClass: number;
  blockBytes: number;
  /** Pages per span of the class, and slots per span. */
  spanPages: number;
  spanSlots: number;
  spans: number;
  pages: number;
  slots: number;
  objects: number;
  /** Bytes the objects need (headers included). */
  liveBytes: number;
  /** Bytes of the blocks the objects occupy beyond what they need (rounding to the class). */
  internalWaste: number;
  /** Bytes at the end of each span that no slot covers, over all spans. */
  tailWaste: number;
  /** Bytes of free slots. */
  freeBytes: number;
  /** freeBytes / slot bytes: memory held by partly used spans of this class. */
  fragmentation: number;
  /** liveBytes / the class's page bytes. */
  utilization: number;
}

export interface TypeSummary {
  typeId: number;
  name: string;
  kind: 'struct' | 'array';
  count: number;
  /** Bytes the objects need. */
  bytes: number;
  /** Bytes of the blocks (small) or pages (large) they occupy. */
  footprint: number;
}

export interface WorkerSummary {
  slot: number;
  state: string;
  threadId: number;
  /** Pages of spans this worker owns. */
  pages: number;
}

export interface HeapMap {
  pageBytes: number;
  headerPages: number;
  committedPages: number;
  maxPages: number;
  pages: PageInfo[];
  classes: ClassSummary[];
  types: TypeSummary[];
  workers: WorkerSummary[];
  totals: {
    objects: number;
    /** Bytes the objects need. */
    bytes: number;
    /** Bytes their blocks occupy (small) plus large spans' pages: stats().allocatedBytes. */
    footprint: number;
    pages: Record<PageKind, number> & { stray: number };
  };
  collections: { minor: number; major: number };
  /** Racy reads: spans whose words did not add up (half published, mid-update). */
  torn: number;
}

const KINDS: PageKind[] = ['free', 'small', 'large', 'orphan', 'system', 'header'];

/** Per-type figures gathered during the walk; indexed by type id. */
class TypeTally {
  readonly count: number[] = [];
  readonly bytes: number[] = [];
  readonly footprint: number[] = [];
  add(id: number, bytes: number, footprint: number): void {
    this.count[id] = (this.count[id] ?? 0) + 1;
    this.bytes[id] = (this.bytes[id] ?? 0) + bytes;
    this.footprint[id] = (this.footprint[id] ?? 0) + footprint;
  }
}

/** Builds the page map of an arena. `types` resolves type ids (the arena's own table). */
export function heapMap(arena: Arena, types: TypeCache, walker: SpanWalker, mode: ReadMode): HeapMap {
  arena.ensureViews();
  const u32 = arena.u32;
  const { headerPages } = arena.layout;
  const committed = Math.min(Atomics.load(u32, G_COMMITTED_PAGES), Math.floor(arena.viewBytes / PAGE_BYTES));
  const typeCount = Math.min(Atomics.load(u32, G_TYPE_COUNT), 0xffff);
  const racy = mode === 'racy';
  const pages: PageInfo[] = new Array(committed);
  for (let p = 0; p < committed; p++) {
    const kind = p < headerPages ? 'header' : infoKind(pageInfo(u32, p)) === PK_HEADER ? 'header' : 'free';
    pages[p] = blankPage(p, kind);
  }
  const classes = new Map<number, ClassSummary>();
  const tally = new TypeTally();
  let torn = 0;
  // Object bytes from a header: the type's size, or an array's length times its element.
  const objectBytes = (ref: number, capacity: number): [number, number] => {
    const id = u32[ref >>> 2]! & HDR_TYPE_MASK;
    const t = id > 0 && id <= typeCount ? types.get(id) : undefined;
    if (t === undefined) return [0, 0];
    const bytes = t.$kind === TK_ARRAY ? ARRAY_HEADER_BYTES + u32[(ref >>> 2) + ARRAY_LENGTH_WORD]! * t.$bytes : t.$bytes;
    return bytes <= capacity ? [id, bytes] : [0, 0];
  };

  walker.reset(u32, headerPages, committed);
  while (walker.next()) {
    const { page, base, info, kind } = walker;
    const n = walker.pages;
    if (walker.what !== WALK_SPAN) {
      // A stray tail, or a head whose length runs past the arena: shown, never read into.
      const k = infoKind(info);
      const e = pages[page]!;
      e.kind = k === PK_SMALL_TAIL || k === PK_SMALL_HEAD ? 'small' : k === PK_LARGE_TAIL || k === PK_LARGE_HEAD ? 'large' : 'system';
      e.span = base / PAGE_BYTES;
      e.stray = true;
      if (racy) torn++;
      continue;
    }
    const ownerSlot = infoOwner(info);
    const owner = ownerSlot === NO_OWNER || ownerSlot >= MAX_WORKERS ? -1 : ownerSlot;
    const pageKind: PageKind = kind === PK_SYSTEM_HEAD ? 'system' : (info & PI_ORPHAN) !== 0 ? 'orphan' : kind === PK_SMALL_HEAD ? 'small' : 'large';
    for (let q = page; q < page + n; q++) {
      const e = pages[q]!;
      e.kind = pageKind;
      e.span = page;
      e.spanPages = n;
      e.owner = owner;
      e.old = (pageInfo(u32, q) & PI_OLD) !== 0;
    }
    const bw = base >>> 2;
    if (kind === PK_SYSTEM_HEAD) {
      const sys = infoClass(info);
      for (let q = page; q < page + n; q++) {
        pages[q]!.system = sys === SYS_ROOT_STACK ? 'root-stack' : sys === SYS_HANDLE_CHUNK ? 'handle-chunk' : undefined;
        if (pages[q]!.system === undefined) delete pages[q]!.system;
      }
      continue;
    }
    if (kind === PK_LARGE_HEAD) {
      const capacity = n * PAGE_BYTES - SPAN_HEADER_BYTES;
      const head = pages[page]!;
      head.blockBytes = Math.min(u32[bw + S_BLOCK_BYTES]!, capacity);
      head.slots = 1;
      if ((u32[bw + S_ALLOC]! & 1) !== 0) {
        const [id, bytes] = objectBytes(base + SPAN_HEADER_BYTES, capacity);
        if (id === 0) torn++;
        head.live = 1;
        head.dirty = u32[bw + S_DIRTY]! & 1;
        head.types = id === 0 ? [] : [id];
        tally.add(id, bytes, n * PAGE_BYTES);
      }
      for (let q = page; q < page + n; q++) {
        pages[q]!.blockBytes = head.blockBytes;
        pages[q]!.occupancy = head.live;
      }
      continue;
    }
    // A small span: geometry from the class table, checked against the span's own words.
    const cls = infoClass(info);
    const sc = cls % NUM_SIZE_CLASSES;
    const block = CLASS_BLOCK_BYTES[sc]!;
    const slots = CLASS_SLOTS[sc]!;
    const spanGood = u32[bw + S_BLOCK_BYTES] === block && u32[bw + S_SLOTS] === slots && n === CLASS_SPAN_PAGES[sc] && slots <= MAX_SLOTS;
    let c = classes.get(sc);
    if (c === undefined) {
      c = {
        sizeClass: sc, blockBytes: block, spanPages: CLASS_SPAN_PAGES[sc]!, spanSlots: slots, spans: 0, pages: 0, slots: 0,
        objects: 0, liveBytes: 0, internalWaste: 0, tailWaste: 0, freeBytes: 0, fragmentation: 0, utilization: 0,
      };
      classes.set(sc, c);
    }
    c.spans++;
    c.pages += n;
    for (let q = page; q < page + n; q++) {
      pages[q]!.sizeClass = sc;
      pages[q]!.blockBytes = block;
      pages[q]!.finalizable = cls >= NUM_SIZE_CLASSES;
    }
    if (!spanGood) { torn++; continue; }
    c.slots += slots;
    c.tailWaste += n * PAGE_BYTES - SPAN_HEADER_BYTES - slots * block;
    const live: number[] = [];
    for (let s = 0; s < slots; s++) {
      const ref = base + SPAN_HEADER_BYTES + s * block;
      const e = pages[Math.floor(ref / PAGE_BYTES)]!;
      e.slots++;
      if (!testBit(u32, bw + S_ALLOC, s)) continue;
      e.live++;
      if (testBit(u32, bw + S_DIRTY, s)) e.dirty++;
      live.push(ref);
    }
    for (const ref of live) {
      const [id, bytes] = objectBytes(ref, block);
      if (id === 0) { torn++; continue; }
      const e = pages[Math.floor(ref / PAGE_BYTES)]!;
      const seen = (e.types ??= []);
      if (!seen.includes(id)) seen.push(id);
      c.objects++;
      c.liveBytes += bytes;
      c.internalWaste += block - bytes;
      tally.add(id, bytes, block);
    }
    c.freeBytes += (slots - live.length) * block;
    // A page on which no slot starts (the second page of a 7432-byte slot) shows its span's.
    for (let q = page; q < page + n; q++) {
      const e = pages[q]!;
      e.occupancy = e.slots === 0 ? live.length / slots : e.live / e.slots;
    }
  }

  const classList = [...classes.values()].sort((a, b) => a.sizeClass - b.sizeClass);
  for (const c of classList) {
    c.fragmentation = c.slots === 0 ? 0 : c.freeBytes / (c.slots * c.blockBytes);
    c.utilization = c.pages === 0 ? 0 : c.liveBytes / (c.pages * PAGE_BYTES);
  }
  const typeList: TypeSummary[] = [];
  tally.count.forEach((count, id) => {
    if (id === 0 || count === undefined) return;
    const t = types.get(id)!;
    typeList.push({ typeId: id, name: t.$name, kind: t.$kind === TK_ARRAY ? 'array' : 'struct', count, bytes: tally.bytes[id]!, footprint: tally.footprint[id]! });
  });
  typeList.sort((a, b) => b.bytes - a.bytes || a.typeId - b.typeId);

  const counts = { free: 0, small: 0, large: 0, orphan: 0, system: 0, header: 0, stray: 0 };
  const owned = new Map<number, number>();
  for (const e of pages) {
    if (e.stray) counts.stray++;
    else counts[e.kind]++;
    if (e.owner >= 0) owned.set(e.owner, (owned.get(e.owner) ?? 0) + 1);
  }
  const workers: WorkerSummary[] = [];
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    const state = Atomics.load(u32, workerWord(slot) + W_STATE);
    if (state === 0 && !owned.has(slot)) continue;
    workers.push({ slot, state: WORKER_STATE_NAMES[state] ?? `state ${state}`, threadId: u32[workerWord(slot) + W_THREAD_ID]!, pages: owned.get(slot) ?? 0 });
  }
  let objects = 0;
  let bytes = 0;
  let footprint = 0;
  for (const t of typeList) { objects += t.count; bytes += t.bytes; footprint += t.footprint; }
  return {
    pageBytes: PAGE_BYTES, headerPages, committedPages: committed, maxPages: u32[G_MAX_PAGES]!,
    pages, classes: classList, types: typeList, workers,
    totals: { objects, bytes, footprint, pages: counts },
    collections: { minor: u32[G_MINOR_COUNT]!, major: u32[G_MAJOR_COUNT]! },
    torn,
  };
}

function blankPage(index: number, kind: PageKind): PageInfo {
  return {
    index, kind, span: index, spanPages: 1, sizeClass: -1, finalizable: false, blockBytes: 0, slots: 0, live: 0,
    owner: -1, old: false, dirty: 0, occupancy: 0,
  };
}

export { KINDS as PAGE_KINDS };
