// What test/multi/generations.test.ts and its worker (test/workers/generations.ts) share:
// the types both sides define, the tags of stored young objects, and the worker's API.
import type { GcEvent, Heap } from '../../src/index.js';

/** The types every side of the test defines (same names and layouts: same ids). */
export function defineGenTypes(heap: Heap) {
  return {
    Node: heap.defineStruct('mg.Node', { next: 'ref', other: 'ref', v: 'i32' }),
    Refs: heap.defineArray('mg.Refs', 'ref'),
    File: heap.defineStruct('mg.File', { fd: 'i32', next: 'ref' }, { finalize: true }),
  };
}

/** The tag of the young object stored at position `i` in round `round`. */
export const youngTag = (round: number, i: number): number => round * 1_000_000 + i + 1;

export interface TreeEvent { kind: string; promoted: number; freed: number; nodesBefore: number }

export interface GenApi {
  workerId(): number;
  /** A persisted list of `n` nodes (v = position from the head); returns its handle id. */
  buildList(n: number): number;
  /** Stores a fresh young node (v = youngTag(round, i)) into `other` of every stride-th list node; allocates `garbage` dead nodes per store. */
  storeYoung(listId: number, stride: number, round: number, garbage: number): number;
  /** Which of those stores do not read back: one line each. */
  checkStored(listId: number, stride: number, round: number): string[];
  /** The same for elements `indices` of the ref array held by handle `arrayId`. */
  storeIntoArray(arrayId: number, indices: number[], round: number, garbage: number): number;
  checkArray(arrayId: number, indices: number[], round: number): string[];
  /** Runs `count` minors with a little garbage between; returns the events. */
  minors(count: number): GcEvent[];
  allocAcrossMinors(rounds: number, batch: number, sync: SharedArrayBuffer): AcrossResult;
  buildTree(depth: number, keep: boolean): TreeResult;
  /** Frees the tree buildTree(…, true) kept. */
  dropTree(): void;
  /** Finalizable young objects fd = base + i; those at `keepAt` are stored into the list nodes (`other`). */
  makeFiles(base: number, n: number, listId: number, keepAt: number[]): void;
  /** Runs this thread's queued finalizers; returns the fds its callback saw, and on which worker. */
  runFinalizers(): { fds: number[]; workerIds: number[] };
  /** Weak refs to `n` young nodes; those at `keepAt` are stored into the list nodes (`other`). Returns the weak refs' keys. */
  makeWeak(n: number, listId: number, keepAt: number[]): number[];
  /** A weak ref to the list's head node (old, once promoted). */
  weakToListHead(listId: number): number;
  /** For each key: whether its weak ref is cleared. */
  weakCleared(keys: number[]): boolean[];
  /** Clears `other` of every list node. */
  clearOthers(listId: number): void;
  /** Builds `n` young nodes (v = i + 1) in a scope; those at keepAt go into the array held by handle `keepId`; signals sync[0] and stays in the scope (polling safepoints) until killed. */
  holdUntilKilled(n: number, keepId: number, keepAt: number[], sync: SharedArrayBuffer): void;
}

export interface AcrossResult {
  mismatches: string[];
  /** Stores made into objects whose page was old at the time of the store. */
  storesIntoOld: number;
  /** Batch nodes old at the end, and those that were allocated into an old page. */
  oldAtEnd: number;
  bornOld: number;
  minorsSeen: number;
  nodes: number;
}

export interface TreeResult {
  nodes: number;
  intact: boolean;
  events: TreeEvent[];
  minorsGlobal: number;
}

