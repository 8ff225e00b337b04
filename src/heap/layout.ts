// The layout of every shared word in the arena. Nothing else computes an offset by hand.
//
// A ref is a byte offset into the arena (a u32; 0 is null; 8-byte aligned). Word indices
// (`…Word`) index the arena's Uint32Array/Int32Array views; byte addresses (`…Addr`,
// `…Bytes`) never mix with them except through `>>> 2` / `<< 2`.
//
//  byte 0                                                                                 arena end
//  +---------+--------+--------------+------------+--------+--------+-------+----------+-----------+--------+---------
//  | globals | pause  | worker table | type table | refmap | handle | names | page     | free-page | remset | pages …
//  | 320 w   | ring   | MAX_WORKERS  | MAX_TYPES  | words  | chunk  | bytes | table    | bitmap    | bitmap | (4 KiB each,
//  |         | 1024 w | × WORKER_W   | × TYPE_W   |        | dir    |       | 2 w/page | 1 b/page  | 1 b/pg |  page-aligned)
//  +---------+--------+--------------+------------+--------+--------+-------+----------+-----------+--------+---------
//
// The page table and the two page bitmaps cover every page up to `maxBytes`, header pages
// included, so `ref >>> PAGE_LOG` indexes them directly. The buffer is reserved at maxBytes
// (or, with `reserve: false` or where the system refuses, growable); either way the arena
// never moves. Growing it commits more pages (G_COMMITTED_PAGES), and grows a growable buffer.

import { NUM_SIZE_CLASSES } from './sizeclasses.js';

export const PAGE_LOG = 12;
export const PAGE_BYTES = 1 << PAGE_LOG;
export const PAGE_MASK = PAGE_BYTES - 1;
export const PAGE_WORDS = PAGE_BYTES >>> 2;

export const MAGIC = 0x62696270; // 'bibp'
export const LAYOUT_VERSION = 3;

