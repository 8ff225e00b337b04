// The verifier: checks every invariant of the heap, inside a pause, and lists what is broken.
//
// Invariants checked (each error message states the broken predicate):
//   page table  every non-free page belongs to a span: a head whose S_PAGES fits the arena,
//               followed by exactly its tails, each naming it (no strays); free pages name
//               no span; the free-page bitmap and count agree with the page table.
//   spans       block size, slot count and span length match the size class; no bit beyond
//               the slot count; mark bits are clear outside marking; dirty ⊆ allocated;
//               every object lies in a span of exactly its own size class, and finalizable
//               types only in their finalizable classes; past a span's written mark (S_SCAN)
//               no slot is allocated and every slot's first word is zero.
//   objects     every allocated object has a defined type (or is a quarantined dead one,
//               header ZAP_WORD), fits its block, and every ref field holds 0 or a valid
//               ref (no object points at a free or quarantined slot).
//   globals     magic, layout version, header size; committed pages within the maximum and
//               the buffer; the type count within the table.
//   roots       every live worker's root-stack chunks are root-stack spans, their slots hold
//               0 or valid refs; strong, weak and finalization handles hold 0 or valid refs;
//               every system span is reached from a control block or the handle directory;
//               the handle free list is well formed; every finalization entry is on exactly
//               one worker's queue and the pending count agrees.
//   lists       each central list holds small spans of its own class and generation, without
//               cycles: partly free ones, and on the young lists also empty spans a minor
//               collection kept warm for the allocators (sweep.ts).
//   generations every page of a span agrees on the old flag; every old → young ref lies in a
//               dirty slot (or card) of a span in the remembered set; the remembered set
//               names only head pages of old spans; no promotion unfinished.
//   workers     states are known; outside a collection every TLAB is retired in a pause.
//
// It formats a message only for what is broken: checking a clean heap costs about a mark.

import {
  ARRAY_HEADER_BYTES, ARRAY_LENGTH_WORD, BITMAP_WORDS, EK_REF, G_CENTRAL, G_CENTRAL_OLD, G_COMMITTED_PAGES, G_FINAL_PENDING,
  G_FREE_PAGES, G_HANDLE_CHUNKS, G_HANDLE_FREE, G_HEADER_BYTES, G_MAGIC, G_MAX_PAGES, G_TYPE_COUNT, G_VERSION,
  HANDLE_DIR_WORD, LAYOUT_VERSION, MAGIC, MAX_TYPES, W_FINAL_HEAD, HDR_TYPE_MASK, H_META, H_NEXT, H_REF, HK_FINAL,
  HK_FREE, HK_MASK, HK_STRONG, HK_WEAK, MAX_WORKERS, NUM_ALLOC_CLASSES, PAGE_BYTES, PAGE_KIND_NAMES, PK_FREE,
  PK_HEADER, PK_LARGE_HEAD, PK_SMALL_HEAD, PK_SYSTEM_HEAD, REFMAP_WORD, SPAN_HEADER_BYTES, S_ALLOC, S_BLOCK_BYTES,
  S_CHUNK_PREV, S_DIRTY, S_MARK, S_NEXT, S_PAGES, S_SCAN, S_SLOTS, SCAN_WRITTEN_SHIFT, SYS_HANDLE_CHUNK, SYS_ROOT_STACK, TF_FINALIZE, TK_ARRAY,
  TK_STRUCT, TLAB_LIMIT, TLAB_WORDS, TYPE_TABLE_WORD, TYPE_WORDS, T_BYTES, T_KIND, T_REF_COUNT, T_REF_START,
  AGE_PROMOTING, PI_OLD, S_AGE, W_PIN, W_ROOT_SPAN, W_ROOT_SPARE, W_ROOT_TOP, W_STATE, W_TLAB, WS_DEAD, ZAP_WORD, workerWord,
} from '../heap/layout.js';
import { CLASS_BLOCK_BYTES, CLASS_SLOTS, CLASS_SPAN_PAGES, MAX_SMALL_BYTES, NUM_SIZE_CLASSES } from '../heap/sizeclasses.js';
import { CLASS_OF_GRANULES } from '../heap/types.js';
import { NOT_TLAB_AWARE, REF_OK, REF_PROBLEMS, classifyRef } from '../heap/check.js';
import { handleCapacity, handleWord } from '../heap/handles.js';
import { RootChunkWalker, chunkEnd, chunkSlots } from '../heap/roots.js';
import {
  SpanWalker, WALK_BAD_HEAD, WALK_SPAN, infoClass, infoKind, pageInfo, pageSpan,
} from '../heap/spans.js';
import type { Arena } from '../heap/arena.js';
import { isLiveState } from './recover.js';
import { uncoveredYoungRef } from './remset.js';
import type { RemarkResult } from './sanity.js';

