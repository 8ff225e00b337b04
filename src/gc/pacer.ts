// Pacing: what a thread does when the page pool cannot give it the pages it needs.
//
//   1. Collect, if a collection is due: none has run yet (the initial `size` is used in full
//      first), or the bytes handed out since the last one reach the live size it left
//      (GOGC = 100), or the arena is at its maximum.
//   2. Otherwise grow the arena by max(request, 1/8 of the arena, 1 MiB), within maxSize.
//   3. A request that still fails collects and grows once more; after that it is a
//      HeapOutOfMemoryError, with the heap intact.
// Inside a pause (the collector itself needs a page) only growth is possible.

import type { Thread } from '../heap/thread.js';
import { NEED_SYSTEM } from '../heap/thread.js';
import {
  G_ALLOC_KIB, G_COMMITTED_PAGES, G_FREE_PAGES, G_LIVE_KIB, G_MAJOR_COUNT, G_MAX_PAGES, G_MINOR_COUNT, GC_KIND_MAJOR,
  PAGE_BYTES,
} from '../heap/layout.js';
import { acquireLock, releaseLock } from '../heap/lock.js';
import { growArena } from '../heap/pagepool.js';
import { HeapOutOfMemoryError } from '../errors.js';
import type { PauseDriver } from './pause.js';

/** Smallest growth step, in pages (1 MiB). */
const MIN_GROW_PAGES = 256;

/**
 * The pool could not supply `pages` pages for the `attempt`-th time in one request (NEED_*
 * says for what). Collects or grows, and returns when a retry may succeed; throws
 * HeapOutOfMemoryError when neither helps.
 */
export function onPoolEmpty(t: Thread, pauses: PauseDriver, pages: number, attempt: number, reason: number): void {
  if (pauses.inPause) {
    if (tryGrow(t, pages)) return;
    throw outOfMemory(t, pages, reason);
  }
  const u32 = t.u32;
  const committed = Atomics.load(u32, G_COMMITTED_PAGES);
  const collections = u32[G_MAJOR_COUNT]! + u32[G_MINOR_COUNT]!;
  const allocKiB = Atomics.load(u32, G_ALLOC_KIB) + (t.pendingAllocBytes >>> 10);
  const due = collections === 0 || allocKiB >= u32[G_LIVE_KIB]! || committed + pages > u32[G_MAX_PAGES]!;
  if (attempt === 0 && due) {
    pauses.collectForAllocation(GC_KIND_MAJOR);
    return;
  }
  if (tryGrow(t, pages)) return;
  if (attempt >= 2) throw outOfMemory(t, pages, reason);
  pauses.collectForAllocation(GC_KIND_MAJOR);
}

/** Grows the arena by at least `pages` pages; false at the maximum. */
export function tryGrow(t: Thread, pages: number): boolean {
  acquireLock(t.i32, t.lockId, t.canBlock);
  let grown = 0;
  try {
    const committed = Atomics.load(t.u32, G_COMMITTED_PAGES);
    const max = t.u32[G_MAX_PAGES]!;
    if (committed + pages <= max) {
      const step = Math.max(pages, committed >>> 3, MIN_GROW_PAGES);
      grown = growArena(t.arena, Math.min(max, committed + step));
    }
  } finally {
    releaseLock(t.i32, t.lockId);
  }
  t.syncViews();
  return grown > 0;
}

function outOfMemory(t: Thread, pages: number, reason: number): HeapOutOfMemoryError {
  const u32 = t.u32;
  const what = reason === NEED_SYSTEM ? 'runtime structures (root stack or handle table)' : 'objects';
  return new HeapOutOfMemoryError(
    `worker ${t.slot}: out of memory: ${pages} page(s) for ${what} not available after a full collection; ` +
      `the arena is at ${Atomics.load(u32, G_COMMITTED_PAGES) * PAGE_BYTES} of its maximum ${u32[G_MAX_PAGES]! * PAGE_BYTES} bytes, ` +
      `${Atomics.load(u32, G_FREE_PAGES)} pages free, ${u32[G_LIVE_KIB]} KiB live after the last collection`,
    pages * PAGE_BYTES,
    t.slot,
  );
}
