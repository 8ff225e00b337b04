// Thread: what one thread (the creator, or a worker) knows of the heap it has attached to.
// The heap layer's functions take it; they never call up into the collector: where they
// need memory the pool does not have, they return a failure for the caller to pace on.
//
// Concurrency contract: a Thread object belongs to one JS thread. Its words in the arena
// (its worker control block, root stack and TLABs) are written by that thread while it is
// running and by the collector while it is stopped or parked, never both at once.

import { Arena } from './arena.js';
import { G_CHECKED, G_GC_INTERVAL, G_SAFEPOINT_MS, G_YOUNG_BYTES, W_GEN, workerWord } from './layout.js';
import { TypeCache } from './types.js';
import { lockWord } from './lock.js';

/** Why a thread asks for memory it could not find: drives pacing. */
export const NEED_SMALL = 0;
export const NEED_LARGE = 1;
export const NEED_SYSTEM = 2;

// Every member is tagged internal: Heap extends Thread for its hot paths, and the public
// declarations (stripInternal in tsconfig.build.json) show none of them.
export class Thread {
  /** @internal */
  readonly arena: Arena;
  /** @internal */
  u8: Uint8Array;
  /** @internal */
  u32: Uint32Array;
  /** @internal */
  i32: Int32Array;
  /** @internal */
  f32: Float32Array;
  /** @internal */
  f64: Float64Array;
  /** Words covered by this thread's views. @internal */
  viewWords: number;

  /** This thread's worker slot and the word index of its control block. @internal */
  readonly slot: number;
  /** @internal */
  readonly ctl: number;
  /** The slot's generation stamp at attach, and the heap-lock word that names this thread. @internal */
  readonly gen: number;
  /** @internal */
  readonly lockId: number;
  /** @internal */
  readonly checked: boolean;
  /** @internal */
  readonly safepointTimeoutMs: number;
  /** False on a thread where Atomics.wait throws (a browser page's main thread): waits spin. @internal */
  readonly canBlock: boolean;
  /** @internal */
  readonly types: TypeCache;

  /** Scope depth: 0 means parked. @internal */
  depth = 0;
  /** Word index of the current frame's escape slot on the root stack (roots.ts). @internal */
  frame = 0;
  /** Word index one past the root stack while running; 0 while parked, which sends every
   *  allocation to the slow path, where "outside a scope" is reported. @internal */
  rootLimit = 0;
  /** Bytes handed to TLABs and not yet added to the shared pacing counter. @internal */
  pendingAllocBytes = 0;
  /** Fresh spans claimed ahead, per allocation class, lowest address last (allocator.ts). @internal */
  readonly spareSpans: number[][] = [];
  /** G_GC_STARTED when the spares were claimed: a collection since then has freed them. @internal */
  sparesGc = -1;
  /** Stress (options.gcInterval): allocations between collections. @internal */
  readonly gcInterval: number;
  /** Allocations left until the next stress collection. @internal */
  stressLeft: number;
  /** Generations are on (options.youngBytes > 0). @internal */
  readonly generational: boolean;
  /** Word index of the remembered-set bitmap (layout.ts). @internal */
  readonly remsetWord: number;
  /** Bytes handed out in young / old spans and not yet added to the shared counters. @internal */
  pendingYoungBytes = 0;
  pendingOldBytes = 0;
  /** The young budget was used up at this thread's last flush: the next refill asks for a minor. @internal */
  minorDue = false;

  /** @internal */
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
    this.generational = arena.u32[G_YOUNG_BYTES] !== 0;
    this.remsetWord = arena.layout.remsetWord;
    this.canBlock = detectCanBlock();
    this.types = new TypeCache(arena);
  }

  /** Re-makes this thread's views after the arena grew. @internal */
  syncViews(): void {
    this.arena.ensureViews();
    this.u8 = this.arena.u8;
    this.u32 = this.arena.u32;
    this.i32 = this.arena.i32;
    this.f32 = this.arena.f32;
    this.f64 = this.arena.f64;
    this.viewWords = this.u32.length;
  }

  /** A monotonic clock of sub-millisecond resolution, for durations measured on one thread. @internal */
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