export interface VerifyResult {
  ok: boolean;
  errors: string[];
  /** Objects and pages looked at, so a caller can tell an empty check from a clean one. */
  checkedObjects: number;
  checkedPages: number;
  /** With { remark: true } on a sound heap: the heap marked again from scratch (sanity.ts). */
  remark?: RemarkResult;
}

const MAX_ERRORS = 100;

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** Collects errors; checks refs without building a message unless one is broken. */
class Checker {
  readonly errors: string[] = [];
  checkedObjects = 0;
  checkedPages = 0;
  constructor(readonly u32: Uint32Array, readonly f32: Float32Array) {}

  fail(msg: string): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push(msg);
  }

  /** Returns the problem code of a ref that is neither 0 nor valid, else REF_OK. */
  bad(ref: number): number {
    return ref === 0 ? REF_OK : classifyRef(this.u32, this.f32, ref, NOT_TLAB_AWARE);
  }

  ref(ref: number, where: () => string): void {
    const c = this.bad(ref);
    if (c !== REF_OK) this.fail(`${where()} holds ${hex(ref)}, which is ${REF_PROBLEMS[c]}`);
  }
}

export function verifyHeap(arena: Arena, walker: SpanWalker): VerifyResult {
  arena.ensureViews();
  const c = new Checker(arena.u32, arena.f32);
  try {
    verifyAll(arena, walker, c);
  } catch (e) {
    c.fail(`verifier stopped on an exception: ${(e as Error).message}`);
  }
  return { ok: c.errors.length === 0, errors: c.errors, checkedObjects: c.checkedObjects, checkedPages: c.checkedPages };
}