// ---------------------------------------------------------------------------------------
// Globals (word indices from 0). (A) marks words touched with Atomics.
//
//  word  name                 meaning
//  ----  -------------------  -----------------------------------------------------------
//     0  G_MAGIC              MAGIC, so attach() can tell an arena from any buffer
//     1  G_VERSION            LAYOUT_VERSION
//     2  G_HEADER_BYTES       first byte after the header (page-aligned)
//     3  G_COMMITTED_PAGES(A) pages the buffer currently holds (grows)
//     4  G_MAX_PAGES          pages at maxBytes
//     5  G_INITIAL_PAGES      pages at `size`
//     6  G_LOCK          (A)  heap lock: 0 free, else owner slot + 1
//     7  G_GC_OWNER      (A)  0 idle, else collector slot + 1 (MAIN_SLOT is slot 0)
//     8  G_EPOCH         (A)  bumped at the end of every pause; stopped workers wait on it
//     9  G_ARRIVALS      (A)  bumped when a worker stops, parks or dies; the collector waits on it
//    10  G_GC_STARTED    (A)  collections whose marking has begun
//    11  G_TYPE_COUNT    (A)  type ids handed out (id 0 is never used)
//    12  G_NAMES_USED         bytes used in the names area (under G_LOCK)
//    13  G_REFMAP_USED        words used in the refmap area (under G_LOCK)
//    14  G_HANDLE_FREE        head of the free handle list, handle index + 1 (under G_LOCK)
//    15  G_HANDLE_CHUNKS      handle chunks allocated (under G_LOCK)
//    16  G_ALLOC_KIB     (A)  KiB of spans handed out since the last collection
//    17  G_LIVE_KIB           KiB live after the last major collection
//    18  G_FREE_PAGES    (A)  pages in the free-page bitmap
//    19  G_POOL_HINT          lowest bitmap word that may hold a free page (under G_LOCK)
//    20  G_MINOR_COUNT        minor collections
//    21  G_MAJOR_COUNT        major collections
//    22  G_PAUSE_COUNT        pauses recorded in the pause ring (monotonic)
//    23  G_CHECKED            1 when accessors validate refs
//    24  G_SAFEPOINT_MS       safepointTimeoutMs
//    25  G_WORKER_SEQ    (A)  attach counter, feeds worker generation stamps
//    26  G_GC_FLAGS           debug flags (GC_FLAG_*) and GC_FLAG_IN_PAUSE
//    27  G_DEATHS        (A)  workers declared dead (every declaration bumps it)
//    28  G_FINAL_PENDING (A)  objects queued for finalization and not yet run
//    29  G_DEATHS_SEEN        G_DEATHS when a pause last recovered what dead workers left
//    30  G_GC_INTERVAL        stress: every worker collects after this many allocations (0: off)
//    31  G_FINAL_INTERRUPTED  finalizations lost because their thread died while running them
//   32‥47  G_EVENT_*          the last GcEvent (see below)
//   48‥49  (unused since layout 3)
//    50  G_YOUNG_BYTES        options.youngBytes: the young generation's base budget (0: off)
//    51  G_YOUNG_BUDGET_KIB   the budget now: widened while minors see high survival
//    52  G_YOUNG_KIB     (A)  KiB handed out in young spans since the last collection
//    53  G_OLD_PAGES          pages of old spans (written in pauses)
//    54  G_OLD_LIVE_KIB       KiB in old spans after the last major collection
//    55  G_OLD_GROWTH_KIB (A) KiB promoted or allocated in old spans since the last major
//    56  G_MAJOR_DUE          1: the next collection an allocation asks for is a major
//    57  G_FINALIZABLE_TYPES  types defined with { finalize: true } (phase 1 is skipped while 0)
//   64‥64+N  G_CENTRAL        per allocation class: central list of partly free young spans (A)
//  176‥176+N G_CENTRAL_OLD    per allocation class: central list of partly free old spans (A)
// ---------------------------------------------------------------------------------------
export const G_MAGIC = 0;
export const G_VERSION = 1;
export const G_HEADER_BYTES = 2;
export const G_COMMITTED_PAGES = 3;
export const G_MAX_PAGES = 4;
export const G_INITIAL_PAGES = 5;
export const G_LOCK = 6;
export const G_GC_OWNER = 7;
export const G_EPOCH = 8;
export const G_ARRIVALS = 9;
export const G_GC_STARTED = 10;
export const G_TYPE_COUNT = 11;
export const G_NAMES_USED = 12;
export const G_REFMAP_USED = 13;
export const G_HANDLE_FREE = 14;
export const G_HANDLE_CHUNKS = 15;
export const G_ALLOC_KIB = 16;
export const G_LIVE_KIB = 17;
export const G_FREE_PAGES = 18;
export const G_POOL_HINT = 19;
export const G_MINOR_COUNT = 20;
export const G_MAJOR_COUNT = 21;
export const G_PAUSE_COUNT = 22;
export const G_CHECKED = 23;
export const G_SAFEPOINT_MS = 24;
export const G_WORKER_SEQ = 25;
export const G_GC_FLAGS = 26;
export const G_DEATHS = 27;
export const G_FINAL_PENDING = 28;
export const G_DEATHS_SEEN = 29;
export const G_GC_INTERVAL = 30;
export const G_FINAL_INTERRUPTED = 31;

// The last GcEvent, written by the collector before it ends the pause, so that a worker
// that joined a collection as a participant can return the event of that collection.
export const G_EVENT_SEQ = 32; // G_GC_STARTED value of the collection described
export const G_EVENT_KIND = 33; // GC_KIND_*
export const G_EVENT_PAUSE_US = 34;
export const G_EVENT_RENDEZVOUS_US = 35;
export const G_EVENT_MARK_US = 36;
export const G_EVENT_SWEEP_US = 37;
export const G_EVENT_MARKED = 38;
export const G_EVENT_FREED_OBJECTS = 39;
export const G_EVENT_FREED_KIB = 40;
export const G_EVENT_PROMOTED = 41;
export const G_EVENT_COLLECTOR = 42;
export const G_EVENT_FINALIZED = 43;


export const G_YOUNG_BYTES = 50;
export const G_YOUNG_BUDGET_KIB = 51;
export const G_YOUNG_KIB = 52;
export const G_OLD_PAGES = 53;
export const G_OLD_LIVE_KIB = 54;
export const G_OLD_GROWTH_KIB = 55;
export const G_MAJOR_DUE = 56;
export const G_FINALIZABLE_TYPES = 57;
export const G_CENTRAL = 64; // + class: central lists of partly free young spans
export const G_CENTRAL_OLD = 176; // + class: central lists of partly free old spans
/** Size classes with their finalizable twins: a finalizable type allocates from spans of
 *  its own, so the sweep looks for objects to finalize only in those spans. */
export const NUM_ALLOC_CLASSES = NUM_SIZE_CLASSES * 2;
export const GLOBAL_WORDS = 320;

