// The snapshot file format: a self-describing, versioned copy of an arena.
//
// A snapshot holds what a reader needs to rebuild the arena at the addresses it had: the
// arena header (globals, worker table, type table, handle directory, page table) and every
// page that is not free. Free pages are not stored; the page table says which pages they
// are. All words are little-endian u32.
//
//  byte 0
//  +---------------------------------------------------------------------------------+
//  | preamble (PREAMBLE_BYTES = 48)                                                  |
//  |    0  magic            8 bytes, ASCII "BIBOPSNP"                                 |
//  |    8  format version   SNAPSHOT_VERSION; a reader refuses a newer one            |
//  |   12  constant count   K: how many layout constants follow the preamble         |
//  |   16  header bytes     the arena header's size (page-aligned)                    |
//  |   20  committed pages  pages the arena held                                      |
//  |   24  max pages        pages at the arena's maximum size                         |
//  |   28  stored pages     N: pages in the page section                              |
//  |   32  checksum         of every byte from 48 to the end (snapshotChecksum)       |
//  |   36  (zero)                                                                      |
//  |   40  taken at         f64, ms since the epoch (Date.now())                       |
//  +---------------------------------------------------------------------------------+
//  | layout constants       K words, in the order of SNAPSHOT_CONSTANTS: the layout  |
//  |                        this file was written with; a reader with another layout |
//  |                        refuses it, naming the constant                           |
//  +---------------------------------------------------------------------------------+
//  | page index             N words: the stored pages' numbers, ascending, each in   |
//  |                        [header pages, committed pages)                          |
//  +---------------------------------------------------------------------------------+
//  | arena header           `header bytes` bytes: arena bytes [0, header bytes)      |
//  +---------------------------------------------------------------------------------+
//  | pages                  N × PAGE_BYTES: page index[i] is at i × PAGE_BYTES here  |
//  +---------------------------------------------------------------------------------+
//  end = 48 + 4K + 4N + header bytes + N × PAGE_BYTES
//
// A page is stored exactly when its page-table entry is not free (header pages excepted:
// they are the arena header). The reader checks that too, so a file whose page table and
// page index disagree is refused before anything reads a page.

import {
  BITMAP_WORDS, GLOBAL_WORDS, HANDLE_CHUNKS_MAX, HANDLE_DIR_WORD, HANDLE_WORDS, HANDLES_PER_CHUNK, LAYOUT_VERSION,
  MAX_TYPES, MAX_WORKERS, NAMES_BYTE, NAMES_BYTES, NUM_ALLOC_CLASSES, PAGE_BYTES, PAGE_TABLE_WORD,
  PAUSE_RING_SIZE, PT_WORDS, REFMAP_WORDS, SPAN_HEADER_BYTES, TYPE_TABLE_WORD, TYPE_WORDS, WORKER_TABLE_WORD,
  WORKER_WORDS, G_COMMITTED_PAGES, G_HEADER_BYTES, G_MAGIC, G_MAX_PAGES, G_VERSION, MAGIC, PK_FREE,
  arenaLayout,
} from '../heap/layout.js';
import { NUM_SIZE_CLASSES } from '../heap/sizeclasses.js';
import { SpanWalker, infoKind } from '../heap/spans.js';
import type { Arena } from '../heap/arena.js';
import { SnapshotError } from '../errors.js';

export const SNAPSHOT_MAGIC = 'BIBOPSNP';
export const SNAPSHOT_VERSION = 1;

export const P_MAGIC = 0; // bytes 0..7
export const P_VERSION = 8;
export const P_CONSTANT_COUNT = 12;
export const P_HEADER_BYTES = 16;
export const P_COMMITTED_PAGES = 20;
export const P_MAX_PAGES = 24;
export const P_STORED_PAGES = 28;
export const P_CHECKSUM = 32;
export const P_TAKEN_AT_F64 = 40;
export const PREAMBLE_BYTES = 48;

