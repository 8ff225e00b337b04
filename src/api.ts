// Heap: the public face of bibop-gc on one thread.
//
// Concurrency contract: one Heap object per thread (create on the owner thread, attach in
// each worker). Allocation, ref stores and handle operations need this thread to be a
// running mutator (inside `scope`); reads work on any ref that a root keeps alive.
// Hot paths (alloc, allocArray, accessors, setRef's barrier) are written out here, small
// and monomorphic; everything else is a call into the layers below.

import { Arena } from './heap/arena.js';
import {
  ARRAY_HEADER_BYTES, ARRAY_LENGTH_WORD, EK_F64, EK_I32, EK_REF, EK_U8, G_CHECKED, G_COMMITTED_PAGES, G_GC_FLAGS,
  G_GC_INTERVAL, G_GC_OWNER, G_HEADER_BYTES, G_INITIAL_PAGES, G_MAGIC, G_MAX_PAGES, G_POOL_HINT, G_SAFEPOINT_MS,
  G_VERSION, G_YOUNG_BUDGET_KIB, G_YOUNG_BYTES, GC_FLAG_VERIFY, GC_FLAG_ZAP, GC_KIND_MAJOR, GC_KIND_MINOR, H_REF, HANDLE_CHUNK_BYTES, HDR_TYPE_MASK, HK_STRONG, HK_WEAK,
  LAYOUT_VERSION, MAGIC, MAX_ARENA_BYTES, MAX_WORKERS, MIN_ARENA_BYTES, PAGE_BYTES, PAGE_LOG, PAGE_TABLE_WORD,
  PI_OLD, PK_HEADER, PT_INFO, PT_WORDS, TK_ARRAY, TK_STRUCT, TLAB_CURSOR, TLAB_LIMIT, TLAB_WORDS, W_GEN,
  W_PIN, W_RESERVER, W_ROOT_BASE, W_ROOT_LIMIT, W_ROOT_SPAN, W_ROOT_SPARE, W_ROOT_TOP, W_SCOPES, W_STATE, W_THREAD_ID, W_TLAB,
  WS_DEAD, WS_RUNNING, arenaLayout, reserverWord, workerWord,
} from './heap/layout.js';
import { CLASS_SPAN_PAGES, MAX_SMALL_BYTES, NUM_SIZE_CLASSES } from './heap/sizeclasses.js';
import { NEED_LARGE, NEED_SMALL, NEED_SYSTEM, Thread } from './heap/thread.js';
import {
  CLASS_OF_GRANULES, CLASS_OF_GRANULES_BLOCK, HeapType, arrayLayout, defineInArena, structLayout,
  type ArrayType, type ElementKind, type FieldKind, type StructType, type TypeOptions,
} from './heap/types.js';
import { REFILL_EMPTY, REFILL_MINOR, REFILL_STRESS, allocLarge, largeSpanPages, refillTlab } from './heap/allocator.js';
import { popRootChunks, pushRootChunk } from './heap/roots.js';
import { allocHandle, freeHandleById, handleEntry, handleId, resolveHandle } from './heap/handles.js';
import { growArena } from './heap/pagepool.js';
import { REF_OK, REF_OUTSIDE, REF_PROBLEMS, classifyRef, isAllocatedSmallRef, isStaleProblem } from './heap/check.js';
import { acquireLock, releaseLock } from './heap/lock.js';
import { SpanWalker } from './heap/spans.js';
import { claimFreeSlot, countSlots, declareDead, park, publishParked, releaseReservation, unpark } from './safepoint/registry.js';
import { handBackSlot } from './safepoint/departure.js';
import { FP_SPAWN, faultHook } from './heap/faults.js';
import { platform, type HeapInit } from './safepoint/platform.js';
import type { GcEvent, GcKind } from './gc/collector.js';
import { PauseDriver } from './gc/pause.js';
import { onPoolEmpty } from './gc/pacer.js';
import { barrierSlow } from './gc/barrier.js';
import { Finalizers } from './gc/finalize.js';
import type { VerifyResult } from './gc/verify.js';
import { heapStats, type HeapStats } from './gc/stats.js';
import { INSPECT, summarizeHeap, summarizePersistent, summarizeWeak } from './inspect/summary.js';
import {
  HeapRangeError, HeapUsageError, InvalidRefError, ScopeError, StaleRefError, TypeDefinitionError,
} from './errors.js';
import { captureSnapshot, sealSnapshot, type ProgressFn } from './inspect/format.js';
import { HeapView, type OpenOptions } from './inspect/view.js';
import { heapMap, type HeapMap, type PageInfo, type ReadMode } from './inspect/pages.js';
import { findRetainers, type RetainerPath } from './inspect/retainers.js';

export interface HeapOptions {
  /** Initial arena bytes, header included; used in full before the first collection. Default 64 MiB; at least 1 MiB. */
  size?: number;
  /** The arena may grow up to this many bytes. Default max(size, min(2 GiB, 16 × size)). */
  maxSize?: number;
  /**
   * Reserve the buffer at `maxSize` from the start (true, the default): it never grows, so
   * no thread ever re-makes its views and unchecked accessors are one typed-array access;
   * the system backs only the pages the heap uses. false: a growable buffer of `size`, grown
   * as the heap needs (for hosts that limit address space). Where the system refuses the
   * reservation, the heap is growable.
   */
  reserve?: boolean;
  /** Validate every ref an accessor takes. Default true. */
  checked?: boolean;
  /** How long a collection waits for running workers to reach a safepoint. Default 10 000. */
  safepointTimeoutMs?: number;
  /** Run verify() inside every collection pause; a failure throws HeapCorruptionError. Default false. */
  verifyEachGC?: boolean;
  /** Fill freed slots with a pattern that never decodes as an object (debugging). Default false. */
  zapFreed?: boolean;
  /**
   * Stress testing: every worker collects after this many of its own allocations, so that
   * collections land at every allocation site (V8's --gc-interval); with generations, three
   * of every four are minor. 0, the default, is off.
   */
  gcInterval?: number;
  /**
   * The young generation's budget: a minor collection runs when this many bytes have been
   * handed out in young spans since the last collection (widened while minors find most of it
   * alive). Default an eighth of `size`, from 256 KiB to 16 MiB (ARCHITECTURE.md has the
   * measurements); 0 turns generations off (every collection is major, no write barrier work).
   */
  youngBytes?: number;
}

/** A persistent root: keeps its ref alive until released; any worker may look it up by id. */
export class Persistent {
  /** @internal */
  private readonly heap: Heap;
  readonly id: number;
  /** Made by `heap.persist(ref)` and `heap.handle(id)`. */
  constructor(heap: Heap, id: number) {
    this.heap = heap;
    this.id = id;
  }
  /** The ref held. Throws once the handle is released. */
  get(): number {
    return this.heap.handleRef(this.id, HK_STRONG);
  }
  release(): void {
    this.heap.releaseHandle(this.id, HK_STRONG);
  }
  /** util.inspect prints one line: `Persistent { id: 3, ref: 0x10a48 (Node) }`. @internal */
  [INSPECT](): string {
    return summarizePersistent(this.heap, this);
  }
}

