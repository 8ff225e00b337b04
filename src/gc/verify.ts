// The verifier: checks every invariant of the heap, inside a pause, and lists what is broken.
//
// Invariants checked (each error message states the broken predicate):
//   page table  a span's head page points at itself, its tails at the head, with the same
//               class and owner; free pages point nowhere; the free-page bitmap and count
//               agree with the page table.
//   spans       block size, slot count and span length match the size class; no bit beyond
//               the slot count; mark bits are clear outside marking; dirty ⊆ allocated;
//               every object lies in a span of exactly its own size class, and finalizable
//               types only in their finalizable classes.
//   objects     every allocated object has a defined type, fits its block, and every ref
//               field holds 0 or a valid ref (no live object points at a free slot).
//   globals     magic, layout version, header size; committed pages within the maximum and
//               the buffer; the type count within the table.
//   roots       root-stack entries and strong, weak and finalization handles hold 0 or a
//               valid ref; the handle free list is well formed; every finalization entry
//               is on exactly one worker's queue and the pending count agrees.
//   lists       central lists hold partly free spans of their own class, without cycles.
//   workers     states are known; outside a collection every TLAB is retired in a pause.

import {
  ARRAY_HEADER_BYTES, ARRAY_LENGTH_WORD, BITMAP_WORDS, EK_REF, G_CENTRAL, G_COMMITTED_PAGES, G_FINAL_PENDING,
  G_FREE_PAGES, G_HANDLE_FREE, G_HEADER_BYTES, G_MAGIC, G_MAX_PAGES, G_TYPE_COUNT, G_VERSION, LAYOUT_VERSION, MAGIC,
  MAX_TYPES, W_FINAL_HEAD, HDR_TYPE_MASK, H_META, H_NEXT, H_REF, HK_FINAL, HK_FREE, HK_MASK, HK_STRONG,
  HK_WEAK, MAX_WORKERS, NUM_ALLOC_CLASSES, PAGE_LOG, PAGE_TABLE_WORD, PI_CLASS_MASK, PI_CLASS_SHIFT, PI_KIND_MASK,
  PK_FREE, PK_HEADER, PK_LARGE_HEAD, PK_SMALL_HEAD, PK_SYSTEM_HEAD,
  PAGE_KIND_NAMES, PT_INFO, PT_SPAN, PT_WORDS, REFMAP_WORD, SPAN_HEADER_BYTES, S_ALLOC, S_BLOCK_BYTES, S_DIRTY,
  S_MARK, S_NEXT, S_PAGES, S_SLOTS, TF_FINALIZE, TK_ARRAY, TK_STRUCT, TLAB_LIMIT, TLAB_WORDS, TYPE_TABLE_WORD,
  TYPE_WORDS, T_BYTES, T_KIND, T_REF_COUNT, T_REF_START, W_ROOT_BASE, W_ROOT_LIMIT, W_ROOT_TOP, W_STATE, W_TLAB,
  WS_DEAD, WS_PARKED, WS_RUNNING, WS_STOPPED, workerWord, W_ROOT_SPAN, SYS_ROOT_STACK, PI_OWNER_SHIFT,
} from '../heap/layout.js';
import { CLASS_BLOCK_BYTES, CLASS_SLOTS, CLASS_SPAN_PAGES, MAX_SMALL_BYTES, NUM_SIZE_CLASSES } from '../heap/sizeclasses.js';
import { CLASS_OF_GRANULES } from '../heap/types.js';
import { REF_OK, REF_PROBLEMS, classifyRef } from '../heap/check.js';
import { handleCapacity, handleWord } from '../heap/handles.js';
import type { Arena } from '../heap/arena.js';

export interface VerifyResult {
  ok: boolean;
  errors: string[];
  /** Objects and pages looked at, so a caller can tell an empty check from a clean one. */
  checkedObjects: number;
  checkedPages: number;
}

const MAX_ERRORS = 100;