/** The layout constants a snapshot records, in file order. A reader needs every one to equal its own. */
export const SNAPSHOT_CONSTANTS: readonly (readonly [string, number])[] = [
  ['LAYOUT_VERSION', LAYOUT_VERSION],
  ['PAGE_BYTES', PAGE_BYTES],
  ['GLOBAL_WORDS', GLOBAL_WORDS],
  ['PAUSE_RING_SIZE', PAUSE_RING_SIZE],
  ['WORKER_TABLE_WORD', WORKER_TABLE_WORD],
  ['WORKER_WORDS', WORKER_WORDS],
  ['MAX_WORKERS', MAX_WORKERS],
  ['TYPE_TABLE_WORD', TYPE_TABLE_WORD],
  ['TYPE_WORDS', TYPE_WORDS],
  ['MAX_TYPES', MAX_TYPES],
  ['REFMAP_WORDS', REFMAP_WORDS],
  ['HANDLE_DIR_WORD', HANDLE_DIR_WORD],
  ['HANDLE_CHUNKS_MAX', HANDLE_CHUNKS_MAX],
  ['HANDLES_PER_CHUNK', HANDLES_PER_CHUNK],
  ['HANDLE_WORDS', HANDLE_WORDS],
  ['NAMES_BYTE', NAMES_BYTE],
  ['NAMES_BYTES', NAMES_BYTES],
  ['PAGE_TABLE_WORD', PAGE_TABLE_WORD],
  ['PT_WORDS', PT_WORDS],
  ['SPAN_HEADER_BYTES', SPAN_HEADER_BYTES],
  ['BITMAP_WORDS', BITMAP_WORDS],
  ['NUM_SIZE_CLASSES', NUM_SIZE_CLASSES],
  ['NUM_ALLOC_CLASSES', NUM_ALLOC_CLASSES],
];

/** Reports how far a long operation has come: `done` of `total` units of `phase`. */
export type ProgressFn = (phase: string, done: number, total: number) => void;

/** Where each section of a snapshot starts, from its preamble. */
export interface SnapshotGeometry {
  headerBytes: number;
  committedPages: number;
  maxPages: number;
  storedPages: number;
  constantsAt: number;
  indexAt: number;
  headerAt: number;
  pagesAt: number;
  totalBytes: number;
  takenAt: number;
}

function geometry(headerBytes: number, committedPages: number, maxPages: number, storedPages: number, constants: number, takenAt: number): SnapshotGeometry {
  const constantsAt = PREAMBLE_BYTES;
  const indexAt = constantsAt + constants * 4;
  const headerAt = indexAt + storedPages * 4;
  const pagesAt = headerAt + headerBytes;
  return {
    headerBytes, committedPages, maxPages, storedPages, constantsAt, indexAt, headerAt, pagesAt,
    totalBytes: pagesAt + storedPages * PAGE_BYTES, takenAt,
  };
}

// ---------------------------------------------------------------------------------------
// Writing.

/**
 * Copies the arena into a new snapshot, without its checksum (`sealSnapshot` adds it). Runs
 * inside a pause, so the copy is consistent; it allocates only the result, never in the arena.
 */
export function captureSnapshot(arena: Arena, walker: SpanWalker): Uint8Array {
  arena.ensureViews();
  const { u32, u8 } = arena;
  const { headerBytes, headerPages, maxPages } = arena.layout;
  const committed = Atomics.load(u32, G_COMMITTED_PAGES);
  // Runs of stored pages: every span the walker reports, strays and bad heads included (they
  // are what a debugger wants to see), coalesced where they touch.
  const runs: number[] = [];
  let stored = 0;
  walker.reset(u32, headerPages, committed);
  while (walker.next()) {
    const n = runs.length;
    if (n > 0 && runs[n - 2]! + runs[n - 1]! === walker.page) runs[n - 1]! += walker.pages;
    else runs.push(walker.page, walker.pages);
    stored += walker.pages;
  }
  const g = geometry(headerBytes, committed, maxPages, stored, SNAPSHOT_CONSTANTS.length, Date.now());
  const out = new Uint8Array(g.totalBytes);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < SNAPSHOT_MAGIC.length; i++) out[P_MAGIC + i] = SNAPSHOT_MAGIC.charCodeAt(i);
  dv.setUint32(P_VERSION, SNAPSHOT_VERSION, true);
  dv.setUint32(P_CONSTANT_COUNT, SNAPSHOT_CONSTANTS.length, true);
  dv.setUint32(P_HEADER_BYTES, headerBytes, true);
  dv.setUint32(P_COMMITTED_PAGES, committed, true);
  dv.setUint32(P_MAX_PAGES, maxPages, true);
  dv.setUint32(P_STORED_PAGES, stored, true);
  dv.setFloat64(P_TAKEN_AT_F64, g.takenAt, true);
  SNAPSHOT_CONSTANTS.forEach(([, v], i) => dv.setUint32(g.constantsAt + i * 4, v, true));
  out.set(u8.subarray(0, headerBytes), g.headerAt);
  let at = 0;
  for (let r = 0; r < runs.length; r += 2) {
    const first = runs[r]!;
    const count = runs[r + 1]!;
    for (let p = 0; p < count; p++) dv.setUint32(g.indexAt + (at + p) * 4, first + p, true);
    out.set(u8.subarray(first * PAGE_BYTES, (first + count) * PAGE_BYTES), g.pagesAt + at * PAGE_BYTES);
    at += count;
  }
  return out;
}