/** A weak ref: `get()` gives the ref, or null once the object has been collected. */
export class WeakHandle {
  /** @internal */
  private readonly heap: Heap;
  readonly id: number;
  /** Made by `heap.weak(ref)`. */
  constructor(heap: Heap, id: number) {
    this.heap = heap;
    this.id = id;
  }
  get(): number | null {
    const ref = this.heap.handleRef(this.id, HK_WEAK);
    return ref === 0 ? null : ref;
  }
  release(): void {
    this.heap.releaseHandle(this.id, HK_WEAK);
  }
  /** util.inspect prints one line: `WeakHandle { id: 4, ref: null (collected) }`. @internal */
  [INSPECT](): string {
    return summarizeWeak(this.heap, this);
  }
}

/**
 * What `spawn` returns, by entry point: `bibop-gc` (index.ts) adds `node`, a
 * node:worker_threads Worker; `bibop-gc/browser` (browser.ts) adds `browser`, a Web Worker.
 * A program sees only the entries it imports, so the browser's types never need @types/node.
 */
export interface SpawnedWorkerTypes {}

/** The Worker type of the entry point in use (Node's when a program imports both). */
export type SpawnedWorker = SpawnedWorkerTypes extends { node: infer W } ? W : SpawnedWorkerTypes extends { browser: infer W } ? W : unknown;

/** Options for `spawn`: the platform's worker options, plus `workerData` for the worker. */
export type SpawnOptions = Record<string, unknown> & { workerData?: Record<string, unknown> };

const PAGE_INFO_WORD = PAGE_TABLE_WORD + PT_INFO;

export class Heap extends Thread {
  /** This thread's way into pauses: collect, verify, safepoints (src/gc/pause.ts). @internal */
  private readonly pauses: PauseDriver;
  /** @internal */
  private readonly finalizers: Finalizers;
  /** @internal */
  private readonly statsWalker = new SpanWalker();
  /** @internal */
  private readonly weakCleanup = new FinalizationRegistry<number>((id) => this.releaseWeakQuietly(id));
  /** @internal */
  private detached = false;
  /** Stress collections this thread asked for (every fourth is major). @internal */
  private stressCollections = 0;

  /** @internal */
  protected constructor(arena: Arena, slot: number) {
    super(arena, slot);
    this.pauses = new PauseDriver(this);
    this.finalizers = new Finalizers(this);
  }

  // ---------------------------------------------------------------------------------------
  // Creating and attaching.

  /** Creates a heap in a new SharedArrayBuffer; this thread becomes its first mutator. */
  static create(options: HeapOptions = {}): Heap {
    const o = validateOptions(options);
    const maxPages = Math.floor(o.maxSize / PAGE_BYTES);
    const layout = arenaLayout(maxPages);
    const initialPages = Math.floor(o.size / PAGE_BYTES);
    if (initialPages < layout.headerPages + 16) {
      throw new HeapUsageError(`options.size ${o.size} is too small: the arena header alone takes ${layout.headerBytes} bytes at maxSize ${o.maxSize}; use at least ${(layout.headerPages + 16) * PAGE_BYTES}`);
    }
    const buffer = makeArenaBuffer(initialPages * PAGE_BYTES, maxPages * PAGE_BYTES, o.reserve);
    const u32 = new Uint32Array(buffer, 0, layout.headerBytes >>> 2);
    u32[G_MAGIC] = MAGIC;
    u32[G_VERSION] = LAYOUT_VERSION;
    u32[G_HEADER_BYTES] = layout.headerBytes;
    u32[G_COMMITTED_PAGES] = layout.headerPages; // growArena below adds the rest as free pages
    u32[G_MAX_PAGES] = maxPages;
    u32[G_INITIAL_PAGES] = initialPages;
    u32[G_CHECKED] = o.checked ? 1 : 0;
    u32[G_SAFEPOINT_MS] = o.safepointTimeoutMs;
    u32[G_GC_FLAGS] = (o.verifyEachGC ? GC_FLAG_VERIFY : 0) | (o.zapFreed ? GC_FLAG_ZAP : 0);
    u32[G_GC_INTERVAL] = o.gcInterval;
    u32[G_YOUNG_BYTES] = o.youngBytes;
    u32[G_YOUNG_BUDGET_KIB] = o.youngBytes >>> 10;
    for (let p = 0; p < layout.headerPages; p++) u32[layout.pageTableWord + p * PT_WORDS + PT_INFO] = PK_HEADER;
    u32[G_POOL_HINT] = layout.headerPages >>> 5;
    const arena = new Arena(buffer);
    growArena(arena, initialPages);
    const slot = claimFreeSlot(arena.i32, 0);
    return Heap.open(arena, slot, Atomics.load(arena.i32, workerWord(slot) + W_GEN));
  }

  /**
   * Attaches this thread to a heap: `workerData.heap` in a worker made by `spawn`, or the
   * buffer itself in a thread started some other way (such a thread is not watched: call
   * `detach()` before it ends).
   */
  static attach(init: HeapInit | SharedArrayBuffer): Heap {
    if (init instanceof SharedArrayBuffer) {
      const arena = new Arena(init);
      const slot = claimFreeSlot(arena.i32, 0);
      if (slot < 0) {
        const dead = countSlots(arena.i32, WS_DEAD);
        throw new HeapUsageError(`Heap.attach: all ${MAX_WORKERS} worker slots are in use` + (dead > 0 ? ` (${dead} by dead workers, freed by the next collection)` : ''));
      }
      return Heap.open(arena, slot, Atomics.load(arena.i32, workerWord(slot) + W_GEN));
    }
    if (init === null || typeof init !== 'object' || !(init.buffer instanceof SharedArrayBuffer)) {
      throw new HeapUsageError('Heap.attach expects the heap init from heap.spawn (workerData.heap in Node) or the heap\'s SharedArrayBuffer');
    }
    platform()?.adopt(init);
    return Heap.open(new Arena(init.buffer), init.slot, init.gen);
  }

  /** @internal */
  private static open(arena: Arena, slot: number, gen: number): Heap {
    const heap = arena.u32[G_CHECKED] === 0 && !arena.buffer.growable ? new UncheckedHeap(arena, slot) : new Heap(arena, slot);
    const ctl = workerWord(slot);
    heap.u32[ctl + W_THREAD_ID] = platform()?.threadId() ?? 0;
    // No root stack yet: attaching must not touch the page pool, since a collection may be
    // under way. The first scope makes one, as a running mutator.
    heap.u32[ctl + W_ROOT_SPAN] = 0;
    heap.u32[ctl + W_ROOT_BASE] = 0;
    heap.u32[ctl + W_ROOT_TOP] = 0;
    heap.u32[ctl + W_ROOT_LIMIT] = 0;
    heap.u32[ctl + W_ROOT_SPARE] = 0;
    heap.u32[ctl + W_PIN] = 0;
    publishParked(arena.i32, slot, gen);
    return heap;
  }

  /** The SharedArrayBuffer holding the heap. */
  get buffer(): SharedArrayBuffer {
    return this.arena.buffer;
  }

