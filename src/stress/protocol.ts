// The control plane between a main thread and its mutator workers (comlink; never on the
// hot path). Shared by workers/mutator.ts and its callers (the CLI, tests, benchmarks).

import type { GcEvent, HeapStats, VerifyResult } from '../index.js';

/** Words per worker in the progress buffer, written by the worker, read by the main thread. */
export const PROGRESS_WORDS = 8;
export const P_ALLOC_KOBJ = 0; // thousands of objects allocated
export const P_BUILT = 1; // graphs built and published
export const P_CHECKED = 2; // graphs of any worker checked
export const P_FAILED = 3; // checks that failed
export const P_COLLECTS = 4; // collections this worker ran
export const P_ITER = 5; // stress iterations
export const P_ADOPTED = 6; // graphs of a dead predecessor found intact
/** Word 0 of the control buffer: the main thread sets it to 1 to end every stress loop. */
export const C_STOP = 0;

/** Handle ids published per lane in the exchange (a Float64Array). */
export const LANE_ENTRIES = 4;

// An exchange entry holds handle id + 1, and 0 when empty: 0 is a valid handle id (the
// first entry of a fresh handle table), so it cannot mean "nothing published".
export const EMPTY_ENTRY = 0;

/** The handle id an exchange entry holds, or -1 if it is empty. */
export function entryId(entry: number): number {
  return entry === EMPTY_ENTRY ? -1 : entry - 1;
}

export function idEntry(id: number): number {
  return id + 1;
}

export interface StressParams {
  /** Int32Array; the loop runs until C_STOP is set. */
  control: SharedArrayBuffer;
  seed: number;
  /** Exchange of published graphs: lanes × LANE_ENTRIES entries (Float64Array; see idEntry). */
  exchange: SharedArrayBuffer;
  lane: number;
  lanes: number;
  /** Int32Array, PROGRESS_WORDS per lane. */
  progress: SharedArrayBuffer;
  /** 0..1: share of iterations that allocate garbage. */
  churn: number;
  graphSize: number;
  /** Probability that an iteration collects explicitly. */
  collectRate: number;
  /** The run's pause log (pauses.ts): this worker records every collection it runs. */
  pauseLog?: SharedArrayBuffer;
  /** Fault runs: the ledger (ledger.ts) and this lane's thread index in it; adds large and
   *  finalizable objects, bundles and weak refs to the mix. */
  faults?: FaultParams;
}

export interface FaultParams {
  ledger: SharedArrayBuffer;
  thread: number;
}

/** The collector lane of a fault run: collects in a loop until C_STOP, to be killed mid-pause. */
export interface CollectorParams extends FaultParams {
  control: SharedArrayBuffer;
  pauseLog?: SharedArrayBuffer;
}

/** What the attach/detach churner (workers/churner.ts) posts when it stops. */
export interface ChurnerResult {
  cycles: number;
  failures: string[];
}

export interface CollectorResult {
  collections: number;
  failures: string[];
}

export interface StressResult {
  workerId: number;
  iterations: number;
  allocatedObjects: number;
  elapsedMs: number;
  failures: string[];
}

export interface MutatorApi {
  workerId(): number;
  build(shape: number, size: number, seed: number, tag: number): number;
  check(handleId: number): boolean;
  mutate(handleId: number, seed: number): void;
  release(handleId: number): void;
  churn(trees: number, depth: number): number;
  spin(ms: number): number;
  /** Allocates and collects in a loop for `ms`: keeps a collection in progress most of the time. */
  collectLoop(ms: number): number;
  /** Makes and releases persistent handles in a loop for `ms`: holds the heap lock often. */
  handleChurn(ms: number): number;
  collect(kind?: 'major' | 'minor'): GcEvent;
  verify(): VerifyResult;
  stats(): HeapStats;
  stress(params: StressParams): StressResult;
  collector(params: CollectorParams): CollectorResult;
  binaryTrees(minDepth: number, maxDepth: number, longLivedHandle: number): number;
  /** This worker's share of binary-trees: iterations i with i % shards === shard, at every depth. */
  binaryTreesShard(minDepth: number, maxDepth: number, shard: number, shards: number): number;
  detach(): void;
  exit(code: number): void;
}