/** Writes the checksum of a captured snapshot (outside the pause: it reads only the copy). */
export function sealSnapshot(bytes: Uint8Array, onProgress?: ProgressFn): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(P_CHECKSUM, snapshotChecksum(bytes, onProgress), true);
  return bytes;
}

const CHECKSUM_STEP_WORDS = 1 << 22; // progress is reported every 16 MiB

/**
 * A 32-bit checksum of bytes [PREAMBLE_BYTES, end): two interleaved FNV-style lanes over
 * u32 words (a multiply by an odd constant is a bijection, so any single changed word
 * changes its lane), folded with the length. For corruption, not for adversaries.
 */
export function snapshotChecksum(bytes: Uint8Array, onProgress?: ProgressFn): number {
  const len = bytes.byteLength - PREAMBLE_BYTES;
  const aligned = (bytes.byteOffset + PREAMBLE_BYTES) % 4 === 0;
  const words = aligned
    ? new Uint32Array(bytes.buffer, bytes.byteOffset + PREAMBLE_BYTES, len >>> 2)
    : new Uint32Array(bytes.slice(PREAMBLE_BYTES, PREAMBLE_BYTES + (len & ~3)).buffer);
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  const n = words.length;
  for (let start = 0; start < n; start += CHECKSUM_STEP_WORDS) {
    const end = Math.min(n, start + CHECKSUM_STEP_WORDS);
    let i = start;
    for (; i + 1 < end; i += 2) {
      a = Math.imul(a ^ words[i]!, 0x01000193);
      b = Math.imul(b ^ words[i + 1]!, 0x01000193);
    }
    if (i < end) a = Math.imul(a ^ words[i]!, 0x01000193);
    onProgress?.('checksum', end, n);
  }
  for (let i = len & ~3; i < len; i++) b = Math.imul(b ^ bytes[PREAMBLE_BYTES + i]!, 0x01000193);
  return (Math.imul(a ^ (b >>> 15) ^ (b << 17), 0x85ebca6b) ^ len) >>> 0;
}

// ---------------------------------------------------------------------------------------
// Reading: every check a reader makes before it trusts a byte, each failure a SnapshotError
// that names what was expected where.

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