export function verifyHeap(arena: Arena): VerifyResult {
  const errors: string[] = [];
  const result: VerifyResult = { ok: true, errors, checkedObjects: 0, checkedPages: 0 };
  const fail = (msg: string): void => {
    if (errors.length < MAX_ERRORS) errors.push(msg);
  };
  try {
    verifyAll(arena, fail, result);
  } catch (e) {
    fail(`verifier stopped on an exception: ${(e as Error).message}`);
  }
  result.ok = errors.length === 0;
  return result;
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

function verifyAll(arena: Arena, fail: (m: string) => void, result: VerifyResult): void {
  arena.ensureViews();
  const u32 = arena.u32;
  const { headerPages, freeBitmapWord } = arena.layout;
  const committed = Atomics.load(u32, G_COMMITTED_PAGES);
  const typeCount = Atomics.load(u32, G_TYPE_COUNT);

  // Globals.
  if (u32[G_MAGIC] !== MAGIC) fail(`global word ${G_MAGIC} (magic) is ${hex(u32[G_MAGIC]!)}, not ${hex(MAGIC)}`);
  if (u32[G_VERSION] !== LAYOUT_VERSION) fail(`layout version word is ${u32[G_VERSION]}, not ${LAYOUT_VERSION}`);
  if (u32[G_HEADER_BYTES] !== arena.layout.headerBytes) fail(`header-bytes word is ${u32[G_HEADER_BYTES]}, the layout says ${arena.layout.headerBytes}`);
  if (!(headerPages < committed && committed <= u32[G_MAX_PAGES]! && committed << PAGE_LOG <= arena.buffer.byteLength)) {
    fail(`committed pages ${committed} not within (header ${headerPages}, max ${u32[G_MAX_PAGES]}] or beyond the buffer (${arena.buffer.byteLength} bytes)`);
  }
  if (typeCount >= MAX_TYPES) fail(`type count ${typeCount} exceeds the table (${MAX_TYPES - 1})`);

  const refOk = (ref: number, where: string): void => {
    if (ref === 0) return;
    const c = classifyRef(u32, ref, false);
    if (c !== REF_OK) fail(`${where} holds ${hex(ref)}, which is ${REF_PROBLEMS[c]}`);
  };

  // Page table and spans.
  let freeCount = 0;
  for (let p = 0; p < committed; ) {
    result.checkedPages++;
    const pt = PAGE_TABLE_WORD + p * PT_WORDS;
    const info = u32[pt + PT_INFO]!;
    const kind = info & PI_KIND_MASK;
    const freeBit = (u32[freeBitmapWord + (p >>> 5)]! >>> (p & 31)) & 1;
    if (p < headerPages) {
      if (kind !== PK_HEADER) fail(`page ${p} is in the arena header but its kind is ${PAGE_KIND_NAMES[kind]}`);
      p++;
      continue;
    }
    if (kind === PK_FREE) {
      freeCount++;
      if (u32[pt + PT_SPAN] !== 0) fail(`free page ${p} points at span ${hex(u32[pt + PT_SPAN]!)}`);
      if (freeBit !== 1) fail(`free page ${p} is missing from the free-page bitmap`);
      p++;
      continue;
    }
    if (freeBit !== 0) fail(`page ${p} (${PAGE_KIND_NAMES[kind]}) is in use but marked free in the bitmap`);
    if (kind !== PK_SMALL_HEAD && kind !== PK_LARGE_HEAD && kind !== PK_SYSTEM_HEAD) {
      fail(`page ${p} is a ${PAGE_KIND_NAMES[kind] ?? `kind ${kind}`} page without a span head before it`);
      p++;
      continue;
    }
    const base = p << PAGE_LOG;
    if (u32[pt + PT_SPAN] !== base) fail(`span head page ${p} points at ${hex(u32[pt + PT_SPAN]!)}, not at itself`);
    const bw = base >>> 2;
    const pages = u32[bw + S_PAGES]!;
    if (pages < 1 || p + pages > committed) {
      fail(`span at page ${p} claims ${pages} pages (committed: ${committed})`);
      p++;
      continue;
    }
    const tailKind = kind + 1;
    for (let q = p + 1; q < p + pages; q++) {
      const qt = PAGE_TABLE_WORD + q * PT_WORDS;
      if ((u32[qt + PT_INFO]! & PI_KIND_MASK) !== tailKind || u32[qt + PT_SPAN] !== base) {
        fail(`page ${q} should be a tail of the span at page ${p} but is ${PAGE_KIND_NAMES[u32[qt + PT_INFO]! & PI_KIND_MASK]} pointing at ${hex(u32[qt + PT_SPAN]!)}`);
      }
      if ((u32[freeBitmapWord + (q >>> 5)]! >>> (q & 31)) & 1) fail(`tail page ${q} is marked free in the bitmap`);
    }
    if (kind === PK_SMALL_HEAD) verifySmallSpan(u32, base, info, typeCount, refOk, fail, result);
    else if (kind === PK_LARGE_HEAD) verifyLargeSpan(u32, base, typeCount, refOk, fail, result);
    p += pages;
  }
  if (freeCount !== Atomics.load(u32, G_FREE_PAGES)) fail(`free-page count is ${Atomics.load(u32, G_FREE_PAGES)} but ${freeCount} pages are free`);

  // Roots.
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    const ctl = workerWord(slot);
    const state = Atomics.load(u32, ctl + W_STATE);
    if (state > WS_DEAD) fail(`worker ${slot} has unknown state ${state}`);
    if (state !== WS_PARKED && state !== WS_RUNNING && state !== WS_STOPPED) continue;
    const base = u32[ctl + W_ROOT_BASE]!;
    const top = u32[ctl + W_ROOT_TOP]!;
    const limit = u32[ctl + W_ROOT_LIMIT]!;
    if (!(base <= top && top <= limit)) fail(`worker ${slot}: root stack base ${base} <= top ${top} <= limit ${limit} does not hold`);
    const span = u32[ctl + W_ROOT_SPAN]!;
    if (span !== 0) {
      const info = u32[PAGE_TABLE_WORD + (span >>> PAGE_LOG) * PT_WORDS + PT_INFO]!;
      if ((info & PI_KIND_MASK) !== PK_SYSTEM_HEAD || ((info >>> PI_CLASS_SHIFT) & PI_CLASS_MASK) !== SYS_ROOT_STACK || info >>> PI_OWNER_SHIFT !== slot) {
        fail(`worker ${slot}: its root stack ${hex(span)} is not a root-stack span it owns (page info ${hex(info)})`);
      }
      if (base !== (span >>> 2) + SPAN_HEADER_BYTES / 4) fail(`worker ${slot}: root stack base ${base} is not the start of its span ${hex(span)}`);
    }
    for (let r = base; r < top && r < limit; r++) refOk(u32[r]!, `worker ${slot} root slot ${r - base}`);
    for (let c = 0; c < NUM_ALLOC_CLASSES; c++) {
      if (u32[ctl + W_TLAB + c * TLAB_WORDS + TLAB_LIMIT] !== 0) fail(`worker ${slot}: TLAB of class ${c} is not retired inside a pause`);
    }
  }
  const handles = handleCapacity(u32);
  let freeHandles = 0;
  for (let h = 0; h < handles; h++) {
    const w = handleWord(u32, h);
    const k = u32[w + H_META]! & HK_MASK;
    if (k === HK_STRONG || k === HK_WEAK || k === HK_FINAL) refOk(u32[w + H_REF]!, `handle ${h}`);
    else if (k === HK_FREE) freeHandles++;
    else fail(`handle ${h} has unknown kind ${k}`);
  }
  // Finalization queues: every final entry is on exactly one worker's queue, and the
  // pending count agrees.
  let finals = 0;
  for (let h = 0; h < handles; h++) if ((u32[handleWord(u32, h) + H_META]! & HK_MASK) === HK_FINAL) finals++;
  let queued = 0;
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    for (let f = u32[workerWord(slot) + W_FINAL_HEAD]!; f !== 0; f = u32[handleWord(u32, f - 1) + H_NEXT]!) {
      if (++queued > handles) { fail(`finalization queue of worker ${slot} has a cycle`); break; }
      if ((u32[handleWord(u32, f - 1) + H_META]! & HK_MASK) !== HK_FINAL) { fail(`finalization queue of worker ${slot} holds handle ${f - 1}, which is not a finalization entry`); break; }
    }
  }
  if (queued !== finals) fail(`${finals} finalization entries exist but the queues hold ${queued}`);
  if (Atomics.load(u32, G_FINAL_PENDING) !== finals) fail(`pending-finalizer count is ${Atomics.load(u32, G_FINAL_PENDING)} but ${finals} objects are queued`);

  let listed = 0;
  for (let f = u32[G_HANDLE_FREE]!; f !== 0 && listed <= handles; listed++) {
    const w = handleWord(u32, f - 1);
    if ((u32[w + H_META]! & HK_MASK) !== HK_FREE) { fail(`handle ${f - 1} is on the free list but in use`); break; }
    f = u32[w + H_NEXT]!;
  }
  if (listed !== freeHandles) fail(`handle free list holds ${listed} entries but ${freeHandles} handles are free`);

  // Central lists.
  for (let c = 0; c < NUM_ALLOC_CLASSES; c++) {
    let steps = 0;
    for (let s = u32[G_CENTRAL + c]!; s !== 0; s = u32[(s >>> 2) + S_NEXT]!) {
      if (++steps > committed) { fail(`central list of class ${c} has a cycle`); break; }
      const info = u32[PAGE_TABLE_WORD + (s >>> PAGE_LOG) * PT_WORDS + PT_INFO]!;
      if ((info & PI_KIND_MASK) !== PK_SMALL_HEAD || ((info >>> PI_CLASS_SHIFT) & PI_CLASS_MASK) !== c) {
        fail(`central list of class ${c} holds ${hex(s)}, which is not a span of that class`);
        break;
      }
    }
  }

  // Type table.
  for (let id = 1; id <= typeCount; id++) {
    const k = u32[TYPE_TABLE_WORD + id * TYPE_WORDS + T_KIND]! & 0xff;
    if (k !== TK_STRUCT && k !== TK_ARRAY) fail(`type ${id} has kind ${k}`);
  }
}