export const GC_KIND_MINOR = 1;
export const GC_KIND_MAJOR = 2;
export const GC_FLAG_VERIFY = 1; // run verify() inside every pause
export const GC_FLAG_ZAP = 2; // fill freed slots with ZAP_WORD
/** Set while a pause does its work; still set at the next pause if its collector died. */
export const GC_FLAG_IN_PAUSE = 0x100;

/**
 * Never a valid header (type id 0xdead > MAX_TYPES). In checked mode the sweep writes it over
 * a dead object's header and keeps the slot allocated for one more collection (quarantine),
 * so a stale ref fails as collected instead of reading the slot's next object; with
 * zapFreed it fills every word of a freed slot.
 */
export const ZAP_WORD = 0xdeaddead;

// Pause ring: the last PAUSE_RING_SIZE pause times in microseconds (and their kind), for
// p50/p99/max.
export const PAUSE_RING_WORD = GLOBAL_WORDS;
export const PAUSE_RING_SIZE = 1024;
/** A ring entry: the pause in µs, with this bit set for a major collection. */
export const PAUSE_MAJOR_BIT = 0x80000000;
export const PAUSE_US_MASK = 0x7fffffff;

// ---------------------------------------------------------------------------------------
// Worker control block: one per mutator slot, WORKER_WORDS words each.
//
//  word  name              meaning
//  ----  ----------------  ----------------------------------------------------------------
//     0  W_STATE      (A)  WS_* below
//     1  W_GEN        (A)  generation stamp: a new one is given as the slot is freed (newGeneration)
//     2  W_ROOT_BASE       word index of the root stack's first slot
//     3  W_ROOT_TOP        word index of the next free root slot (written by the owner)
//     4  W_ROOT_LIMIT      word index one past the root stack
//     5  W_ROOT_SPAN       byte address of the span holding the root stack
//     6  W_SCOPES          outermost scopes entered plus safepoints stopped at (wraps): proof of
//                      progress for a watcher; a counter, since a clock read per scope costs ~1%
//     7  W_THREAD_ID       threadId of the worker, for error messages
//     8  W_ROOT_SPARE      root-stack chunks this worker grew into and left (roots.ts)
//     9  W_PIN             a root: a caller's ref held across a step that may collect before
//                      the ref is rooted anywhere (root() growing the stack, persist(), weak())
//    10  W_FINAL_HEAD      finalization queue of this worker: handle index + 1
//    11  W_FINALIZING      the object whose finalizer this worker is running (0: none); set
//                      before its queue entry is freed, cleared after the callback returns
//    12  W_RESERVER        while `spawn` holds the slot RESERVED and has not yet started and
//                      watched the worker: reserverWord(spawner slot, its generation); else 0
// 29‥31  W_NO_TLAB        a TLAB that is always empty (large structs point here)
//    32‥  W_TLAB           per allocation class: [cursor, limit, start] byte addresses
// ---------------------------------------------------------------------------------------
export const W_STATE = 0;
export const W_GEN = 1;
export const W_ROOT_BASE = 2;
export const W_ROOT_TOP = 3;
export const W_ROOT_LIMIT = 4;
export const W_ROOT_SPAN = 5;
export const W_SCOPES = 6;
export const W_THREAD_ID = 7;
export const W_ROOT_SPARE = 8;
export const W_PIN = 9;
export const W_FINAL_HEAD = 10;
export const W_FINALIZING = 11;
export const W_RESERVER = 12;

/** W_RESERVER's value for a reservation made by `slot` while it holds generation `gen`. */
export function reserverWord(slot: number, gen: number): number {
  return (((gen & 0xffffff) << 7) | (slot + 1)) >>> 0;
}
export const W_NO_TLAB = 29;
export const W_TLAB = 32;
export const TLAB_WORDS = 3;
export const TLAB_CURSOR = 0;
export const TLAB_LIMIT = 1;
export const TLAB_START = 2;
export const WORKER_WORDS = alignUp(W_TLAB + NUM_ALLOC_CLASSES * TLAB_WORDS, 64);
export const MAX_WORKERS = 64;
/** The slot of the thread that created the heap. */
export const MAIN_SLOT = 0;