  /** This mutator's slot. */
  get workerId(): number {
    return this.slot;
  }

  /**
   * Starts a worker attached to this heap and watched: its end (in Node: a normal exit, a
   * crash or terminate(); in a browser: terminate()) declares it dead, and its pages become
   * orphans. The worker calls `Heap.attach(workerData.heap)` in Node, or
   * `Heap.attach(event.data.heap)` on its first message in a browser. Returns the platform's
   * Worker: a node:worker_threads `Worker` from `bibop-gc`, a Web `Worker` from `bibop-gc/browser`.
   */
  spawn<W = SpawnedWorker>(url: URL | string, options: SpawnOptions = {}): W {
    this.assertAttached();
    const p = platform();
    if (p === undefined) throw new HeapUsageError("spawn: no platform registered; import 'bibop-gc' (Node) or 'bibop-gc/browser'");
    let slot = claimFreeSlot(this.i32, 1);
    if (slot < 0 && countSlots(this.i32, WS_DEAD) > 0) {
      // Dead workers' slots are freed by the next collection.
      this.collect();
      slot = claimFreeSlot(this.i32, 1);
    }
    if (slot < 0) throw new HeapUsageError(`spawn: all ${MAX_WORKERS} worker slots are in use`, { workerId: this.slot });
    const gen = Atomics.load(this.i32, workerWord(slot) + W_GEN);
    // Until the worker is started and watched, only this thread would ever free the slot: a
    // recovery that finds this thread dead frees it instead (recover.ts).
    const reserver = workerWord(slot) + W_RESERVER;
    const word = reserverWord(this.slot, Atomics.load(this.i32, this.ctl + W_GEN));
    Atomics.store(this.u32, reserver, word);
    if (faultHook !== null) faultHook(FP_SPAWN);
    try {
      const worker = p.spawn({
        buffer: this.buffer, slot, gen, headerWords: this.arena.layout.headerBytes >>> 2, url, options,
        declareDead: () => { declareDead(this.i32, slot, gen); },
      }) as W;
      // By CAS: the worker may have attached, left and handed the slot to another spawn by now.
      Atomics.compareExchange(this.u32, reserver, word, 0);
      return worker;
    } catch (e) {
      releaseReservation(this.i32, slot);
      throw e;
    }
  }

  /**
   * Leaves the heap. This thread's objects stay while others hold them (its pages become
   * orphans), and its slot is free at once for the next attach.
   */
  detach(): void {
    if (this.detached) return;
    if (this.depth > 0) throw new ScopeError(`worker ${this.slot}: detach() inside a scope`, { workerId: this.slot });
    // Run the queue, then become a running mutator; a collection in between may have queued
    // more, so go round until the queue is empty at a moment no pause can follow.
    for (;;) {
      this.runFinalizers();
      unpark(this.pauses);
      if (!this.finalizers.pending()) break;
      park(this.i32, this.slot);
    }
    this.detached = true;
    handBackSlot(this);
  }

  // ---------------------------------------------------------------------------------------
  // Types.

  defineStruct<F extends Record<string, FieldKind>>(name: string, fields: F, options: TypeOptions = {}): StructType<F> {
    return this.define(structLayout(name, fields, options)) as StructType<F>;
  }

  defineArray(name: string, element: ElementKind, options: TypeOptions = {}): ArrayType {
    return this.define(arrayLayout(name, element, options));
  }

  /** @internal */
  private define(layout: string): HeapType {
    this.assertAttached();
    acquireLock(this.i32, this.lockId, this.canBlock);
    let id: number;
    try {
      id = defineInArena(this.arena, layout);
    } finally {
      releaseLock(this.i32, this.lockId);
    }
    return this.types.get(id)!;
  }

  /** The type of the object at `ref`. */
  typeOf(ref: number): HeapType {
    this.checkObject(ref, 'typeOf');
    return this.types.get(this.u32[ref >>> 2]! & HDR_TYPE_MASK)!;
  }

  // ---------------------------------------------------------------------------------------
  // Scopes and roots.

