// What bench/one-run.ts prints (one JSON line per run) and what bench/whole-process.ts reads:
// the workload and implementation names, the record, and the heap options each workload
// starts from.

import { MACRO_HEAP_OPTIONS } from './workloads.js';
import { SPLAY_HEAP_OPTIONS } from './splay.js';
import type { PauseSummary, PausesByKind } from './util.js';

export const WORKLOADS = ['bt', 'gcbench', 'splay'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];
export const IMPLS = ['v8', 'v8-literal', 'bibop'] as const;
export type ImplName = (typeof IMPLS)[number];

/** Exit code for heap options that Heap.create rejects. */
export const EXIT_HEAP_OPTIONS = 3;

export interface RunRecord {
  workload: WorkloadName;
  impl: ImplName;
  ms: number;
  /** Process CPU time over the same span (all threads: V8's GC helpers included). */
  cpuMs: number;
  checksum: number;
  /** The options given to Heap.create (bibop only). */
  heapOptions?: Record<string, unknown>;
  /** bibop's collections by GcEvent.kind (bibop only). */
  bibopGc?: { minor: PauseSummary; major: PauseSummary; maxPauseMs: number; arenaMiB: number };
  /** V8's own collections in this process, by kind (minor: scavenge, major: mark-compact). */
  v8Gc: { minor: PauseSummary; major: PauseSummary; other: PauseSummary };
  /** Splay only: the initial tree, and the batches. */
  splay?: { setupMs: number; batches: number; worstBatchMs: number; p50BatchMs: number; p99BatchMs: number };
  /** Every pause, ms (rounded to 0.1 µs). */
  pausesMs: { v8: PausesByKind; bibop?: { minor: number[]; major: number[] } };
}

export function defaultHeapOptions(workload: WorkloadName): Record<string, unknown> {
  return { ...(workload === 'splay' ? SPLAY_HEAP_OPTIONS : MACRO_HEAP_OPTIONS) };
}
