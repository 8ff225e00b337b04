// Thread: what one thread (the creator, or a worker) knows of the heap it has attached to.
// The heap layer's functions take it; they never call up into the collector: where they
// need memory the pool does not have, they return a failure for the caller to pace on.
//
// Concurrency contract: a Thread object belongs to one JS thread. Its words in the arena
// (its worker control block, root stack and TLABs) are written by that thread while it is
// running and by the collector while it is stopped or parked, never both at once.

import { Arena } from './arena.js';
import { G_CHECKED, G_GC_INTERVAL, G_SAFEPOINT_MS, G_TIME_ORIGIN_F64, W_GEN, workerWord } from './layout.js';
import { TypeCache } from './types.js';
import { lockWord } from './lock.js';

/** Why a thread asks for memory it could not find: drives pacing. */
export const NEED_SMALL = 0;
export const NEED_LARGE = 1;
export const NEED_SYSTEM = 2;

export class Thread {
  readonly arena: Arena;
  u8: Uint8Array;
  u32: Uint32Array;
  i32: Int32Array;
  f32: Float32Array;
  f64: Float64Array;
  /** Words covered by this thread's views. */
  viewWords: number;

  /** This thread's worker slot and the word index of its control block. */
  readonly slot: number;
  readonly ctl: number;
  /** The slot's generation stamp at attach, and the heap-lock word that names this thread. */
  readonly gen: number;
  readonly lockId: number;
  readonly checked: boolean;
  readonly safepointTimeoutMs: number;
  /** False on a thread where Atomics.wait throws (a browser page's main thread): waits spin. */
  readonly canBlock: boolean;
  readonly types: TypeCache;

  /** Scope depth: 0 means parked. */
  depth = 0;
  /** Word index of the current frame's escape slot on the root stack (roots.ts). */
  frame = 0;
  /** Word index one past the root stack while running; 0 while parked, which sends every
   *  allocation to the slow path, where "outside a scope" is reported. */
  rootLimit = 0;
  /** Bytes handed to TLABs and not yet added to the shared pacing counter. */
  pendingAllocBytes = 0;
  /** Fresh spans claimed ahead, per allocation class, lowest address last (allocator.ts). */
  readonly spareSpans: number[][] = [];
  /** G_GC_STARTED when the spares were claimed: a collection since then has freed them. */
  sparesGc = -1;
  /** Stress (options.gcInterval): allocations between collections, and those left until the next. */
  readonly gcInterval: number;
  stressLeft: number;

  constructor(arena: Arena, slot: number) {
    this.arena = arena;
    this.u8 = arena.u8;
    this.u32 = arena.u32;
    this.i32 = arena.i32;
    this.f32 = arena.f32;
    this.f64 = arena.f64;
    this.viewWords = this.u32.length;
    this.slot = slot;
    this.ctl = workerWord(slot);
    this.gen = Atomics.load(arena.i32, this.ctl + W_GEN);
    this.lockId = lockWord(slot, this.gen);
    this.checked = arena.u32[G_CHECKED] === 1;
    this.safepointTimeoutMs = arena.u32[G_SAFEPOINT_MS]!;
    this.gcInterval = arena.u32[G_GC_INTERVAL]!;
    this.stressLeft = this.gcInterval;
    this.canBlock = detectCanBlock();
    this.types = new TypeCache(arena);
  }

  /** Re-makes this thread's views after the arena grew. */
  syncViews(): void {
    this.arena.ensureViews();
    this.u8 = this.arena.u8;
    this.u32 = this.arena.u32;
    this.i32 = this.arena.i32;
    this.f32 = this.arena.f32;
    this.f64 = this.arena.f64;
    this.viewWords = this.u32.length;
  }

  /** Milliseconds since the heap was created, on the clock every thread shares
   *  (wall-clock resolution; for "how long since this worker's last safepoint"). */
  nowMs(): number {
    return Date.now() - this.f64[G_TIME_ORIGIN_F64]!;
  }

  /** A monotonic clock of sub-millisecond resolution, for durations measured on one thread. */
  clockMs(): number {
    return performance.now();
  }
}

function detectCanBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}