function verifySmallSpan(
  u32: Uint32Array, base: number, info: number, typeCount: number,
  refOk: (ref: number, where: string) => void, fail: (m: string) => void, result: VerifyResult,
): void {
  const bw = base >>> 2;
  const cls = (info >>> PI_CLASS_SHIFT) & PI_CLASS_MASK;
  if (cls >= NUM_ALLOC_CLASSES) { fail(`span ${hex(base)} has class ${cls}`); return; }
  const sc = cls % NUM_SIZE_CLASSES;
  const block = u32[bw + S_BLOCK_BYTES]!;
  const slots = u32[bw + S_SLOTS]!;
  if (block !== CLASS_BLOCK_BYTES[sc] || slots !== CLASS_SLOTS[sc] || u32[bw + S_PAGES] !== CLASS_SPAN_PAGES[sc]) {
    fail(`span ${hex(base)} of class ${cls}: block ${block}, slots ${slots}, pages ${u32[bw + S_PAGES]} do not match the class (${CLASS_BLOCK_BYTES[sc]}, ${CLASS_SLOTS[sc]}, ${CLASS_SPAN_PAGES[sc]})`);
    return;
  }
  const finalizableClass = cls >= NUM_SIZE_CLASSES;
  for (let w = 0; w < BITMAP_WORDS; w++) {
    const a = u32[bw + S_ALLOC + w]!;
    if (u32[bw + S_MARK + w] !== 0) fail(`span ${hex(base)}: mark bits set outside a collection (word ${w})`);
    if ((u32[bw + S_DIRTY + w]! & ~a) !== 0) fail(`span ${hex(base)}: dirty bits on unallocated slots (word ${w})`);
    const beyond = Math.max(0, Math.min(32, (w << 5) + 32 - slots));
    if (beyond > 0 && ((a >>> (32 - beyond)) !== 0)) fail(`span ${hex(base)}: allocated bits beyond its ${slots} slots (word ${w})`);
    let bits = a | 0;
    while (bits !== 0) {
      const bit = bits & -bits;
      bits ^= bit;
      const slot = (w << 5) + (31 - Math.clz32(bit));
      if (slot >= slots) continue;
      const ref = base + SPAN_HEADER_BYTES + slot * block;
      const needs = verifyObject(u32, ref, block, typeCount, finalizableClass, refOk, fail);
      if (needs > 0 && needs <= MAX_SMALL_BYTES && CLASS_OF_GRANULES[(needs + 7) >>> 3] !== sc) {
        fail(`object ${hex(ref)} needs ${needs} bytes (class ${CLASS_OF_GRANULES[(needs + 7) >>> 3]}) but lies in a span of class ${sc}`);
      }
      result.checkedObjects++;
    }
  }
}

