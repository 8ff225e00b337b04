// The handle table: persistent roots, weak refs and the finalization queue, in the arena so
// that the collector reads them in place. See layout.ts for the entry layout. Entries are
// allocated and freed under the heap lock; reading an entry needs no lock.

import type { Thread } from './thread.js';
import { allocSystemSpan } from './allocator.js';
import {
  G_HANDLE_CHUNKS, G_HANDLE_FREE, HANDLE_CHUNK_BYTES, HANDLE_CHUNKS_MAX, HANDLE_DIR_WORD, HANDLE_GEN_SHIFT,
  HANDLE_ID_GEN_FACTOR, HANDLE_WORDS, HANDLES_PER_CHUNK, HANDLES_PER_CHUNK_LOG, HK_FINAL, HK_FREE, HK_MASK, H_META, H_NEXT,
  H_OWNER, H_REF, PAGE_LOG, SPAN_HEADER_WORDS, SYS_HANDLE_CHUNK, G_FINAL_PENDING, HDR_FINALIZED, MAX_WORKERS, W_FINAL_HEAD, workerWord,
} from './layout.js';
import { acquireLock, releaseLock } from './lock.js';
import { releasePages } from './pagepool.js';
import { spanPages } from './spans.js';
import { HeapUsageError } from '../errors.js';
import { FP_HANDLE_CHUNK, faultHook } from './faults.js';

/** Word index of handle `index`'s entry. */
export function handleWord(u32: Uint32Array, index: number): number {
  const chunk = u32[HANDLE_DIR_WORD + (index >>> HANDLES_PER_CHUNK_LOG)]!;
  return (chunk >>> 2) + SPAN_HEADER_WORDS + (index & (HANDLES_PER_CHUNK - 1)) * HANDLE_WORDS;
}

/**
 * Word index of handle `index`'s entry, with `t`'s views made to cover it: a chunk may lie
 * in memory another thread added by growing the arena. The directory is in the header.
 */
export function handleEntry(t: Thread, index: number): number {
  const w = handleWord(t.u32, index);
  if (w + HANDLE_WORDS > t.viewWords) t.syncViews();
  return w;
}

export function handleCapacity(u32: Uint32Array): number {
  return u32[G_HANDLE_CHUNKS]! * HANDLES_PER_CHUNK;
}

export function handleId(t: Thread, index: number): number {
  return (t.u32[handleEntry(t, index) + H_META]! >>> HANDLE_GEN_SHIFT) * HANDLE_ID_GEN_FACTOR + index;
}

/**
 * Allocates a handle entry of `kind` holding `ref`; returns its index, or -1 when a new chunk
 * is needed and the page pool has no room for it (the caller paces and calls again).
 */
export function allocHandle(t: Thread, kind: number, ref: number, owner: number): number {
  for (;;) {
    acquireLock(t.i32, t.lockId, t.canBlock);
    let index = -1;
    let needChunk = false;
    try {
      const free = t.u32[G_HANDLE_FREE]!;
      if (free !== 0) {
        index = free - 1;
        const w = handleEntry(t, index);
        const u32 = t.u32;
        u32[G_HANDLE_FREE] = u32[w + H_NEXT]!;
        u32[w + H_REF] = ref;
        u32[w + H_NEXT] = 0;
        u32[w + H_OWNER] = owner;
        const gen = (u32[w + H_META]! >>> HANDLE_GEN_SHIFT);
        Atomics.store(u32, w + H_META, ((gen << HANDLE_GEN_SHIFT) | kind) >>> 0);
      } else {
        needChunk = true;
      }
    } finally {
      releaseLock(t.i32, t.lockId);
    }
    if (!needChunk) return index;
    if (!addChunk(t)) return -1;
  }
}

function addChunk(t: Thread): boolean {
  if (t.u32[G_HANDLE_CHUNKS]! >= HANDLE_CHUNKS_MAX) {
    throw new HeapUsageError(`the handle table is full (${HANDLE_CHUNKS_MAX * HANDLES_PER_CHUNK} persistent handles, weak refs and queued finalizers)`, { workerId: t.slot });
  }
  const span = allocSystemSpan(t, HANDLE_CHUNK_BYTES, SYS_HANDLE_CHUNK);
  if (span === 0) return false;
  if (faultHook !== null) faultHook(FP_HANDLE_CHUNK);
  acquireLock(t.i32, t.lockId, t.canBlock);
  try {
    const u32 = t.u32;
    const chunk = u32[G_HANDLE_CHUNKS]!;
    // Another thread may have added the last chunk since the test above: give the span back
    // and let the caller look at the free list again (it throws "full" if nothing is free).
    if (chunk >= HANDLE_CHUNKS_MAX) {
      releasePages(t.arena, span >>> PAGE_LOG, spanPages(u32, span));
      return true;
    }
    u32[HANDLE_DIR_WORD + chunk] = span;
    const first = chunk * HANDLES_PER_CHUNK;
    // Thread the new entries onto the free list, lowest index first.
    for (let i = HANDLES_PER_CHUNK - 1; i >= 0; i--) {
      const w = (span >>> 2) + SPAN_HEADER_WORDS + i * HANDLE_WORDS;
      u32[w + H_REF] = 0;
      u32[w + H_META] = HK_FREE;
      u32[w + H_NEXT] = i === HANDLES_PER_CHUNK - 1 ? u32[G_HANDLE_FREE]! : first + i + 2;
    }
    // The count before the free list: a kill between them leaves a chunk nobody hands out
    // yet (the next pause's free-list rebuild threads it), never an entry past the capacity.
    Atomics.store(u32, G_HANDLE_CHUNKS, chunk + 1);
    u32[G_HANDLE_FREE] = first + 1;
  } finally {
    releaseLock(t.i32, t.lockId);
  }
  return true;
}