function verifyAll(arena: Arena, walker: SpanWalker, c: Checker): void {
  const u32 = arena.u32;
  const { headerPages, freeBitmapWord } = arena.layout;
  const committed = Atomics.load(u32, G_COMMITTED_PAGES);
  const typeCount = Atomics.load(u32, G_TYPE_COUNT);

  // Globals.
  if (u32[G_MAGIC] !== MAGIC) c.fail(`global word ${G_MAGIC} (magic) is ${hex(u32[G_MAGIC]!)}, not ${hex(MAGIC)}`);
  if (u32[G_VERSION] !== LAYOUT_VERSION) c.fail(`layout version word is ${u32[G_VERSION]}, not ${LAYOUT_VERSION}`);
  if (u32[G_HEADER_BYTES] !== arena.layout.headerBytes) c.fail(`header-bytes word is ${u32[G_HEADER_BYTES]}, the layout says ${arena.layout.headerBytes}`);
  if (!(headerPages < committed && committed <= u32[G_MAX_PAGES]! && committed * PAGE_BYTES <= arena.buffer.byteLength)) {
    c.fail(`committed pages ${committed} not within (header ${headerPages}, max ${u32[G_MAX_PAGES]}] or beyond the buffer (${arena.buffer.byteLength} bytes)`);
  }
  if (typeCount >= MAX_TYPES) c.fail(`type count ${typeCount} exceeds the table (${MAX_TYPES - 1})`);

  // Page table, page by page: header pages, free pages and the bitmap.
  let freeCount = 0;
  for (let p = 0; p < committed; p++) {
    c.checkedPages++;
    const kind = infoKind(pageInfo(u32, p));
    const freeBit = (u32[freeBitmapWord + (p >>> 5)]! >>> (p & 31)) & 1;
    if (p < headerPages) {
      if (kind !== PK_HEADER) c.fail(`page ${p} is in the arena header but its kind is ${PAGE_KIND_NAMES[kind]}`);
    } else if (kind === PK_FREE) {
      freeCount++;
      if (pageSpan(u32, p) !== 0) c.fail(`free page ${p} points at span ${hex(pageSpan(u32, p))}`);
      if (freeBit !== 1) c.fail(`free page ${p} is missing from the free-page bitmap`);
    } else if (freeBit !== 0) {
      c.fail(`page ${p} (${PAGE_KIND_NAMES[kind]}) is in use but marked free in the bitmap`);
    }
  }
  if (freeCount !== Atomics.load(u32, G_FREE_PAGES)) c.fail(`free-page count is ${Atomics.load(u32, G_FREE_PAGES)} but ${freeCount} pages are free`);

  // System spans reached from control blocks and the handle directory.
  const systemRefs = new Map<number, string>();
  const chunks = u32[G_HANDLE_CHUNKS]!;
  for (let h = 0; h < chunks; h++) systemRefs.set(u32[HANDLE_DIR_WORD + h]!, 'handle chunk');
  const roots = new RootChunkWalker();
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    const ctl = workerWord(slot);
    const state = Atomics.load(u32, ctl + W_STATE);
    if (state > WS_DEAD) c.fail(`worker ${slot} has unknown state ${state}`);
    if (!isLiveState(state) && state !== WS_DEAD) continue;
    for (roots.reset(u32, ctl, committed); roots.next();) systemRefs.set(roots.current, 'root stack');
    let n = 0;
    for (let s = u32[ctl + W_ROOT_SPARE]!; s !== 0 && n++ <= committed; s = u32[(s >>> 2) + S_CHUNK_PREV]!) systemRefs.set(s, 'root stack');
  }

  // Spans, head by head.
  walker.reset(u32, headerPages, committed);
  while (walker.next()) {
    if (walker.what === WALK_BAD_HEAD) {
      c.fail(`span at page ${walker.page} claims ${u32[(walker.base >>> 2) + S_PAGES]} pages (committed: ${committed})`);
      continue;
    }
    if (walker.what !== WALK_SPAN) {
      c.fail(`page ${walker.page} is a ${PAGE_KIND_NAMES[walker.kind] ?? `kind ${walker.kind}`} page without a span head before it`);
      continue;
    }
    const { base, page, pages, info, kind } = walker;
    if (pageSpan(u32, page) !== base) c.fail(`span head page ${page} points at ${hex(pageSpan(u32, page))}, not at itself`);
    for (let q = page + 1; q < page + pages; q++) {
      if (infoKind(pageInfo(u32, q)) !== kind + 1 || pageSpan(u32, q) !== base) {
        c.fail(`page ${q} should be a tail of the span at page ${page} but is ${PAGE_KIND_NAMES[infoKind(pageInfo(u32, q))]} pointing at ${hex(pageSpan(u32, q))}`);
      }
    }
    if (kind === PK_SMALL_HEAD) verifySmallSpan(u32, base, info, typeCount, c);
    else if (kind === PK_LARGE_HEAD) verifyLargeSpan(u32, base, typeCount, c);
    if ((kind === PK_SMALL_HEAD || kind === PK_LARGE_HEAD) && (info & PI_OLD) !== 0) {
      const uncovered = uncoveredYoungRef(u32, arena.layout.remsetWord, base);
      if (uncovered !== null) c.fail(`remembered set: ${uncovered}`);
    }
    if (kind !== PK_SYSTEM_HEAD) {
      for (let q = page; q < page + pages; q++) {
        if (((pageInfo(u32, q) ^ info) & PI_OLD) !== 0) c.fail(`page ${q} of the span at page ${page} disagrees with its head on the old-generation flag`);
      }
      if ((info & PI_OLD) !== 0 && u32[(base >>> 2) + S_AGE] === AGE_PROMOTING) c.fail(`old span ${hex(base)} was promoted but its dirty bits were never computed`);
    }
    else if (kind === PK_SYSTEM_HEAD) {
      const cls = infoClass(info);
      const named = systemRefs.get(base);
      if (cls !== SYS_ROOT_STACK && cls !== SYS_HANDLE_CHUNK) c.fail(`system span ${hex(base)} has class ${cls}`);
      else if (named === undefined) c.fail(`system span ${hex(base)} (${cls === SYS_ROOT_STACK ? 'root stack' : 'handle chunk'}) is reached from no control block and not from the handle directory`);
      else if (named !== (cls === SYS_ROOT_STACK ? 'root stack' : 'handle chunk')) c.fail(`system span ${hex(base)} of class ${cls} is used as a ${named}`);
      systemRefs.delete(base);
    }
  }
  for (const [base, what] of systemRefs) c.fail(`${what} ${hex(base)} is not a system span in the page table`);

  // Roots.
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    const ctl = workerWord(slot);
    if (!isLiveState(Atomics.load(u32, ctl + W_STATE))) continue;
    for (roots.reset(u32, ctl, committed); roots.next();) {
      const chunk = roots.current;
      if (!(chunkSlots(chunk) <= roots.to && roots.to <= chunkEnd(chunk))) {
        c.fail(`worker ${slot}: root chunk ${hex(chunk)} has top ${roots.to} outside its slots [${chunkSlots(chunk)}, ${chunkEnd(chunk)}]`);
        continue;
      }
      for (let r = roots.from; r < roots.to; r++) {
        const bad = c.bad(u32[r]!);
        if (bad !== REF_OK) c.fail(`worker ${slot} root slot ${r} holds ${hex(u32[r]!)}, which is ${REF_PROBLEMS[bad]}`);
      }
    }
    if (u32[ctl + W_ROOT_SPAN] !== 0 && u32[ctl + W_ROOT_TOP]! > chunkEnd(u32[ctl + W_ROOT_SPAN]!)) c.fail(`worker ${slot}: root top beyond its chunk`);
    c.ref(u32[ctl + W_PIN]!, () => `worker ${slot}'s pinned ref`);
    for (let k = 0; k < NUM_ALLOC_CLASSES; k++) {
      if (u32[ctl + W_TLAB + k * TLAB_WORDS + TLAB_LIMIT] !== 0) c.fail(`worker ${slot}: TLAB of class ${k} is not retired inside a pause`);
    }
  }
  const handles = handleCapacity(u32);
  let freeHandles = 0;
  let finals = 0;
  for (let h = 0; h < handles; h++) {
    const w = handleWord(u32, h);
    const k = u32[w + H_META]! & HK_MASK;
    if (k === HK_STRONG || k === HK_WEAK || k === HK_FINAL) c.ref(u32[w + H_REF]!, () => `handle ${h}`);
    else if (k === HK_FREE) freeHandles++;
    else c.fail(`handle ${h} has unknown kind ${k}`);
    if (k === HK_FINAL) finals++;
  }
  // Finalization queues: every final entry is on exactly one worker's queue, and the
  // pending count agrees.
  let queued = 0;
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    for (let f = u32[workerWord(slot) + W_FINAL_HEAD]!; f !== 0; f = u32[handleWord(u32, f - 1) + H_NEXT]!) {
      if (++queued > handles) { c.fail(`finalization queue of worker ${slot} has a cycle`); break; }
      if ((u32[handleWord(u32, f - 1) + H_META]! & HK_MASK) !== HK_FINAL) { c.fail(`finalization queue of worker ${slot} holds handle ${f - 1}, which is not a finalization entry`); break; }
    }
  }
  if (queued !== finals) c.fail(`${finals} finalization entries exist but the queues hold ${queued}`);
  if (Atomics.load(u32, G_FINAL_PENDING) !== finals) c.fail(`pending-finalizer count is ${Atomics.load(u32, G_FINAL_PENDING)} but ${finals} objects are queued`);

  let listed = 0;
  for (let f = u32[G_HANDLE_FREE]!; f !== 0 && listed <= handles; listed++) {
    const w = handleWord(u32, f - 1);
    if ((u32[w + H_META]! & HK_MASK) !== HK_FREE) { c.fail(`handle ${f - 1} is on the free list but in use`); break; }
    f = u32[w + H_NEXT]!;
  }
  if (listed !== freeHandles) c.fail(`handle free list holds ${listed} entries but ${freeHandles} handles are free`);

  // Central lists: young spans on the young lists, old ones on the old lists.
  for (const [list, old] of [[G_CENTRAL, false], [G_CENTRAL_OLD, true]] as const) {
    for (let k = 0; k < NUM_ALLOC_CLASSES; k++) {
      let steps = 0;
      for (let s = u32[list + k]!; s !== 0; s = u32[(s >>> 2) + S_NEXT]!) {
        if (++steps > committed) { c.fail(`central list of class ${k} has a cycle`); break; }
        const info = pageInfo(u32, s / PAGE_BYTES);
        if (infoKind(info) !== PK_SMALL_HEAD || infoClass(info) !== k) {
          c.fail(`central list of class ${k} holds ${hex(s)}, which is not a span of that class`);
          break;
        }
        if (((info & PI_OLD) !== 0) !== old) c.fail(`the ${old ? 'old' : 'young'} central list of class ${k} holds a ${old ? 'young' : 'old'} span ${hex(s)}`);
      }
    }
  }

  // The remembered set names old span heads only.
  const { remsetWord, freeBitmapWords } = arena.layout;
  for (let w = 0; w < freeBitmapWords; w++) {
    let bits = u32[remsetWord + w]! | 0;
    while (bits !== 0) {
      const bit = bits & -bits;
      bits ^= bit;
      const p = (w << 5) + (31 - Math.clz32(bit));
      const info = pageInfo(u32, p);
      const kind = infoKind(info);
      if ((info & PI_OLD) === 0 || (kind !== PK_SMALL_HEAD && kind !== PK_LARGE_HEAD)) c.fail(`the remembered set names page ${p}, which is not the head of an old span`);
    }
  }

  // Type table.
  for (let id = 1; id <= typeCount; id++) {
    const k = u32[TYPE_TABLE_WORD + id * TYPE_WORDS + T_KIND]! & 0xff;
    if (k !== TK_STRUCT && k !== TK_ARRAY) c.fail(`type ${id} has kind ${k}`);
  }
}