function printable(bytes: Uint8Array): string {
  return Array.from(bytes, (c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('');
}

/** A snapshot whose structure has been checked: its geometry and the u32 words of its index. */
export interface CheckedSnapshot {
  bytes: Uint8Array;
  geometry: SnapshotGeometry;
  /** page index[i]: the arena page stored at pagesAt + i × PAGE_BYTES. */
  index: Uint32Array;
}

/**
 * Checks everything about a snapshot that can be checked without building the arena: the
 * preamble, the size, the checksum, the layout constants, the arena header's globals, the
 * page index, and that the page table names exactly the stored pages as not free.
 */
export function checkSnapshot(input: unknown, onProgress?: ProgressFn): CheckedSnapshot {
  let bytes: Uint8Array;
  if (input instanceof Uint8Array) bytes = input;
  else if (input instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && input instanceof SharedArrayBuffer)) bytes = new Uint8Array(input);
  else throw new SnapshotError(`Heap.fromSnapshot expects the Uint8Array that heap.snapshot() returned (or its ArrayBuffer), got ${describe(input)}`, 0);
  if (bytes.byteLength < PREAMBLE_BYTES) {
    throw new SnapshotError(`snapshot truncated: ${bytes.byteLength} bytes, but its preamble alone is ${PREAMBLE_BYTES} bytes`, bytes.byteLength);
  }
  const magic = bytes.subarray(0, SNAPSHOT_MAGIC.length);
  if (printable(magic) !== SNAPSHOT_MAGIC) {
    throw new SnapshotError(`not a bibop-gc snapshot: bytes 0..7 are '${printable(magic)}', expected '${SNAPSHOT_MAGIC}'`, 0);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const word = (at: number): number => dv.getUint32(at, true);
  const version = word(P_VERSION);
  if (version > SNAPSHOT_VERSION) {
    throw new SnapshotError(`snapshot format version ${version} (byte ${P_VERSION}) is newer than this library reads (up to ${SNAPSHOT_VERSION}): open it with a newer bibop-gc`, P_VERSION);
  }
  if (version < 1) throw new SnapshotError(`snapshot format version ${version} at byte ${P_VERSION} is not a version (expected 1..${SNAPSHOT_VERSION})`, P_VERSION);
  const k = word(P_CONSTANT_COUNT);
  if (k !== SNAPSHOT_CONSTANTS.length) {
    throw new SnapshotError(`layout constant count at byte ${P_CONSTANT_COUNT} is ${k}, format version ${version} has ${SNAPSHOT_CONSTANTS.length}`, P_CONSTANT_COUNT);
  }
  const g = geometry(word(P_HEADER_BYTES), word(P_COMMITTED_PAGES), word(P_MAX_PAGES), word(P_STORED_PAGES), k, dv.getFloat64(P_TAKEN_AT_F64, true));
  const sizes = `${PREAMBLE_BYTES} preamble + ${4 * k} constants + ${4 * g.storedPages} page index + ${g.headerBytes} arena header + ${g.storedPages} pages × ${PAGE_BYTES}`;
  if (bytes.byteLength < g.totalBytes) {
    throw new SnapshotError(`snapshot truncated: ${bytes.byteLength} bytes, its preamble promises ${g.totalBytes} (${sizes})`, bytes.byteLength);
  }
  if (bytes.byteLength > g.totalBytes) {
    throw new SnapshotError(`snapshot has ${bytes.byteLength - g.totalBytes} bytes of trailing data after byte ${g.totalBytes}, the end its preamble gives (${sizes})`, g.totalBytes);
  }
  const stored = word(P_CHECKSUM);
  const computed = snapshotChecksum(bytes, onProgress);
  if (stored !== computed) {
    throw new SnapshotError(`snapshot checksum mismatch: byte ${P_CHECKSUM} holds ${hex(stored)}, bytes ${PREAMBLE_BYTES}..${bytes.byteLength} sum to ${hex(computed)}: the file is corrupt`, P_CHECKSUM);
  }
  for (let i = 0; i < k; i++) {
    const [name, mine] = SNAPSHOT_CONSTANTS[i]!;
    const theirs = word(g.constantsAt + i * 4);
    if (theirs !== mine) {
      throw new SnapshotError(`snapshot written with another arena layout: constant ${name} (byte ${g.constantsAt + i * 4}) is ${theirs}, this library's layout has ${mine}`, g.constantsAt + i * 4);
    }
  }
  checkGeometry(g);
  const header = (w: number): number => dv.getUint32(g.headerAt + w * 4, true);
  const at = (w: number): number => g.headerAt + w * 4;
  if (header(G_MAGIC) !== MAGIC) throw new SnapshotError(`arena header (byte ${at(G_MAGIC)}) starts with ${hex(header(G_MAGIC))}, expected the arena magic ${hex(MAGIC)}`, at(G_MAGIC));
  if (header(G_VERSION) !== LAYOUT_VERSION) throw new SnapshotError(`arena header layout version (byte ${at(G_VERSION)}) is ${header(G_VERSION)}, expected ${LAYOUT_VERSION}`, at(G_VERSION));
  for (const [w, name, want] of [[G_HEADER_BYTES, 'header bytes', g.headerBytes], [G_MAX_PAGES, 'max pages', g.maxPages], [G_COMMITTED_PAGES, 'committed pages', g.committedPages]] as const) {
    if (header(w) !== want) throw new SnapshotError(`arena header's ${name} word (byte ${at(w)}) is ${header(w)}, the preamble says ${want}`, at(w));
  }
  const index = new Uint32Array(g.storedPages);
  const headerPages = g.headerBytes / PAGE_BYTES;
  for (let i = 0; i < g.storedPages; i++) {
    const p = word(g.indexAt + i * 4);
    const lo = i === 0 ? headerPages : index[i - 1]! + 1;
    if (p < lo || p >= g.committedPages) {
      throw new SnapshotError(`page index entry ${i} (byte ${g.indexAt + i * 4}) is page ${p}, expected a page from ${lo} to ${g.committedPages - 1} (ascending, after the header, before the end of the arena)`, g.indexAt + i * 4);
    }
    index[i] = p;
  }
  // The page table and the index must agree: a page is stored exactly when it is not free.
  const ptAt = (p: number): number => g.headerAt + (PAGE_TABLE_WORD + p * PT_WORDS + 1) * 4;
  let next = 0;
  for (let p = headerPages; p < g.committedPages; p++) {
    const free = infoKind(dv.getUint32(ptAt(p), true)) === PK_FREE;
    const isStored = next < index.length && index[next] === p;
    if (isStored) next++;
    if (free && isStored) throw new SnapshotError(`page ${p} is stored but the page table (byte ${ptAt(p)}) says it is free`, ptAt(p));
    if (!free && !isStored) throw new SnapshotError(`page ${p} is in use in the page table (byte ${ptAt(p)}, kind ${infoKind(dv.getUint32(ptAt(p), true))}) but its contents are not in the snapshot`, ptAt(p));
  }
  return { bytes, geometry: g, index };
}

function checkGeometry(g: SnapshotGeometry): void {
  if (g.maxPages === 0 || g.maxPages > 2 ** 20) throw new SnapshotError(`max pages (byte ${P_MAX_PAGES}) is ${g.maxPages}, expected 1..${2 ** 20}`, P_MAX_PAGES);
  const layout = arenaLayout(g.maxPages);
  if (g.headerBytes !== layout.headerBytes) {
    throw new SnapshotError(`arena header size (byte ${P_HEADER_BYTES}) is ${g.headerBytes}, an arena of ${g.maxPages} pages at most has a ${layout.headerBytes}-byte header`, P_HEADER_BYTES);
  }
  if (g.committedPages <= layout.headerPages || g.committedPages > g.maxPages) {
    throw new SnapshotError(`committed pages (byte ${P_COMMITTED_PAGES}) is ${g.committedPages}, expected more than the ${layout.headerPages} header pages and at most ${g.maxPages}`, P_COMMITTED_PAGES);
  }
  if (g.storedPages > g.committedPages - layout.headerPages) {
    throw new SnapshotError(`stored pages (byte ${P_STORED_PAGES}) is ${g.storedPages}, but only ${g.committedPages - layout.headerPages} pages lie after the header`, P_STORED_PAGES);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return (v as object).constructor?.name ?? 'an object';
}

/**
 * Rebuilds the arena of a checked snapshot: a buffer of its committed size with the header
 * and every stored page at its address, free pages zero.
 */
export function restoreArena(s: CheckedSnapshot, onProgress?: ProgressFn): SharedArrayBuffer {
  const g = s.geometry;
  const buffer = new SharedArrayBuffer(g.committedPages * PAGE_BYTES);
  const dst = new Uint8Array(buffer);
  dst.set(s.bytes.subarray(g.headerAt, g.headerAt + g.headerBytes), 0);
  const n = s.index.length;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && s.index[j] === s.index[j - 1]! + 1) j++;
    dst.set(s.bytes.subarray(g.pagesAt + i * PAGE_BYTES, g.pagesAt + j * PAGE_BYTES), s.index[i]! * PAGE_BYTES);
    onProgress?.('restore', j, n);
    i = j;
  }
  return buffer;
}