/** Frees a handle entry; its generation moves on so old ids go stale. */
export function freeHandle(t: Thread, index: number): void {
  acquireLock(t.i32, t.lockId, t.canBlock);
  try {
    handleEntry(t, index);
    freeHandleLocked(t.u32, index);
  } finally {
    releaseLock(t.i32, t.lockId);
  }
}

/**
 * Frees handle `id` of `kind` if its entry still holds it; false when it was released
 * already. The test and the free are one step under the lock: two releases of one id, or a
 * release racing the entry's next allocation, would otherwise free an entry twice, and two
 * handles would share it (the first one's id then resolving to the second one's object).
 */
export function freeHandleById(t: Thread, id: number, kind: number): boolean {
  acquireLock(t.i32, t.lockId, t.canBlock);
  try {
    const index = resolveHandle(t, id, kind);
    if (index < 0) return false;
    freeHandleLocked(t.u32, index);
    return true;
  } finally {
    releaseLock(t.i32, t.lockId);
  }
}

export function freeHandleLocked(u32: Uint32Array, index: number): void {
  const w = handleWord(u32, index);
  const gen = ((u32[w + H_META]! >>> HANDLE_GEN_SHIFT) + 1) & 0x7ffffff;
  // The kind first: a kill between the two stores leaves a free entry with a stale ref
  // (harmless), never a queued or strong entry holding 0.
  Atomics.store(u32, w + H_META, ((gen << HANDLE_GEN_SHIFT) | HK_FREE) >>> 0);
  u32[w + H_REF] = 0;
  u32[w + H_NEXT] = u32[G_HANDLE_FREE]!;
  u32[G_HANDLE_FREE] = index + 1;
}

/** Index of a live handle id of `kind`, or -1 when the id is stale or not of that kind. */
export function resolveHandle(t: Thread, id: number, kind: number): number {
  if (!Number.isSafeInteger(id) || id < 0) return -1;
  const index = id % HANDLE_ID_GEN_FACTOR;
  const gen = Math.floor(id / HANDLE_ID_GEN_FACTOR);
  if (index >= handleCapacity(t.u32)) return -1;
  const w = handleEntry(t, index);
  const meta = Atomics.load(t.u32, w + H_META);
  if ((meta & HK_MASK) !== kind || meta >>> HANDLE_GEN_SHIFT !== gen) return -1;
  return index;
}

/** Whether a finalization entry holds `ref` (a linear scan: for recovery only). */
export function holdsFinalEntry(u32: Uint32Array, ref: number): boolean {
  for (let i = handleCapacity(u32) - 1; i >= 0; i--) {
    const w = handleWord(u32, i);
    if ((u32[w + H_META]! & HK_MASK) === HK_FINAL && u32[w + H_REF] === ref) return true;
  }
  return false;
}

/**
 * Rebuilds every worker's finalization queue from the entries' H_OWNER words, lowest index
 * first; an entry whose owner is not live (`live[slot]` is 0) moves to `fallback`. Each
 * queued object gets its "finalized" header bit: an entry exists, so the object is never
 * queued twice. An entry holding ref 0 is freed instead. Sets the pending count. Runs
 * inside a pause.
 */
export function rebuildFinalQueues(t: Thread, live: Uint8Array, fallback: number): number {
  const u32 = t.u32;
  for (let slot = 0; slot < MAX_WORKERS; slot++) u32[workerWord(slot) + W_FINAL_HEAD] = 0;
  let queued = 0;
  for (let i = handleCapacity(u32) - 1; i >= 0; i--) {
    const w = handleWord(u32, i);
    if ((u32[w + H_META]! & HK_MASK) !== HK_FINAL) continue;
    let owner = u32[w + H_OWNER]!;
    if (owner >= MAX_WORKERS || live[owner] !== 1) {
      owner = fallback;
      u32[w + H_OWNER] = owner;
    }
    const ref = u32[w + H_REF]!;
    if (ref === 0) {
      // Not an object, and no protocol step leaves one (freeing writes the kind before the
      // ref): freed rather than let the header write below land on the arena's word 0.
      u32[w + H_META] = (((((u32[w + H_META]! >>> HANDLE_GEN_SHIFT) + 1) & 0x7ffffff) << HANDLE_GEN_SHIFT) | HK_FREE) >>> 0;
      continue;
    }
    u32[ref >>> 2] = (u32[ref >>> 2]! | HDR_FINALIZED) >>> 0;
    const q = workerWord(owner) + W_FINAL_HEAD;
    u32[w + H_NEXT] = u32[q]!;
    u32[q] = i + 1;
    queued++;
  }
  Atomics.store(u32, G_FINAL_PENDING, queued);
  return queued;
}

/**
 * Rebuilds the free list from the entries' kinds, lowest index first. Runs inside a pause,
 * so that an entry a killed thread left half-allocated or half-freed is not lost.
 */
export function rebuildHandleFreeList(u32: Uint32Array): void {
  let head = 0;
  for (let i = handleCapacity(u32) - 1; i >= 0; i--) {
    const w = handleWord(u32, i);
    if ((u32[w + H_META]! & HK_MASK) !== HK_FREE) continue;
    u32[w + H_REF] = 0;
    u32[w + H_NEXT] = head;
    head = i + 1;
  }
  u32[G_HANDLE_FREE] = head;
}
