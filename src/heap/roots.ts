// Root stacks: one per worker, a chain of one-page chunks in the arena, so the collector
// reads every worker's roots in place at the rendezvous.
//
//   bottom chunk                          current chunk (W_ROOT_SPAN)
//   +--------+-------------------+       +--------+-----------------------------+
//   | header | slots ... |       | <-----| header | slots ... ^            |     |
//   | PREV=0 | TOP ------^       | PREV  | PREV   | W_ROOT_BASE  W_ROOT_TOP  W_ROOT_LIMIT
//   +--------+-------------------+       +--------+-----------------------------+
//
// A scope pushes one escape slot (0 unless `escape` fills it), then every ref allocated or
// rooted inside it. Leaving the scope pops back to its escape slot, keeping it when it holds
// a ref, so the escaped ref stays rooted in the parent frame. Chunks never move, so a frame
// is an absolute word index; a scope remembers its chunk and, leaving, makes it current again.
// Chunks above it become spares (W_ROOT_SPARE, linked through S_CHUNK_PREV) for the next
// growth. A chunk is one page: a long scope never needs contiguous free pages.
//
// Chunks are freed in two places, never by a running scope: recovery (recover.ts, in every
// major collection and in any pause after a death) keeps the chunks a live control block
// reaches (its chain and up to ROOT_SPARES_KEPT spares) and frees every other root-stack span;
// detach() frees its own chain and spares under the heap lock (departure.ts). So a worker
// killed in the middle of a switch leaves nothing a pause misses.

import type { Thread } from './thread.js';
import { allocSystemSpan } from './allocator.js';
import {
  PAGE_WORDS, ROOT_CHUNK_SLOTS, SPAN_HEADER_WORDS, S_CHUNK_PREV, S_CHUNK_TOP, SYS_ROOT_STACK, W_ROOT_BASE, W_ROOT_LIMIT,
  W_ROOT_SPAN, W_ROOT_SPARE, W_ROOT_TOP,
} from './layout.js';
import { FP_ROOT_CHUNK, faultHook } from './faults.js';

/** Word index of a chunk's first slot. */
export function chunkSlots(chunk: number): number {
  return (chunk >>> 2) + SPAN_HEADER_WORDS;
}

/** Word index one past a chunk's last slot. */
export function chunkEnd(chunk: number): number {
  return (chunk >>> 2) + PAGE_WORDS;
}

/**
 * Moves this worker's root stack onto a fresh chunk above the current one (a spare, or a
 * page from the pool; the first chunk if it has none). Returns false when the pool is empty;
 * the caller paces and calls again. Owner only, outside any pause.
 */
export function pushRootChunk(t: Thread): boolean {
  const ctl = t.ctl;
  let chunk = t.u32[ctl + W_ROOT_SPARE]!;
  if (chunk !== 0) {
    if (chunkEnd(chunk) > t.viewWords) t.syncViews();
    t.u32[ctl + W_ROOT_SPARE] = t.u32[(chunk >>> 2) + S_CHUNK_PREV]!;
  } else {
    chunk = allocSystemSpan(t, ROOT_CHUNK_SLOTS * 4, SYS_ROOT_STACK);
    if (chunk === 0) return false;
    if (faultHook !== null) faultHook(FP_ROOT_CHUNK);
  }
  const u32 = t.u32;
  const current = u32[ctl + W_ROOT_SPAN]!;
  if (current !== 0) u32[(current >>> 2) + S_CHUNK_TOP] = u32[ctl + W_ROOT_TOP]!;
  u32[(chunk >>> 2) + S_CHUNK_PREV] = current;
  u32[(chunk >>> 2) + S_CHUNK_TOP] = 0;
  // The collector reads the control block only while this thread is stopped or parked, so
  // the order of these stores matters only for a kill, after which nothing reads them.
  u32[ctl + W_ROOT_BASE] = chunkSlots(chunk);
  u32[ctl + W_ROOT_TOP] = chunkSlots(chunk);
  u32[ctl + W_ROOT_LIMIT] = chunkEnd(chunk);
  u32[ctl + W_ROOT_SPAN] = chunk;
  if (t.depth > 0) t.rootLimit = chunkEnd(chunk);
  return true;
}

/**
 * Makes `chunk` (below the current one) current again with its top at `top`; the chunks
 * above it become spares.
 */
export function popRootChunks(t: Thread, chunk: number, top: number): void {
  const u32 = t.u32;
  const ctl = t.ctl;
  let c = u32[ctl + W_ROOT_SPAN]!;
  while (c !== chunk && c !== 0) {
    const below = u32[(c >>> 2) + S_CHUNK_PREV]!;
    u32[(c >>> 2) + S_CHUNK_PREV] = u32[ctl + W_ROOT_SPARE]!;
    u32[ctl + W_ROOT_SPARE] = c;
    c = below;
  }
  u32[ctl + W_ROOT_BASE] = chunkSlots(chunk);
  u32[ctl + W_ROOT_TOP] = top;
  u32[ctl + W_ROOT_LIMIT] = chunkEnd(chunk);
  u32[ctl + W_ROOT_SPAN] = chunk;
  if (t.depth > 0) t.rootLimit = chunkEnd(chunk);
}

/** Roots of one worker, chunk by chunk: call `next()` until it returns false, reading [from, to). */
export class RootChunkWalker {
  from = 0;
  to = 0;
  private u32: Uint32Array = new Uint32Array(0);
  private chunk = 0;
  private first = true;
  private steps = 0;
  private limit = 0;

  /** Starts at the control block `ctl`; `maxChunks` bounds the walk on a corrupt chain. */
  reset(u32: Uint32Array, ctl: number, maxChunks: number): this {
    this.u32 = u32;
    this.chunk = u32[ctl + W_ROOT_SPAN]!;
    this.from = u32[ctl + W_ROOT_BASE]!;
    this.to = u32[ctl + W_ROOT_TOP]!;
    this.first = true;
    this.steps = 0;
    this.limit = maxChunks;
    return this;
  }

  /** The chunk the last next() described. */
  get current(): number {
    return this.chunk;
  }

  next(): boolean {
    if (this.chunk === 0) return false;
    if (this.first) {
      this.first = false;
      return true;
    }
    if (++this.steps > this.limit) return false;
    const below = this.u32[(this.chunk >>> 2) + S_CHUNK_PREV]!;
    this.chunk = below;
    if (below === 0) return false;
    this.from = chunkSlots(below);
    this.to = this.u32[(below >>> 2) + S_CHUNK_TOP]!;
    return true;
  }
}
