// Heap statistics, read from the arena without stopping anyone (figures may be a few
// allocations stale while other workers run).

import {
  BITMAP_WORDS, G_COMMITTED_PAGES, G_FINAL_INTERRUPTED, G_FINAL_PENDING, G_LIVE_KIB, G_MAJOR_COUNT, G_MAX_PAGES, G_MINOR_COUNT,
  G_PAUSE_COUNT, MAX_WORKERS, NUM_ALLOC_CLASSES, PAGE_BYTES, PAUSE_MAJOR_BIT, PAUSE_RING_SIZE, PAUSE_RING_WORD, PAUSE_US_MASK,
  PI_OLD, PI_ORPHAN, PK_FREE,
  PK_LARGE_HEAD, PK_SMALL_HEAD, S_ALLOC, S_BLOCK_BYTES, S_QUARANTINED, TLAB_CURSOR, TLAB_START, TLAB_WORDS, W_STATE, W_TLAB,
  WORKER_STATE_NAMES, workerWord,
} from '../heap/layout.js';
import { SpanWalker, WALK_SPAN, infoKind, pageInfo, popcount } from '../heap/spans.js';
import type { Arena } from '../heap/arena.js';
import { CLASS_BLOCK_BYTES, NUM_SIZE_CLASSES } from '../heap/sizeclasses.js';

export interface PausePercentiles {
  p50: number;
  p99: number;
  max: number;
  /** Pauses these figures cover. */
  samples: number;
}

function percentiles(us: number[]): PausePercentiles {
  const s = us.sort((a, b) => a - b);
  const n = s.length;
  const at = (q: number): number => (n === 0 ? 0 : s[Math.min(n - 1, Math.floor(q * n))]! / 1000);
  return { p50: at(0.5), p99: at(0.99), max: n === 0 ? 0 : s[n - 1]! / 1000, samples: n };
}

export interface HeapStats {
  /** Bytes the arena holds now, and may grow to. */
  arenaBytes: number;
  maxBytes: number;
  allocatedObjects: number;
  /** Bytes of the blocks allocated objects occupy (large objects: their pages). */
  allocatedBytes: number;
  /** Dead objects whose slots checked mode keeps one more collection (quarantine), and their bytes. */
  quarantinedObjects: number;
  quarantinedBytes: number;
  /** Bytes live after the last major collection. */
  liveBytesAfterLastGC: number;
  pages: { free: number; small: number; large: number; orphan: number; system: number; header: number };
  collections: { minor: number; major: number };
  /** Over the last PAUSE_RING_SIZE pauses, and split by kind; count is every pause ever. */
  pauseMs: PausePercentiles & { count: number; minor: PausePercentiles; major: PausePercentiles };
  /** Bytes of the spans of each generation (young includes spans never collected yet). */
  youngBytes: number;
  oldBytes: number;
  /** Workers by state name. */
  workers: Record<string, number>;
  pendingFinalizers: number;
  /** Finalizations lost because their thread died while running them (at most once still holds). */
  finalizersInterrupted: number;
}

export function heapStats(arena: Arena, walker: SpanWalker): HeapStats {
  arena.ensureViews();
  const u32 = arena.u32;
  const committed = Atomics.load(u32, G_COMMITTED_PAGES);
  const pages = { free: 0, small: 0, large: 0, orphan: 0, system: 0, header: arena.layout.headerPages };
  let objects = 0;
  let bytes = 0;
  let quarantined = 0;
  let young = 0;
  let old = 0;
  let quarantinedBytes = 0;
  walker.reset(u32, arena.layout.headerPages, committed);
  while (walker.next()) {
    if (walker.what !== WALK_SPAN) continue; // a stray, or a span half published by a running thread
    const { base, info, kind } = walker;
    const n = walker.pages;
    const bw = base >>> 2;
    if (kind === PK_SMALL_HEAD || kind === PK_LARGE_HEAD) {
      if ((info & PI_OLD) !== 0) old += n;
      else young += n;
    }
    if ((info & PI_ORPHAN) !== 0) pages.orphan += n;
    else if (kind === PK_SMALL_HEAD) pages.small += n;
    else if (kind === PK_LARGE_HEAD) pages.large += n;
    else pages.system += n;
    if (kind === PK_SMALL_HEAD) {
      let used = 0;
      for (let w = 0; w < BITMAP_WORDS; w++) used += popcount(u32[bw + S_ALLOC + w]!);
      const held = Math.min(used, u32[bw + S_QUARANTINED]!);
      objects += used - held;
      bytes += (used - held) * u32[bw + S_BLOCK_BYTES]!;
      quarantined += held;
      quarantinedBytes += held * u32[bw + S_BLOCK_BYTES]!;
    } else if (kind === PK_LARGE_HEAD && (u32[bw + S_ALLOC]! & 1) !== 0) {
      if (u32[bw + S_QUARANTINED] !== 0) {
        quarantined++;
        quarantinedBytes += n * PAGE_BYTES;
      } else {
        objects++;
        bytes += n * PAGE_BYTES;
      }
    }
  }
  for (let p = arena.layout.headerPages; p < committed; p++) if (infoKind(pageInfo(u32, p)) === PK_FREE) pages.free++;
  const workers: Record<string, number> = {};
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    const ctl = workerWord(slot);
    const state = Atomics.load(u32, ctl + W_STATE);
    if (state === 0) continue;
    const name = WORKER_STATE_NAMES[state] ?? String(state);
    workers[name] = (workers[name] ?? 0) + 1;
    for (let c = 0; c < NUM_ALLOC_CLASSES; c++) {
      const tl = ctl + W_TLAB + c * TLAB_WORDS;
      const used = u32[tl + TLAB_CURSOR]! - u32[tl + TLAB_START]!;
      if (used > 0) {
        const block = CLASS_BLOCK_BYTES[c % NUM_SIZE_CLASSES]!;
        objects += Math.floor(used / block);
        bytes += used;
      }
    }
  }
  const recorded = Math.min(u32[G_PAUSE_COUNT]!, PAUSE_RING_SIZE);
  const ring = Array.from(u32.subarray(PAUSE_RING_WORD, PAUSE_RING_WORD + recorded));
  const all = ring.map((e) => e & PAUSE_US_MASK);
  return {
    arenaBytes: committed * PAGE_BYTES,
    maxBytes: u32[G_MAX_PAGES]! * PAGE_BYTES,
    allocatedObjects: objects,
    allocatedBytes: bytes,
    quarantinedObjects: quarantined,
    quarantinedBytes,
    liveBytesAfterLastGC: u32[G_LIVE_KIB]! * 1024,
    pages,
    collections: { minor: u32[G_MINOR_COUNT]!, major: u32[G_MAJOR_COUNT]! },
    pauseMs: {
      ...percentiles(all),
      count: u32[G_PAUSE_COUNT]!,
      minor: percentiles(ring.filter((e) => (e & PAUSE_MAJOR_BIT) === 0).map((e) => e & PAUSE_US_MASK)),
      major: percentiles(ring.filter((e) => (e & PAUSE_MAJOR_BIT) !== 0).map((e) => e & PAUSE_US_MASK)),
    },
    youngBytes: young * PAGE_BYTES,
    oldBytes: old * PAGE_BYTES,
    workers,
    pendingFinalizers: Atomics.load(u32, G_FINAL_PENDING),
    finalizersInterrupted: u32[G_FINAL_INTERRUPTED]!,
  };
}