  /**
   * Runs `fn` as a running mutator. Every ref allocated (or `root`ed) inside is rooted until
   * `fn` returns or throws; `escape(ref)` keeps one in the parent scope. Entering the
   * outermost scope waits for any collection in progress; leaving it parks this thread.
   */
  scope<T>(fn: () => T): T {
    if (typeof fn !== 'function') {
      throw new ScopeError(`worker ${this.slot}: scope() expects a function, got ${describeValue(fn)}`, { workerId: this.slot });
    }
    const ctl = this.ctl;
    if (this.depth === 0) {
      this.assertAttached();
      unpark(this.pauses);
    } else if (Atomics.load(this.i32, G_GC_OWNER) !== 0) {
      this.pauses.safepointSlow();
    }
    const parentFrame = this.frame;
    let frame = 0; // stays 0 if making room on the root stack fails
    let chunk = 0;
    this.depth++;
    try {
      // Inside the try: a root stack that cannot be made or grown (HeapOutOfMemoryError)
      // must still leave this thread parked.
      if (this.depth === 1) {
        if (this.u32[ctl + W_ROOT_SPAN] === 0) this.growRoots();
        this.rootLimit = this.u32[ctl + W_ROOT_LIMIT]!;
        this.u32[ctl + W_SCOPES] = this.u32[ctl + W_SCOPES]! + 1;
      }
      if (this.u32[ctl + W_ROOT_TOP]! >= this.rootLimit) this.growRoots();
      const top = this.u32[ctl + W_ROOT_TOP]!;
      chunk = this.u32[ctl + W_ROOT_SPAN]!;
      frame = top;
      this.u32[top] = 0;
      this.u32[ctl + W_ROOT_TOP] = top + 1;
      this.frame = frame;
      const result = fn();
      if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
        // What the callback does after its first await runs outside the scope and fails
        // there (ScopeError): that failure is this one's consequence, not a second error.
        (result as unknown as Promise<unknown>).then(undefined, () => undefined);
        throw new ScopeError(`worker ${this.slot}: a scope callback returned a promise; scopes are synchronous (a worker is running only inside one), so allocate before any await, or open a new scope after it`, { workerId: this.slot });
      }
      return result;
    } finally {
      this.depth--;
      this.frame = parentFrame;
      if (frame !== 0) {
        const top = frame + (this.depth > 0 && this.u32[frame] !== 0 ? 1 : 0);
        if (this.u32[ctl + W_ROOT_SPAN] !== chunk) popRootChunks(this, chunk, top);
        else this.u32[ctl + W_ROOT_TOP] = top;
      }
      if (this.depth === 0) this.leaveOutermost();
    }
  }

  /** @internal */
  private leaveOutermost(): void {
    try {
      if (this.finalizers.pending()) {
        this.depth = 1;
        try {
          this.finalizers.run(this);
        } finally {
          this.depth = 0;
        }
      }
    } finally {
      this.rootLimit = 0;
      park(this.i32, this.slot);
    }
  }

  /** Gives the root stack a fresh chunk, collecting or growing the arena for it if need be. @internal */
  private growRoots(): void {
    for (let attempt = 0; !pushRootChunk(this); attempt++) onPoolEmpty(this, this.pauses, 1, attempt, NEED_SYSTEM);
  }

  /** Roots `ref` in the parent scope and returns it (the idiom: `return heap.escape(r)`). */
  escape(ref: number): number {
    if (this.depth === 0) throw new ScopeError(`worker ${this.slot}: escape() outside any scope`, { workerId: this.slot, ref });
    if (this.checked && ref !== 0) this.checkObject(ref, 'escape');
    const held = this.u32[this.frame]!;
    if (held !== 0 && held !== ref) {
      throw new ScopeError(`worker ${this.slot}: escape(${fmtRef(ref)}) after escape(${fmtRef(held)}) in the same scope; a scope hands one ref to its parent (escape an array or struct holding both)`, { workerId: this.slot, ref });
    }
    this.u32[this.frame] = ref;
    return ref;
  }

  /** Roots an existing ref in the current scope. */
  root(ref: number): number {
    if (this.depth === 0) throw new ScopeError(`worker ${this.slot}: root() outside any scope`, { workerId: this.slot, ref });
    if (this.checked && ref !== 0) this.checkObject(ref, 'root');
    this.pushRoot(ref);
    return ref;
  }

  /** @internal */
  private pushRoot(ref: number): void {
    const ctl = this.ctl;
    if (this.u32[ctl + W_ROOT_TOP]! >= this.rootLimit) {
      // Growing may collect, and `ref` may be held by nothing else yet: pin it meanwhile.
      this.u32[ctl + W_PIN] = ref;
      this.growRoots();
      this.u32[ctl + W_PIN] = 0;
    }
    const top = this.u32[ctl + W_ROOT_TOP]!;
    this.u32[top] = ref;
    this.u32[ctl + W_ROOT_TOP] = top + 1;
  }

  // ---------------------------------------------------------------------------------------
  // Allocation. The fast paths: a compare against the TLAB limit and the root-stack limit,
  // then the header, the root push and the bump. Everything else is allocSlow.

  alloc(type: HeapType): number {
    const u32 = this.u32;
    const ctl = this.ctl;
    // `?.`: a null type reaches the slow path's error (NaN fails every compare) instead of a
    // TypeError here; checked mode also sends a type of another heap there.
    const tl = ctl + (type?.$tlab as number);
    const ref = u32[tl]!;
    const end = ref + (type?.$blockBytes as number);
    const top = u32[ctl + W_ROOT_TOP]!;
    // Written !(a <= b) so that a non-type argument (NaN everywhere) also takes the slow path.
    if (!(end <= u32[tl + TLAB_LIMIT]!) || top >= this.rootLimit || (this.checked && type.$buffer !== this.arena.buffer)) return this.allocSlow(type, TK_STRUCT, 0);
    u32[ref >>> 2] = type.$id;
    u32[top] = ref;
    u32[ctl + W_ROOT_TOP] = top + 1;
    u32[tl] = end;
    return ref;
  }

  allocArray(type: HeapType, length: number): number {
    const bytes = ARRAY_HEADER_BYTES + length * (type?.$bytes as number);
    if (type?.$kind !== TK_ARRAY || !(bytes <= MAX_SMALL_BYTES) || (length >>> 0) !== length || (this.checked && type.$buffer !== this.arena.buffer)) {
      return this.allocSlow(type, TK_ARRAY, length);
    }
    const u32 = this.u32;
    const ctl = this.ctl;
    const tl = ctl + W_TLAB + (CLASS_OF_GRANULES[(bytes + 7) >>> 3]! + type.$classBias) * TLAB_WORDS;
    const ref = u32[tl]!;
    const end = ref + CLASS_OF_GRANULES_BLOCK[(bytes + 7) >>> 3]!;
    const top = u32[ctl + W_ROOT_TOP]!;
    if (end > u32[tl + TLAB_LIMIT]! || top >= this.rootLimit) return this.allocSlow(type, TK_ARRAY, length);
    const word = ref >>> 2;
    u32[word] = type.$id;
    u32[word + ARRAY_LENGTH_WORD] = length;
    u32[top] = ref;
    u32[ctl + W_ROOT_TOP] = top + 1;
    u32[tl] = end;
    return ref;
  }

  /**
   * The slow path of both `alloc` (kind TK_STRUCT) and `allocArray` (TK_ARRAY): argument
   * errors, root-stack growth, large objects, TLAB refill. One function for both keeps it too
   * big for V8 to inline into the fast paths' callers (measured: ~12% on allocation).
   * @internal
   */
  private allocSlow(type: HeapType, kind: number, length: number): number {
    const isArray = kind === TK_ARRAY;
    this.assertCanAllocate(type, isArray ? 'allocArray' : 'alloc');
    if (type.$kind !== (isArray ? TK_ARRAY : TK_STRUCT)) {
      throw new InvalidRefError(isArray
        ? `allocArray(${type.$name}): '${type.$name}' is a struct type; use alloc(type)`
        : `alloc(${type.$name}): '${type.$name}' is an array type; use allocArray(type, length)`, { typeName: type.$name, workerId: this.slot });
    }
    if (isArray && (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || length > MAX_ARRAY_LENGTH)) {
      throw new HeapRangeError(`allocArray(${type.$name}, ${String(length)}): the length must be an integer from 0 to ${MAX_ARRAY_LENGTH} (worker ${this.slot})`, { typeName: type.$name, workerId: this.slot });
    }
    if (this.u32[this.ctl + W_ROOT_TOP]! >= this.rootLimit) this.growRoots();
    const bytes = isArray ? ARRAY_HEADER_BYTES + length * type.$bytes : type.$bytes;
    if (bytes > MAX_SMALL_BYTES) {
      if (this.gcInterval !== 0 && --this.stressLeft <= 0) this.stressCollect();
      if (this.minorDue) {
        this.minorDue = false;
        this.pauses.collectForAllocation(GC_KIND_MINOR);
      }
      let ref = 0;
      for (let attempt = 0; ref === 0; attempt++) {
        if (Atomics.load(this.i32, G_GC_OWNER) !== 0) this.pauses.safepointSlow();
        ref = allocLarge(this, bytes, type.$id, isArray ? length : 0, isArray);
        if (ref === 0) onPoolEmpty(this, this.pauses, largeSpanPages(bytes), attempt, NEED_LARGE);
      }
      this.pushRoot(ref);
      return ref;
    }
    const allocClass = CLASS_OF_GRANULES[(bytes + 7) >>> 3]! + type.$classBias;
    const tl = this.ctl + W_TLAB + allocClass * TLAB_WORDS;
    const block = CLASS_OF_GRANULES_BLOCK[(bytes + 7) >>> 3]!;
    for (let attempt = 0; ; ) {
      if (this.u32[tl + TLAB_CURSOR]! + block <= this.u32[tl + TLAB_LIMIT]!) return isArray ? this.allocArray(type, length) : this.alloc(type);
      if (Atomics.load(this.i32, G_GC_OWNER) !== 0) this.pauses.safepointSlow();
      const r = refillTlab(this, allocClass);
      if (r === REFILL_EMPTY) onPoolEmpty(this, this.pauses, CLASS_SPAN_PAGES[allocClass % NUM_SIZE_CLASSES]!, attempt++, NEED_SMALL);
      else if (r === REFILL_MINOR) this.pauses.collectForAllocation(GC_KIND_MINOR);
      else if (r === REFILL_STRESS) this.stressCollect();
    }
  }

  /** options.gcInterval: this thread has allocated that many objects since its last collection. @internal */
  private stressCollect(): void {
    this.stressLeft = this.gcInterval;
    this.stressCollections++;
    this.pauses.collectForAllocation(this.generational && (this.stressCollections & 3) !== 0 ? GC_KIND_MINOR : GC_KIND_MAJOR);
  }

  /** @internal */
  private assertCanAllocate(type: HeapType, what: string): void {
    if (!(type instanceof HeapType) || type.$buffer === undefined) {
      throw new HeapUsageError(`${what}: expected a type from defineStruct/defineArray, got ${describeValue(type)} (worker ${this.slot})`, { workerId: this.slot });
    }
    if (type.$buffer !== this.arena.buffer) {
      throw new HeapUsageError(`${what}(${type.$name}): type '${type.$name}' was defined on another heap; define it on this one (the same name and layout give the same type on every worker)`, { typeName: type.$name, workerId: this.slot });
    }
    if (this.depth === 0) {
      this.assertAttached();
      throw new ScopeError(`worker ${this.slot}: ${what}(${type.$name}) outside any scope; allocate inside heap.scope(() => …)`, { workerId: this.slot, typeName: type.$name });
    }
  }

  // ---------------------------------------------------------------------------------------
  // Accessors. Checked mode validates the ref, the field or index, and the value stored.

  // Each accessor syncs its views when the word it touches lies past them: another worker
  // may have grown the arena and allocated the object there.

  getRef(ref: number, offset: number): number {
    if (this.checked) this.checkField(ref, offset, EK_REF);
    const w = (ref + offset) >>> 2;
    if (w >= this.viewWords) this.syncViews();
    return this.u32[w]!;
  }

  setRef(ref: number, offset: number, value: number): void {
    if (this.depth === 0) this.throwOutsideScope('setRef', ref);
    if (this.checked) { this.checkField(ref, offset, EK_REF); this.checkValue(value); }
    const w = (ref + offset) >>> 2;
    if (w >= this.viewWords) this.syncViews();
    const u32 = this.u32;
    // The barrier before the store: a thread killed in between leaves a dirty bit too many
    // (recomputed by the next collection), never an old -> young ref that no bit covers.
    if ((u32[PAGE_INFO_WORD + (ref >>> PAGE_LOG) * PT_WORDS]! & PI_OLD) !== 0) barrierSlow(u32, this.f32, this.remsetWord, ref, w, value);
    u32[w] = value;
  }

  getI32(ref: number, offset: number): number {
    if (this.checked) this.checkField(ref, offset, EK_I32);
    const w = (ref + offset) >>> 2;
    if (w >= this.viewWords) this.syncViews();
    return this.i32[w]!;
  }

  setI32(ref: number, offset: number, value: number): void {
    if (this.checked) this.checkField(ref, offset, EK_I32);
    const w = (ref + offset) >>> 2;
    if (w >= this.viewWords) this.syncViews();
    this.i32[w] = value;
  }

  getF64(ref: number, offset: number): number {
    if (this.checked) this.checkField(ref, offset, EK_F64);
    const d = (ref + offset) >>> 3;
    if (d >= this.viewWords >>> 1) this.syncViews();
    return this.f64[d]!;
  }

  setF64(ref: number, offset: number, value: number): void {
    if (this.checked) this.checkField(ref, offset, EK_F64);
    const d = (ref + offset) >>> 3;
    if (d >= this.viewWords >>> 1) this.syncViews();
    this.f64[d] = value;
  }

  /** Number of elements of an array. */
  length(ref: number): number {
    if (this.checked) this.checkArray(ref, 0, 'length');
    const w = (ref >>> 2) + ARRAY_LENGTH_WORD;
    if (w >= this.viewWords) this.syncViews();
    return this.u32[w]!;
  }

  getRefAt(ref: number, index: number): number {
    if (this.checked) this.checkIndex(ref, index, EK_REF);
    const w = (ref >>> 2) + 2 + index;
    if (w >= this.viewWords) this.syncViews();
    return this.u32[w]!;
  }

  setRefAt(ref: number, index: number, value: number): void {
    if (this.depth === 0) this.throwOutsideScope('setRefAt', ref);
    if (this.checked) { this.checkIndex(ref, index, EK_REF); this.checkValue(value); }
    const w = (ref >>> 2) + 2 + index;
    if (w >= this.viewWords) this.syncViews();
    const u32 = this.u32;
    // The barrier before the store: a thread killed in between leaves a dirty bit too many
    // (recomputed by the next collection), never an old -> young ref that no bit covers.
    if ((u32[PAGE_INFO_WORD + (ref >>> PAGE_LOG) * PT_WORDS]! & PI_OLD) !== 0) barrierSlow(u32, this.f32, this.remsetWord, ref, w, value);
    u32[w] = value;
  }

  getI32At(ref: number, index: number): number {
    if (this.checked) this.checkIndex(ref, index, EK_I32);
    const w = (ref >>> 2) + 2 + index;
    if (w >= this.viewWords) this.syncViews();
    return this.i32[w]!;
  }

  setI32At(ref: number, index: number, value: number): void {
    if (this.checked) this.checkIndex(ref, index, EK_I32);
    const w = (ref >>> 2) + 2 + index;
    if (w >= this.viewWords) this.syncViews();
    this.i32[w] = value;
  }

  getF64At(ref: number, index: number): number {
    if (this.checked) this.checkIndex(ref, index, EK_F64);
    const d = (ref >>> 3) + 1 + index;
    if (d >= this.viewWords >>> 1) this.syncViews();
    return this.f64[d]!;
  }

  setF64At(ref: number, index: number, value: number): void {
    if (this.checked) this.checkIndex(ref, index, EK_F64);
    const d = (ref >>> 3) + 1 + index;
    if (d >= this.viewWords >>> 1) this.syncViews();
    this.f64[d] = value;
  }

  getU8At(ref: number, index: number): number {
    if (this.checked) this.checkIndex(ref, index, EK_U8);
    const b = ref + ARRAY_HEADER_BYTES + index;
    if (b >>> 2 >= this.viewWords) this.syncViews();
    return this.u8[b]!;
  }

  setU8At(ref: number, index: number, value: number): void {
    if (this.checked) this.checkIndex(ref, index, EK_U8);
    const b = ref + ARRAY_HEADER_BYTES + index;
    if (b >>> 2 >= this.viewWords) this.syncViews();
    this.u8[b] = value;
  }

  // ---------------------------------------------------------------------------------------
  // Validation (checked mode).

  /** @internal */
  private refError(ref: number, problem: number, what: string): Error {
    const msg = `${what}: ref ${fmtRef(ref)} is ${REF_PROBLEMS[problem]} (worker ${this.slot})`;
    return isStaleProblem(problem)
      ? new StaleRefError(msg, { ref, workerId: this.slot })
      : new InvalidRefError(msg, { ref, workerId: this.slot });
  }

  /** @internal */
  private checkObject(ref: number, what: string): void {
    if (!isAllocatedSmallRef(this.u32, this.f32, ref, this.slot)) this.checkObjectSlow(ref, what);
  }

  /** @internal */
  private checkObjectSlow(ref: number, what: string): void {
    let c = classifyRef(this.u32, this.f32, ref, this.slot);
    if (c === REF_OUTSIDE && this.arena.buffer.byteLength > this.viewWords * 4) {
      this.syncViews();
      c = classifyRef(this.u32, this.f32, ref, this.slot);
    }
    if (c !== REF_OK) throw this.refError(ref, c, what);
  }

  /** @internal */
  private checkValue(value: number): void {
    if (value !== 0) this.checkObject(value, 'value stored');
  }

  /** @internal */
  private checkField(ref: number, offset: number, kind: number): void {
    this.checkObject(ref, 'field access');
    const type = this.types.get(this.u32[ref >>> 2]! & HDR_TYPE_MASK)!;
    // (offset >>> 0) === offset: a non-negative integer below 2^32.
    if (type.$kind !== TK_STRUCT || typeof offset !== 'number' || (offset >>> 0) !== offset || offset >= type.$bytes
      || (offset & (kind === EK_F64 ? 7 : 3)) !== 0 || type.$wordKinds[offset >>> 2] !== kind) this.fieldError(ref, offset, kind, type);
  }

  /** @internal */
  private fieldError(ref: number, offset: number, kind: number, type: HeapType): never {
    if (type.$kind !== TK_STRUCT) {
      throw new InvalidRefError(`field access on ${fmtRef(ref)}: it is an array of type '${type.$name}'; use the …At accessors`, { ref, typeName: type.$name, workerId: this.slot });
    }
    const inside = typeof offset === 'number' && Number.isInteger(offset) && offset >= 0 && offset < type.$bytes;
    const word = inside ? offset >>> 2 : 0;
    const kindName = KIND_NAMES[kind];
    const there = inside && type.$wordKinds[word] ? `'${type.$wordNames[word]}', a ${KIND_NAMES[type.$wordKinds[word]!]} field` : 'no field';
    throw new InvalidRefError(`type '${type.$name}' has no ${kindName} field at byte offset ${String(offset)} (there is ${there}); object ${fmtRef(ref)}, worker ${this.slot}`, { ref, typeName: type.$name, workerId: this.slot });
  }

  /** @internal */
  private checkArray(ref: number, kind: number, what: string): HeapType {
    this.checkObject(ref, what);
    const type = this.types.get(this.u32[ref >>> 2]! & HDR_TYPE_MASK)!;
    if (type.$kind !== TK_ARRAY || (kind !== 0 && type.$elemKind !== kind)) {
      const is = type.$kind === TK_ARRAY ? `an array of ${KIND_NAMES[type.$elemKind]}` : 'a struct';
      throw new InvalidRefError(`${what}: object ${fmtRef(ref)} of type '${type.$name}' is ${is}${kind ? `, not an array of ${KIND_NAMES[kind]}` : ''} (worker ${this.slot})`, { ref, typeName: type.$name, workerId: this.slot });
    }
    return type;
  }

  /** @internal */
  private checkIndex(ref: number, index: number, kind: number): void {
    const type = this.checkArray(ref, kind, 'element access');
    const length = this.u32[(ref >>> 2) + ARRAY_LENGTH_WORD]!;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= length) {
      throw new HeapRangeError(`index ${String(index)} is out of bounds for array ${fmtRef(ref)} of type '${type.$name}' with length ${length} (worker ${this.slot})`, { ref, typeName: type.$name, workerId: this.slot });
    }
  }

  /** @internal */
  private throwOutsideScope(what: string, ref: number): never {
    this.assertAttached();
    throw new ScopeError(`worker ${this.slot}: ${what} on ${fmtRef(ref)} outside any scope; ref stores need a running mutator (heap.scope(() => …))`, { workerId: this.slot, ref });
  }

  /** @internal */
  private assertAttached(): void {
    if (this.detached) throw new HeapUsageError(`worker ${this.slot} has detached from this heap`, { workerId: this.slot });
  }

  // ---------------------------------------------------------------------------------------
  // Handles: persistent roots and weak refs.

  /** Roots `ref` until released; the handle's id names it on any worker (`heap.handle(id)`). */
  persist(ref: number): Persistent {
    return new Persistent(this, this.newHandle(HK_STRONG, ref, 'persist'));
  }

  /** The persistent handle with this id, made by any worker. */
  handle(id: number): Persistent {
    if (resolveHandle(this, id, HK_STRONG) < 0) throw new HeapUsageError(`no persistent handle with id ${id}: it was released or never made`, { workerId: this.slot });
    return new Persistent(this, id);
  }

  /** A weak ref to `ref`: cleared when the object is collected. */
  weak(ref: number): WeakHandle {
    const w = new WeakHandle(this, this.newHandle(HK_WEAK, ref, 'weak'));
    this.weakCleanup.register(w, w.id, w);
    return w;
  }

  /** @internal */
  private newHandle(kind: number, ref: number, what: string): number {
    this.assertAttached();
    this.checkObject(ref, what);
    // Handle entries change only while their writer runs, never during a collection.
    const make = (): number => {
      let index = -1;
      // A new handle chunk may need a collection, and until its entry exists `ref` may be held
      // by nothing else: pin it meanwhile.
      this.u32[this.ctl + W_PIN] = ref;
      try {
        for (let attempt = 0; index < 0; attempt++) {
          index = allocHandle(this, kind, ref, this.slot);
          if (index < 0) onPoolEmpty(this, this.pauses, largeSpanPages(HANDLE_CHUNK_BYTES), attempt, NEED_SYSTEM);
        }
      } finally {
        this.u32[this.ctl + W_PIN] = 0;
      }
      return handleId(this, index);
    };
    return this.depth > 0 ? make() : this.scope(make);
  }

  /** @internal */
  handleRef(id: number, kind: number): number {
    const index = resolveHandle(this, id, kind);
    if (index < 0) throw new HeapUsageError(`handle ${id} was released`, { workerId: this.slot });
    const ref = Atomics.load(this.u32, handleEntry(this, index) + H_REF);
    // Another thread may have released the entry and handed it out again in between: the ref
    // read counts only if the entry still holds this handle (a release or a new allocation
    // changes its kind or generation word).
    if (resolveHandle(this, id, kind) !== index) throw new HeapUsageError(`handle ${id} was released`, { workerId: this.slot });
    return ref;
  }

  /** @internal */
  releaseHandle(id: number, kind: number): void {
    const free = (): void => {
      if (!freeHandleById(this, id, kind)) throw new HeapUsageError(`handle ${id} was already released`, { workerId: this.slot });
    };
    if (this.depth > 0) free();
    else this.scope(free);
  }

  /** @internal */
  private releaseWeakQuietly(id: number): void {
    if (this.detached || resolveHandle(this, id, HK_WEAK) < 0) return;
    this.releaseHandle(id, HK_WEAK);
  }

  // ---------------------------------------------------------------------------------------
  // Finalization.

  /**
   * Registers this thread's finalizer for a type defined with `{ finalize: true }`. It runs
   * after the pause that found the object dead, on the thread that owns its page (the
   * collector, for orphan pages), with the object and what it reaches still readable.
   * Objects whose runner has no callback for their type are freed without one.
   */
  onFinalize(type: HeapType, fn: (ref: number) => void): void {
    if (!(type instanceof HeapType) || !type.$finalize) {
      throw new TypeDefinitionError(`onFinalize: type '${type?.$name}' was not defined with { finalize: true }`, String(type?.$name));
    }
    if (typeof fn !== 'function') {
      throw new HeapUsageError(`onFinalize(${type.$name}, …): the callback must be a function, got ${describeValue(fn)} (worker ${this.slot})`, { typeName: type.$name, workerId: this.slot });
    }
    this.finalizers.register(type.$id, fn);
  }

  /** Runs the finalizers queued for this thread. Called at scope exits and after collect(). */
  runFinalizers(): number {
    if (this.detached || !this.finalizers.pending()) return 0;
    return this.depth > 0 ? this.finalizers.run(this) : this.scope(() => this.finalizers.run(this));
  }

  // ---------------------------------------------------------------------------------------
  // Collection.

  /**
   * Runs a collection that begins after this call, on this thread or, if another worker is
   * collecting, as a participant in the next one, and returns its event. 'major' (the
   * default) marks and sweeps the whole heap; 'minor' only the young generation, from the
   * roots and the remembered set.
   */
  collect(kind: GcKind = 'major'): GcEvent {
    if (kind !== 'major' && kind !== 'minor') throw new HeapUsageError(`collect(${JSON.stringify(kind)}): kind is 'major' or 'minor'`, { workerId: this.slot });
    this.assertAttached();
    const event = this.pauses.collect(kind === 'minor' ? GC_KIND_MINOR : GC_KIND_MAJOR);
    this.runFinalizers();
    return event;
  }

  /** Polls for a collection request; call it in long loops that do not allocate. */
  safepoint(): void {
    if (this.depth > 0 && Atomics.load(this.i32, G_GC_OWNER) !== 0) this.pauses.safepointSlow();
  }

  /** Observes every collection this thread runs; called before collect() returns. */
  onGC(listener: (event: GcEvent) => void): () => void {
    return this.pauses.onGC(listener);
  }

  // ---------------------------------------------------------------------------------------
  // Inspection.

  stats(): HeapStats {
    this.syncViews();
    return heapStats(this.arena, this.statsWalker);
  }

  /**
   * Checks every invariant (see gc/verify.ts) inside a pause of its own, so other workers
   * stand still while it looks. Returns the errors; it never throws on a broken heap. With
   * `{ remark: true }` it also marks the heap again from scratch (a sanity check of what the
   * collections kept: `result.remark`).
   */
  verify(options: { remark?: boolean } = {}): VerifyResult {
    this.assertAttached();
    if (options === null || typeof options !== 'object') throw new HeapUsageError(`verify(${String(options)}): options must be an object like { remark: true }`, { workerId: this.slot });
    return this.pauses.verify(options.remark === true);
  }

  // Heap inspection (src/inspect): whole-heap readers run inside a pause of their own.

  /**
   * A consistent copy of the heap, taken inside a pause (any worker may call it; nothing is
   * allocated in the arena): self-describing and versioned (src/inspect/format.ts).
   */
  snapshot(options: { onProgress?: ProgressFn } = {}): Uint8Array {
    this.assertAttached();
    return sealSnapshot(this.pauses.exclusive(() => captureSnapshot(this.arena, this.pauses.walker)), options.onProgress);
  }

  /** Opens a snapshot as a read-only heap; a file that is not a readable snapshot throws SnapshotError. */
  static fromSnapshot(bytes: Uint8Array, options: OpenOptions = {}): HeapView {
    return HeapView.open(bytes, options);
  }

  /** One entry per page, read inside a pause ('pause') or racing the mutators ('racy'). */
  pages(mode: ReadMode = 'pause'): PageInfo[] {
    return this.heapMap(mode).pages;
  }

  /** Pages, size classes, types and workers in one walk (see `pages`). */
  heapMap(mode: ReadMode = 'pause'): HeapMap {
    this.assertAttached();
    if (mode === 'racy') {
      this.syncViews();
      return heapMap(this.arena, this.types, this.statsWalker, 'racy');
    }
    return this.pauses.exclusive(() => heapMap(this.arena, this.types, this.pauses.walker, 'pause'));
  }

  /** A shortest path from a root to `ref` (read inside a pause), or null when nothing reaches it. */
  retainers(ref: number): RetainerPath | null {
    this.assertAttached();
    return this.pauses.exclusive(() => findRetainers(this.arena.u32, this.arena.f32, this.types, ref));
  }

  /** Whether this thread is inside a scope (a running mutator). */
  get running(): boolean {
    return this.depth > 0 && Atomics.load(this.i32, this.ctl + W_STATE) === WS_RUNNING;
  }

  /** util.inspect and console.log print one line (worker, arena, objects), not the arena's views. @internal */
  [INSPECT](): string {
    return summarizeHeap(this, this.detached);
  }
}