function verifySmallSpan(u32: Uint32Array, base: number, info: number, typeCount: number, c: Checker): void {
  const bw = base >>> 2;
  const cls = infoClass(info);
  if (cls >= NUM_ALLOC_CLASSES) { c.fail(`span ${hex(base)} has class ${cls}`); return; }
  const sc = cls % NUM_SIZE_CLASSES;
  const block = u32[bw + S_BLOCK_BYTES]!;
  const slots = u32[bw + S_SLOTS]!;
  if (block !== CLASS_BLOCK_BYTES[sc] || slots !== CLASS_SLOTS[sc] || u32[bw + S_PAGES] !== CLASS_SPAN_PAGES[sc]) {
    c.fail(`span ${hex(base)} of class ${cls}: block ${block}, slots ${slots}, pages ${u32[bw + S_PAGES]} do not match the class (${CLASS_BLOCK_BYTES[sc]}, ${CLASS_SLOTS[sc]}, ${CLASS_SPAN_PAGES[sc]})`);
    return;
  }
  const finalizableClass = cls >= NUM_SIZE_CLASSES;
  // Slots from the written mark on were never handed out since the pages came zeroed from
  // the system, and the allocator will not zero them: nothing may be allocated or written there.
  const written = u32[bw + S_SCAN]! >>> SCAN_WRITTEN_SHIFT;
  if (written > slots) c.fail(`span ${hex(base)}: written mark ${written} beyond its ${slots} slots`);
  for (let slot = written; slot < slots; slot++) {
    if (u32[(base + SPAN_HEADER_BYTES + slot * block) >>> 2] !== 0) {
      c.fail(`span ${hex(base)}: slot ${slot} lies past the written mark ${written} but is not zero`);
      break;
    }
  }
  for (let w = 0; w < BITMAP_WORDS; w++) {
    const a = u32[bw + S_ALLOC + w]!;
    if (u32[bw + S_MARK + w] !== 0) c.fail(`span ${hex(base)}: mark bits set outside a collection (word ${w})`);
    if ((u32[bw + S_DIRTY + w]! & ~a) !== 0) c.fail(`span ${hex(base)}: dirty bits on unallocated slots (word ${w})`);
    const beyond = Math.max(0, Math.min(32, (w << 5) + 32 - slots));
    if (beyond > 0 && ((a >>> (32 - beyond)) !== 0)) c.fail(`span ${hex(base)}: allocated bits beyond its ${slots} slots (word ${w})`);
    let bits = a | 0;
    while (bits !== 0) {
      const bit = bits & -bits;
      bits ^= bit;
      const slot = (w << 5) + (31 - Math.clz32(bit));
      if (slot >= slots) continue;
      if (slot >= written) c.fail(`span ${hex(base)}: slot ${slot} is allocated past the written mark ${written}`);
      const ref = base + SPAN_HEADER_BYTES + slot * block;
      if (u32[ref >>> 2] === ZAP_WORD) continue; // dead, quarantined until the next collection
      const needs = verifyObject(u32, ref, block, typeCount, finalizableClass, c);
      if (needs > 0 && needs <= MAX_SMALL_BYTES && CLASS_OF_GRANULES[(needs + 7) >>> 3] !== sc) {
        c.fail(`object ${hex(ref)} needs ${needs} bytes (class ${CLASS_OF_GRANULES[(needs + 7) >>> 3]}) but lies in a span of class ${sc}`);
      }
      c.checkedObjects++;
    }
  }
}