// Worker states. Legal transitions (who performs them):
//
//   FREE     → RESERVED  spawn() reserves a slot for a worker it starts
//   FREE     → RESERVED  Heap.create, attach(buffer) claim a slot (that thread), and then
//   RESERVED → PARKED    publish it once its control block is ready (that thread)
//   RESERVED → PARKED    attach() in the spawned worker   (that worker)
//   PARKED   → RUNNING   entering the outermost scope      (the owner)
//   RUNNING  → PARKED    leaving the outermost scope       (the owner)
//   RUNNING  → STOPPED   arriving at a safepoint during a collection request (the owner)
//   STOPPED  → RUNNING   end of the pause                  (the collector, for every stopped worker)
//   RUNNING  → FREE      detach(), once the slot is handed back (the owner; departure.ts)
//   RESERVED → FREE      spawn() could not start the worker (the spawning thread)
//   any      → DEAD      exit of a spawned worker          (the supervisor, the spawner)
//   DEAD     → FREE      recovery inside a pause           (the collector; recover.ts)
//
// A collection waits only for RUNNING workers. Every transition to FREE first gives the slot a
// generation no thread has held (registry.ts newGeneration), so a stale id or a late death
// notice (declareDead compares generations) never matches the slot's next occupant.
export const WS_FREE = 0;
export const WS_RESERVED = 1;
export const WS_PARKED = 2;
export const WS_RUNNING = 3;
export const WS_STOPPED = 4;
export const WS_DEAD = 5;
export const WORKER_STATE_NAMES = ['free', 'reserved', 'parked', 'running', 'stopped', 'dead'] as const;

// ---------------------------------------------------------------------------------------
// Type table: MAX_TYPES entries of TYPE_WORDS words. Entry 0 is never a type.
//
//  word  name          meaning
//  ----  ------------  ------------------------------------------------------------------
//     0  T_KIND        TK_STRUCT or TK_ARRAY | element kind << 8 | TF_* flags << 16;
//                      written last (Atomics.store) so a reader never sees half a type
//     1  T_BYTES       struct: object bytes with header; array: element bytes
//     2  T_REF_START   first word of this type's ref offsets in the refmap area
//     3  T_REF_COUNT   ref fields (struct); 1 for an array of refs
//     4  T_NAME_START  byte offset of the layout string in the names area
//     5  T_NAME_BYTES  its length in bytes (UTF-8)
// ---------------------------------------------------------------------------------------
export const MAX_TYPES = 1024;
export const TYPE_WORDS = 8;
export const T_KIND = 0;
export const T_BYTES = 1;
export const T_REF_START = 2;
export const T_REF_COUNT = 3;
export const T_NAME_START = 4;
export const T_NAME_BYTES = 5;
export const TK_STRUCT = 1;
export const TK_ARRAY = 2;
export const TF_FINALIZE = 1;
export const REFMAP_WORDS = 8192;
export const NAMES_BYTES = 64 * 1024;

/** Element kinds of struct fields and arrays, with their sizes. */
export const EK_REF = 1;
export const EK_I32 = 2;
export const EK_F64 = 3;
export const EK_U8 = 4;

// ---------------------------------------------------------------------------------------
// Objects. Every object starts with a header word:
//
//   31  30      16 15              0
//  +---+----------+-----------------+
//  | F | reserved |     type id     |     F: finalizer has run (never finalize again)
//  +---+----------+-----------------+
//
// A struct's fields follow at their natural alignment (f64 on 8). An array has its
// length in word 1 and elements from byte 8.
// ---------------------------------------------------------------------------------------
export const HDR_TYPE_MASK = 0xffff;
export const HDR_FINALIZED = 0x80000000;
export const STRUCT_HEADER_BYTES = 4;
export const ARRAY_HEADER_BYTES = 8;
export const ARRAY_LENGTH_WORD = 1;