const MAX_ARRAY_LENGTH = 2 ** 28;
/**
 * The arena's buffer: reserved at `maxBytes` if asked and the system allows it, so that it
 * never grows and every thread's views cover every page there will be (the system backs a
 * page only once it is touched); else a growable buffer of `initialBytes`.
 */
function makeArenaBuffer(initialBytes: number, maxBytes: number, reserve: boolean): SharedArrayBuffer {
  if (reserve) {
    try {
      return new SharedArrayBuffer(maxBytes);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
  }
  return new SharedArrayBuffer(initialBytes, { maxByteLength: maxBytes });
}

/**
 * A heap in unchecked mode on a reserved arena: its views cover every page there will be,
 * so each accessor is one typed-array access (and a ref store also the barrier's page test).
 * Every slow or failing case goes through Heap's own method. `Heap.open` picks the class.
 * @internal
 */
class UncheckedHeap extends Heap {
  override alloc(type: HeapType): number {
    const u32 = this.u32;
    const ctl = this.ctl;
    const tl = ctl + (type?.$tlab as number);
    const ref = u32[tl]!;
    const end = ref + (type?.$blockBytes as number);
    const top = u32[ctl + W_ROOT_TOP]!;
    if (!(end <= u32[tl + TLAB_LIMIT]!) || top >= this.rootLimit) return super.alloc(type);
    u32[ref >>> 2] = type.$id;
    u32[top] = ref;
    u32[ctl + W_ROOT_TOP] = top + 1;
    u32[tl] = end;
    return ref;
  }

  override getRef(ref: number, offset: number): number {
    return this.u32[(ref + offset) >>> 2]!;
  }

  override setRef(ref: number, offset: number, value: number): void {
    if (this.depth === 0) return super.setRef(ref, offset, value); // throws the ScopeError
    const u32 = this.u32;
    const w = (ref + offset) >>> 2;
    if ((u32[PAGE_INFO_WORD + (ref >>> PAGE_LOG) * PT_WORDS]! & PI_OLD) !== 0) barrierSlow(u32, this.f32, this.remsetWord, ref, w, value);
    u32[w] = value;
  }

  override getI32(ref: number, offset: number): number {
    return this.i32[(ref + offset) >>> 2]!;
  }

  override setI32(ref: number, offset: number, value: number): void {
    this.i32[(ref + offset) >>> 2] = value;
  }

  override getF64(ref: number, offset: number): number {
    return this.f64[(ref + offset) >>> 3]!;
  }

  override setF64(ref: number, offset: number, value: number): void {
    this.f64[(ref + offset) >>> 3] = value;
  }

  override length(ref: number): number {
    return this.u32[(ref >>> 2) + ARRAY_LENGTH_WORD]!;
  }

  override getRefAt(ref: number, index: number): number {
    return this.u32[(ref >>> 2) + 2 + index]!;
  }

  override setRefAt(ref: number, index: number, value: number): void {
    if (this.depth === 0) return super.setRefAt(ref, index, value); // throws the ScopeError
    const u32 = this.u32;
    const w = (ref >>> 2) + 2 + index;
    if ((u32[PAGE_INFO_WORD + (ref >>> PAGE_LOG) * PT_WORDS]! & PI_OLD) !== 0) barrierSlow(u32, this.f32, this.remsetWord, ref, w, value);
    u32[w] = value;
  }

  override getI32At(ref: number, index: number): number {
    return this.i32[(ref >>> 2) + 2 + index]!;
  }

  override setI32At(ref: number, index: number, value: number): void {
    this.i32[(ref >>> 2) + 2 + index] = value;
  }

  override getF64At(ref: number, index: number): number {
    return this.f64[(ref >>> 3) + 1 + index]!;
  }

  override setF64At(ref: number, index: number, value: number): void {
    this.f64[(ref >>> 3) + 1 + index] = value;
  }

  override getU8At(ref: number, index: number): number {
    return this.u8[ref + ARRAY_HEADER_BYTES + index]!;
  }

  override setU8At(ref: number, index: number, value: number): void {
    this.u8[ref + ARRAY_HEADER_BYTES + index] = value;
  }
}

const DEFAULT_YOUNG_BYTES = 16 << 20;
const MIN_YOUNG_BYTES = 256 << 10;
const KIND_NAMES = ['', 'ref', 'i32', 'f64', 'u8'];

/** A short description of a value a user passed where it does not belong. */
function describeValue(v: unknown): string {
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'function') return `function ${v.name || '(anonymous)'}`;
  return Object.getPrototypeOf(v) === Object.prototype ? 'a plain object' : `an object (${(v as object).constructor?.name ?? 'no constructor'})`;
}