function verifyLargeSpan(
  u32: Uint32Array, base: number, typeCount: number,
  refOk: (ref: number, where: string) => void, fail: (m: string) => void, result: VerifyResult,
): void {
  const bw = base >>> 2;
  if (u32[bw + S_SLOTS] !== 1) fail(`large span ${hex(base)} has ${u32[bw + S_SLOTS]} slots`);
  if (u32[bw + S_MARK] !== 0) fail(`large span ${hex(base)}: mark bit set outside a collection`);
  if ((u32[bw + S_ALLOC]! & 1) === 0) { fail(`large span ${hex(base)} holds no allocated object`); return; }
  const capacity = (u32[bw + S_PAGES]! << PAGE_LOG) - SPAN_HEADER_BYTES;
  verifyObject(u32, base + SPAN_HEADER_BYTES, capacity, typeCount, null, refOk, fail);
  result.checkedObjects++;
}

/** Checks one object; returns the bytes it needs (0 when its type is unknown). */
function verifyObject(
  u32: Uint32Array, ref: number, capacity: number, typeCount: number, finalizableClass: boolean | null,
  refOk: (ref: number, where: string) => void, fail: (m: string) => void,
): number {
  const word = ref >>> 2;
  const id = u32[word]! & HDR_TYPE_MASK;
  if (id === 0 || id > typeCount) { fail(`object ${hex(ref)} has header ${hex(u32[word]!)}: type id ${id} is not defined`); return 0; }
  const tw = TYPE_TABLE_WORD + id * TYPE_WORDS;
  const kind = u32[tw + T_KIND]!;
  if (finalizableClass !== null && (((kind >>> 16) & TF_FINALIZE) !== 0) !== finalizableClass) {
    fail(`object ${hex(ref)} of type ${id} is in a span of the wrong finalization class`);
  }
  if ((kind & 0xff) === TK_STRUCT) {
    if (u32[tw + T_BYTES]! > capacity) fail(`object ${hex(ref)}: type ${id} needs ${u32[tw + T_BYTES]} bytes, its block has ${capacity}`);
    const start = REFMAP_WORD + u32[tw + T_REF_START]!;
    const n = u32[tw + T_REF_COUNT]!;
    for (let r = 0; r < n; r++) refOk(u32[word + u32[start + r]!]!, `field at byte ${u32[start + r]! << 2} of object ${hex(ref)} (type ${id})`);
    return u32[tw + T_BYTES]!;
  }
  const len = u32[word + ARRAY_LENGTH_WORD]!;
  const bytes = ARRAY_HEADER_BYTES + len * u32[tw + T_BYTES]!;
  if (bytes > capacity) { fail(`array ${hex(ref)} of type ${id}: length ${len} needs ${bytes} bytes, its block has ${capacity}`); return 0; }
  if (((kind >>> 8) & 0xff) === EK_REF) {
    for (let e = 0; e < len; e++) refOk(u32[word + 2 + e]!, `element ${e} of array ${hex(ref)} (type ${id})`);
  }
  return bytes;
}