// ---------------------------------------------------------------------------------------
// Span header: the first SPAN_HEADER_BYTES of every span (small or large).
//
//  word  name          meaning
//  ----  ------------  ------------------------------------------------------------------
//     0  S_BLOCK_BYTES bytes per slot (large span: the object's bytes)
//     1  S_SLOTS       slots in the span (large: 1)
//     2  S_NEXT        next span in a central list (byte address; 0 ends it)
//     3  S_SCAN        bits 0‥15: next slot a free-run search starts from; bits 16‥31
//                    (SCAN_WRITTEN_SHIFT): slots [0, n) may hold old bytes, the rest are zero
//                    as the operating system gave them, so a run there needs no zeroing
//     4  S_QUARANTINED slots holding dead objects kept one more collection (checked mode)
//     5  S_INV_F32     f32: 1 / S_BLOCK_BYTES, slightly rounded up (slot index without division)
//  root-stack chunks (system spans) use words 2 and 3 as S_CHUNK_PREV (the chunk below, or
//  the next spare) and S_CHUNK_TOP (the chunk's top while another chunk is current)
//     6  S_AGE         collections its objects survived since it was last given out for allocation
//     7  S_PAGES       pages in the span
//  8‥15  S_MARK        mark bitmap, one bit per slot
// 16‥23  S_ALLOC       allocated bitmap
// 24‥31  S_DIRTY       dirty bitmap (write barrier)
// 32‥    slots
// ---------------------------------------------------------------------------------------
export const SPAN_HEADER_BYTES = 128;
export const SPAN_HEADER_WORDS = SPAN_HEADER_BYTES >>> 2;
export const S_BLOCK_BYTES = 0;
export const S_SLOTS = 1;
export const S_NEXT = 2;
export const S_SCAN = 3;
export const SCAN_SLOT_MASK = 0xffff;
export const SCAN_WRITTEN_SHIFT = 16;
export const S_QUARANTINED = 4;
export const S_INV_F32 = 5;
export const S_CHUNK_PREV = 2;
export const S_CHUNK_TOP = 3;
export const S_AGE = 6;
/** S_AGE of a span turned old whose dirty bits are not computed yet (remset.ts): a collector
 *  killed in between leaves it for recovery to finish. */
export const AGE_PROMOTING = 0xffffffff;
export const S_PAGES = 7;
export const BITMAP_WORDS = 8;
export const MAX_SLOTS_LOG = 8;
export const MAX_SLOTS = 1 << MAX_SLOTS_LOG; // BITMAP_WORDS × 32
export const S_MARK = 8;
export const S_ALLOC = S_MARK + BITMAP_WORDS;
export const S_DIRTY = S_ALLOC + BITMAP_WORDS;

// ---------------------------------------------------------------------------------------
// Page table: PT_WORDS words per page.
//
//  word 0  PT_SPAN  byte address of the span this page belongs to (0: free or header page)
//  word 1  PT_INFO
//
//   31            16 15        8 7  6  5  4 3      0
//  +----------------+-----------+--+--+--+--+--------+
//  |  owner slot    |  class    |  |C |O |G |  kind  |   G: old generation (every page of a span)
//  +----------------+-----------+--+--+--+--+--------+   O: orphan, owner: head page only
//                                                         C: free page never written (clean)
//
// Kinds: PK_FREE, PK_HEADER (arena header), PK_SMALL_HEAD / PK_SMALL_TAIL (a span of one
// size class), PK_LARGE_HEAD / PK_LARGE_TAIL (one large object), PK_SYSTEM_HEAD /
// PK_SYSTEM_TAIL (never traced as objects; the class field says which: SYS_ROOT_STACK or
// SYS_HANDLE_CHUNK).
// ---------------------------------------------------------------------------------------
export const PT_WORDS = 2;
export const PT_SPAN = 0;
export const PT_INFO = 1;
export const PK_FREE = 0;
export const PK_HEADER = 1;
export const PK_SMALL_HEAD = 2;
export const PK_SMALL_TAIL = 3;
export const PK_LARGE_HEAD = 4;
export const PK_LARGE_TAIL = 5;
export const PK_SYSTEM_HEAD = 6;
export const PK_SYSTEM_TAIL = 7;
export const PAGE_KIND_NAMES = ['free', 'header', 'small', 'small-tail', 'large', 'large-tail', 'system', 'system-tail'] as const;
export const PI_KIND_MASK = 0xf;
export const PI_OLD = 0x10;
export const PI_ORPHAN = 0x20;
export const PI_CLEAN = 0x40;
export const PI_CLASS_SHIFT = 8;
export const PI_CLASS_MASK = 0xff;
export const PI_OWNER_SHIFT = 16;
export const NO_OWNER = 0xffff;
/** System span classes. A root-stack chunk lives while a live control block reaches it (its
 *  chain, or one of up to ROOT_SPARES_KEPT spares): recovery (recover.ts) frees every other
 *  one, and detach() frees its own (departure.ts). Handle chunks live as long as the heap. */
export const SYS_ROOT_STACK = 1;
export const SYS_HANDLE_CHUNK = 2;