function fmtRef(ref: unknown): string {
  return typeof ref === 'number' && Number.isInteger(ref) && ref >= 0 ? `0x${ref.toString(16)}` : String(ref);
}

interface ValidOptions {
  size: number;
  maxSize: number;
  reserve: boolean;
  checked: boolean;
  safepointTimeoutMs: number;
  verifyEachGC: boolean;
  zapFreed: boolean;
  gcInterval: number;
  youngBytes: number;
}

function validateOptions(options: HeapOptions): ValidOptions {
  if (options === null || typeof options !== 'object') throw new HeapUsageError('Heap.create: options must be an object');
  const known = new Set(['size', 'maxSize', 'reserve', 'checked', 'safepointTimeoutMs', 'verifyEachGC', 'zapFreed', 'gcInterval', 'youngBytes']);
  for (const k of Object.keys(options)) if (!known.has(k)) throw new HeapUsageError(`Heap.create: unknown option '${k}'`);
  const size = options.size ?? 64 << 20;
  if (!Number.isInteger(size) || size < MIN_ARENA_BYTES || size > MAX_ARENA_BYTES) {
    throw new HeapUsageError(`Heap.create: options.size must be an integer from ${MIN_ARENA_BYTES} (1 MiB) to ${MAX_ARENA_BYTES}, got ${String(size)}`);
  }
  const maxSize = options.maxSize ?? Math.max(size, Math.min(2 ** 31, size * 16));
  if (!Number.isInteger(maxSize) || maxSize < size || maxSize > MAX_ARENA_BYTES) {
    throw new HeapUsageError(`Heap.create: options.maxSize must be an integer from size (${size}) to ${MAX_ARENA_BYTES}, got ${String(maxSize)}`);
  }
  const checked = options.checked ?? true;
  if (typeof checked !== 'boolean') throw new HeapUsageError(`Heap.create: options.checked must be a boolean, got ${String(checked)}`);
  const reserve = options.reserve ?? true;
  if (typeof reserve !== 'boolean') throw new HeapUsageError(`Heap.create: options.reserve must be a boolean, got ${String(reserve)}`);
  const safepointTimeoutMs = options.safepointTimeoutMs ?? 10_000;
  if (!Number.isInteger(safepointTimeoutMs) || safepointTimeoutMs <= 0 || safepointTimeoutMs > 2 ** 31 - 1) {
    throw new HeapUsageError(`Heap.create: options.safepointTimeoutMs must be a positive integer, got ${String(safepointTimeoutMs)}`);
  }
  const verifyEachGC = options.verifyEachGC ?? false;
  const zapFreed = options.zapFreed ?? false;
  if (typeof verifyEachGC !== 'boolean' || typeof zapFreed !== 'boolean') throw new HeapUsageError('Heap.create: verifyEachGC and zapFreed are booleans');
  const gcInterval = options.gcInterval ?? 0;
  if (!Number.isInteger(gcInterval) || gcInterval < 0 || gcInterval > 2 ** 31 - 1) {
    throw new HeapUsageError(`Heap.create: options.gcInterval must be a non-negative integer (allocations between collections; 0 is off), got ${String(gcInterval)}`);
  }
  // By default an eighth of the initial arena, from 256 KiB to 16 MiB.
  const youngBytes = options.youngBytes ?? Math.max(MIN_YOUNG_BYTES, Math.min(DEFAULT_YOUNG_BYTES, Math.floor(size / 8 / PAGE_BYTES) * PAGE_BYTES));
  if (!Number.isInteger(youngBytes) || (youngBytes !== 0 && (youngBytes < MIN_YOUNG_BYTES || youngBytes > maxSize / 4))) {
    throw new HeapUsageError(`Heap.create: options.youngBytes must be 0 (no generations) or an integer from ${MIN_YOUNG_BYTES} to maxSize / 4 (${Math.floor(maxSize / 4)}), got ${String(youngBytes)}`);
  }
  return { size, maxSize, reserve, checked, safepointTimeoutMs, verifyEachGC, zapFreed, gcInterval, youngBytes };
}