function verifyLargeSpan(u32: Uint32Array, base: number, typeCount: number, c: Checker): void {
  const bw = base >>> 2;
  if (u32[bw + S_SLOTS] !== 1) c.fail(`large span ${hex(base)} has ${u32[bw + S_SLOTS]} slots`);
  if (u32[bw + S_MARK] !== 0) c.fail(`large span ${hex(base)}: mark bit set outside a collection`);
  if ((u32[bw + S_ALLOC]! & 1) === 0) { c.fail(`large span ${hex(base)} holds no allocated object`); return; }
  const capacity = u32[bw + S_PAGES]! * PAGE_BYTES - SPAN_HEADER_BYTES;
  if (u32[(base + SPAN_HEADER_BYTES) >>> 2] === ZAP_WORD) return; // quarantined
  verifyObject(u32, base + SPAN_HEADER_BYTES, capacity, typeCount, null, c);
  c.checkedObjects++;
}

/** Checks one object; returns the bytes it needs (0 when its type is unknown). */
function verifyObject(u32: Uint32Array, ref: number, capacity: number, typeCount: number, finalizableClass: boolean | null, c: Checker): number {
  const word = ref >>> 2;
  const id = u32[word]! & HDR_TYPE_MASK;
  if (id === 0 || id > typeCount) { c.fail(`object ${hex(ref)} has header ${hex(u32[word]!)}: type id ${id} is not defined`); return 0; }
  const tw = TYPE_TABLE_WORD + id * TYPE_WORDS;
  const kind = u32[tw + T_KIND]!;
  if (finalizableClass !== null && (((kind >>> 16) & TF_FINALIZE) !== 0) !== finalizableClass) {
    c.fail(`object ${hex(ref)} of type ${id} is in a span of the wrong finalization class`);
  }
  if ((kind & 0xff) === TK_STRUCT) {
    if (u32[tw + T_BYTES]! > capacity) c.fail(`object ${hex(ref)}: type ${id} needs ${u32[tw + T_BYTES]} bytes, its block has ${capacity}`);
    const start = REFMAP_WORD + u32[tw + T_REF_START]!;
    const n = u32[tw + T_REF_COUNT]!;
    for (let r = 0; r < n; r++) {
      const v = u32[word + u32[start + r]!]!;
      const bad = c.bad(v);
      if (bad !== REF_OK) c.fail(`field at byte ${u32[start + r]! << 2} of object ${hex(ref)} (type ${id}) holds ${hex(v)}, which is ${REF_PROBLEMS[bad]}`);
    }
    return u32[tw + T_BYTES]!;
  }
  const len = u32[word + ARRAY_LENGTH_WORD]!;
  const bytes = ARRAY_HEADER_BYTES + len * u32[tw + T_BYTES]!;
  if (bytes > capacity) { c.fail(`array ${hex(ref)} of type ${id}: length ${len} needs ${bytes} bytes, its block has ${capacity}`); return 0; }
  if (((kind >>> 8) & 0xff) === EK_REF) {
    for (let e = 0; e < len; e++) {
      const v = u32[word + 2 + e]!;
      const bad = c.bad(v);
      if (bad !== REF_OK) c.fail(`element ${e} of array ${hex(ref)} (type ${id}) holds ${hex(v)}, which is ${REF_PROBLEMS[bad]}`);
    }
  }
  return bytes;
}