// ---------------------------------------------------------------------------------------
// Handle table: a directory of HANDLE_CHUNKS_MAX chunk addresses in the header; each chunk
// is a system span of HANDLES_PER_CHUNK entries of HANDLE_WORDS words:
//
//  word 0  H_REF    the ref held (0 when cleared)
//  word 1  H_META   generation << 4 | HK_* kind
//  word 2  H_NEXT   free list / finalization queue link: handle index + 1 (0 ends it)
//  word 3  H_OWNER  finalization: the worker slot that runs it
//
// Strong and finalization entries are roots; weak entries are cleared when their target
// dies. A handle id is generation * 2^22 + index, so a released id never names the next
// handle that reuses the entry.
// ---------------------------------------------------------------------------------------
export const HANDLE_WORDS = 4;
export const H_REF = 0;
export const H_META = 1;
export const H_NEXT = 2;
export const H_OWNER = 3;
export const HK_FREE = 0;
export const HK_STRONG = 1;
export const HK_WEAK = 2;
export const HK_FINAL = 3;
export const HK_MASK = 0xf;
export const HANDLE_GEN_SHIFT = 4;
export const HANDLES_PER_CHUNK_LOG = 10;
export const HANDLES_PER_CHUNK = 1 << HANDLES_PER_CHUNK_LOG;
export const HANDLE_CHUNKS_MAX = 1024;
export const HANDLE_INDEX_BITS = 22; // HANDLES_PER_CHUNK * HANDLE_CHUNKS_MAX = 2^20 < 2^22
export const HANDLE_ID_GEN_FACTOR = 2 ** HANDLE_INDEX_BITS;
export const HANDLE_CHUNK_BYTES = HANDLES_PER_CHUNK * HANDLE_WORDS * 4;

/** A root-stack chunk is a one-page system span: this many ref slots. */
export const ROOT_CHUNK_SLOTS = PAGE_WORDS - SPAN_HEADER_WORDS;
/** Spare root-stack chunks a worker keeps across a collection; the rest are freed. */
export const ROOT_SPARES_KEPT = 64;

// ---------------------------------------------------------------------------------------
// Header regions, chained from the globals.
// ---------------------------------------------------------------------------------------
export const WORKER_TABLE_WORD = PAUSE_RING_WORD + PAUSE_RING_SIZE;
export const TYPE_TABLE_WORD = WORKER_TABLE_WORD + MAX_WORKERS * WORKER_WORDS;
export const REFMAP_WORD = TYPE_TABLE_WORD + MAX_TYPES * TYPE_WORDS;
export const HANDLE_DIR_WORD = REFMAP_WORD + REFMAP_WORDS;
export const NAMES_BYTE = (HANDLE_DIR_WORD + HANDLE_CHUNKS_MAX) << 2;
export const PAGE_TABLE_WORD = (NAMES_BYTE + NAMES_BYTES) >>> 2;

export interface ArenaLayout {
  readonly maxPages: number;
  readonly pageTableWord: number;
  readonly freeBitmapWord: number;
  readonly freeBitmapWords: number;
  /** The remembered set: one bit per page, set (atomically) on the head page of an old span
   *  that holds dirty bits, so a minor collection finds them without touching old space. */
  readonly remsetWord: number;
  readonly headerBytes: number;
  readonly headerPages: number;
}

/** Where the size-dependent regions (page table, free bitmap, remembered set) go for a given maximum. */
export function arenaLayout(maxPages: number): ArenaLayout {
  const freeBitmapWord = PAGE_TABLE_WORD + maxPages * PT_WORDS;
  const freeBitmapWords = (maxPages + 31) >>> 5;
  const remsetWord = freeBitmapWord + freeBitmapWords;
  const headerBytes = alignUp((remsetWord + freeBitmapWords) << 2, PAGE_BYTES);
  return {
    maxPages,
    pageTableWord: PAGE_TABLE_WORD,
    freeBitmapWord,
    freeBitmapWords,
    remsetWord,
    headerBytes,
    headerPages: headerBytes >>> PAGE_LOG,
  };
}

export function workerWord(slot: number): number {
  return WORKER_TABLE_WORD + slot * WORKER_WORDS;
}

export function typeWord(typeId: number): number {
  return TYPE_TABLE_WORD + typeId * TYPE_WORDS;
}

export function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** Largest arena: refs are u32 and a page index must fit PT_SPAN arithmetic. */
export const MAX_ARENA_BYTES = 2 ** 32 - PAGE_BYTES;
export const MIN_ARENA_BYTES = 1 << 20;
