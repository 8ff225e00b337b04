// tinybench micro-benchmarks of the heap's three throughput numbers:
//   (a) allocation: 16-byte structs into the heap, unchecked ({ checked: false }) and checked
//       (the default), each as ns/object and as a ratio to the raw floor measured in the same
//       run (plain stores that bump a cursor in an Int32Array over a SharedArrayBuffer: the
//       header, the root push and the cursor, three stores and a compare per object), and
//       checked / unchecked; for reference, V8 allocating the same two-field object with a
//       constructor (V8's fast mode);
//   (b) mark: `collect()` with a live tree of 2^20 − 1 nodes, reported from the GcEvent as
//       marked objects per ms of mark phase;
//   (c) sweep: 1e6 garbage objects allocated before each `collect()` (outside the timed
//       region), reported as freed objects per ms of sweep phase.

import { Bench, type Task } from 'tinybench';
import { Heap, type GcEvent, type HeapOptions } from '../../src/index.js';
import { median } from './util.js';

export const MICRO_HEAP_OPTIONS = { size: 256 << 20, maxSize: 1 << 30, checked: false } as const;

/** Objects allocated per task call in the allocation benchmark. */
export const ALLOC_OBJECTS = 1_000_000;
/** Objects per nested scope (the roots of a batch pop when its scope returns). */
export const ALLOC_BATCH = 1_000;
/** Depth of the live tree of the mark benchmark: 2^20 − 1 = 1,048,575 nodes. */
export const MARK_TREE_DEPTH = 19;
/** Garbage objects made before each collection of the sweep benchmark. */
export const SWEEP_OBJECTS = 1_000_000;

export interface TaskSummary {
  name: string;
  samples: number;
  /** Median time per task call, ms. */
  p50Ms: number;
  meanMs: number;
  /** Relative margin of error of the mean, percent. */
  rme: number;
}

export interface MicroResults {
  alloc: {
    objectsPerTask: number;
    /** Unchecked heap ({ checked: false }). */
    bibop: TaskSummary;
    /** Checked heap ({ checked: true }, the library's default). */
    bibopChecked: TaskSummary;
    rawFloor: TaskSummary;
    v8: TaskSummary;
    bibopNsPerObject: number;
    bibopCheckedNsPerObject: number;
    rawNsPerObject: number;
    v8NsPerObject: number;
    /** Unchecked bibop / raw floor, from medians. */
    ratioToFloor: number;
    /** Checked bibop / raw floor, from medians. */
    checkedRatioToFloor: number;
    /** Checked / unchecked, from medians. */
    checkedOverUnchecked: number;
    /** bibop collections that fell inside the measured calls (their cost is included). */
    bibopCollections: number;
    bibopCheckedCollections: number;
  };
  mark: {
    liveObjects: number;
    collect: TaskSummary;
    collections: number;
    markedObjects: number;
    markMsMedian: number;
    markedPerMs: number;
    nsPerObject: number;
    pauseMsMedian: number;
  };
  sweep: {
    garbageObjects: number;
    collect: TaskSummary;
    collections: number;
    freedObjectsMedian: number;
    sweepMsMedian: number;
    freedPerMs: number;
    nsPerObject: number;
    pauseMsMedian: number;
  };
}

function summarize(task: Task): TaskSummary {
  const r = task.result;
  if (r.state !== 'completed') {
    const err = 'error' in r ? r.error : undefined;
    throw new Error(`micro-benchmark '${task.name}' did not complete (${r.state})${err ? `: ${String(err)}` : ''}`);
  }
  return {
    name: task.name,
    samples: r.latency.samplesCount,
    p50Ms: r.latency.p50,
    meanMs: r.latency.mean,
    rme: r.latency.rme,
  };
}

function findTask(bench: Bench, name: string): Task {
  const t = bench.tasks.find((x) => x.name === name);
  if (t === undefined) throw new Error(`no task '${name}'`);
  return t;
}

/** Builds a complete tree of `Node`s (children first) in the current scope. */
function buildTree(heap: Heap, depth: number): number {
  const Node = heap.defineStruct('Node', { left: 'ref', right: 'ref' });
  const L = Node.left;
  const R = Node.right;
  const make = (d: number): number => {
    if (d <= 0) return heap.alloc(Node);
    const left = make(d - 1);
    const right = make(d - 1);
    const node = heap.alloc(Node);
    heap.setRef(node, L, left);
    heap.setRef(node, R, right);
    return node;
  };
  return make(depth);
}

/** V8's two-field object, made by a constructor (V8's fast mode). */
class V8Pair {
  declare left: V8Pair | null;
  declare right: V8Pair | null;
  constructor(left: V8Pair | null, right: V8Pair | null) {
    this.left = left;
    this.right = right;
  }
}

/**
 * The allocation task on a heap of its own: 1e6 16-byte structs per call, in nested scopes
 * of ALLOC_BATCH. The heap is cycled once through its initial size first, so the task times
 * allocation in the steady state, not the kernel faulting in fresh pages on first touch
 * (which the whole-program benchmarks include). `count(true)` counts the collections that
 * fall inside measured calls.
 */
function allocationTask(options: HeapOptions): { heap: Heap; run: () => void; count: (on: boolean) => void; collections: () => number } {
  const heap = Heap.create(options);
  const Pair = heap.defineStruct('Node', { left: 'ref', right: 'ref' });
  if (Pair.$blockBytes !== 16) throw new Error(`expected a 16-byte block for {left, right}, got ${Pair.$blockBytes}`);
  const batch = (): void => {
    for (let i = 0; i < ALLOC_BATCH; i++) heap.alloc(Pair);
  };
  const all = (): void => {
    for (let b = 0; b < ALLOC_OBJECTS / ALLOC_BATCH; b++) heap.scope(batch);
  };
  let counting = false;
  let counted = 0;
  let cycled = 0;
  heap.onGC(() => {
    cycled++;
    if (counting) counted++;
  });
  while (cycled === 0) heap.scope(all);
  return {
    heap,
    run: () => heap.scope(all),
    count: (on) => {
      counting = on;
    },
    collections: () => counted,
  };
}

export async function runMicro(timeMs: number, log: (s: string) => void): Promise<MicroResults> {
  // ---- (a) allocation -----------------------------------------------------------------
  const unchecked = allocationTask({ ...MICRO_HEAP_OPTIONS, checked: false });
  const checked = allocationTask({ ...MICRO_HEAP_OPTIONS, checked: true });

  // The raw floor: a cursor word, a root stack and an object region in one Int32Array over a
  // fixed-length SharedArrayBuffer. Per object: store the header, push the ref, store the
  // cursor; one compare against the limit.
  const RAW_BYTES = 64 << 20;
  const raw = new Int32Array(new SharedArrayBuffer(RAW_BYTES));
  const CURSOR = 0;
  const ROOT_BASE = 16;
  const OBJ_START = 64 << 10;
  const OBJ_LIMIT = RAW_BYTES;
  const TYPE_ID = 7;
  raw[CURSOR] = OBJ_START;
  const rawBatch = (): void => {
    let top = ROOT_BASE;
    for (let i = 0; i < ALLOC_BATCH; i++) {
      const ref = raw[CURSOR]!;
      const end = ref + 16;
      if (end > OBJ_LIMIT) {
        raw[CURSOR] = OBJ_START; // wrap: the floor's "slow path"
        i--;
        continue;
      }
      raw[ref >> 2] = TYPE_ID;
      raw[top++] = ref;
      raw[CURSOR] = end;
    }
  };
  const rawAll = (): void => {
    for (let b = 0; b < ALLOC_OBJECTS / ALLOC_BATCH; b++) rawBatch();
  };

  const ring: (V8Pair | null)[] = new Array<V8Pair | null>(1024).fill(null);
  const v8All = (): void => {
    for (let i = 0; i < ALLOC_OBJECTS; i++) ring[i & 1023] = new V8Pair(null, null);
  };

  const T_UNCHECKED = 'alloc 1e6 × 16 B: bibop heap.alloc, unchecked';
  const T_CHECKED = 'alloc 1e6 × 16 B: bibop heap.alloc, checked';
  const T_RAW = 'alloc 1e6 × 16 B: raw floor (3 stores + compare)';
  const T_V8 = 'alloc 1e6 × {left,right}: V8 objects (constructor)';
  const allocBench = new Bench({ name: 'allocation', time: timeMs, iterations: 20, warmupIterations: 5, warmupTime: 200 });
  allocBench
    .add(T_UNCHECKED, unchecked.run, { beforeAll: (mode) => unchecked.count(mode === 'run') })
    .add(T_CHECKED, checked.run, { beforeAll: (mode) => checked.count(mode === 'run') })
    .add(T_RAW, rawAll)
    .add(T_V8, v8All);
  log('micro (a): allocation throughput …');
  await allocBench.run();
  log(tableText(allocBench));
  unchecked.count(false);
  checked.count(false);
  const bibopAlloc = summarize(findTask(allocBench, T_UNCHECKED));
  const checkedAlloc = summarize(findTask(allocBench, T_CHECKED));
  const rawAlloc = summarize(findTask(allocBench, T_RAW));
  const v8Alloc = summarize(findTask(allocBench, T_V8));
  unchecked.heap.detach();
  checked.heap.detach();
  // One call allocates 1e6 objects: ms per call = ns per object.
  const nsPerObject = (t: TaskSummary): number => (t.p50Ms * 1e6) / ALLOC_OBJECTS;
  log(`  per object (medians): floor ${nsPerObject(rawAlloc).toFixed(2)} ns; unchecked ${nsPerObject(bibopAlloc).toFixed(2)} ns = ` +
    `${(bibopAlloc.p50Ms / rawAlloc.p50Ms).toFixed(2)}x floor; checked ${nsPerObject(checkedAlloc).toFixed(2)} ns = ` +
    `${(checkedAlloc.p50Ms / rawAlloc.p50Ms).toFixed(2)}x floor; checked / unchecked ${(checkedAlloc.p50Ms / bibopAlloc.p50Ms).toFixed(2)}x`);

  // ---- (b) mark -----------------------------------------------------------------------
  const markHeap = Heap.create(MICRO_HEAP_OPTIONS);
  const tree = markHeap.scope(() => markHeap.persist(buildTree(markHeap, MARK_TREE_DEPTH)));
  const liveObjects = 2 ** (MARK_TREE_DEPTH + 1) - 1;
  const markEvents: GcEvent[] = [];
  let recordMark = false;
  markHeap.onGC((e) => {
    if (recordMark) markEvents.push(e);
  });
  const markBench = new Bench({ name: 'mark', time: timeMs, iterations: 10, warmupIterations: 3, warmupTime: 100 });
  markBench.add(`mark: collect() with ${liveObjects.toLocaleString('en-US')} live`, () => {
    markHeap.collect();
  }, {
    beforeAll: (mode) => {
      recordMark = mode === 'run';
    },
  });
  log('micro (b): mark throughput …');
  await markBench.run();
  log(tableText(markBench));
  recordMark = false;
  tree.release();
  markHeap.detach();
  const markSummary = summarize(markBench.tasks[0]!);
  const markMs = median(markEvents.map((e) => e.phases.markMs));
  const marked = median(markEvents.map((e) => e.markedObjects));
  const markedPerMs = median(markEvents.map((e) => e.markedObjects / e.phases.markMs));
  if (marked < liveObjects) throw new Error(`mark benchmark: marked ${marked} objects, expected at least ${liveObjects}`);

  // ---- (c) sweep ----------------------------------------------------------------------
  // No young generation: minors would free the garbage as it is made, and this times the
  // sweep of a major collection.
  const sweepHeap = Heap.create({ ...MICRO_HEAP_OPTIONS, youngBytes: 0 });
  const Garbage = sweepHeap.defineStruct('Node', { left: 'ref', right: 'ref' });
  const garbageBatch = (): void => {
    for (let i = 0; i < ALLOC_BATCH; i++) sweepHeap.alloc(Garbage);
  };
  const makeGarbage = (): void => {
    sweepHeap.scope(() => {
      for (let b = 0; b < SWEEP_OBJECTS / ALLOC_BATCH; b++) sweepHeap.scope(garbageBatch);
    });
  };
  const sweepEvents: GcEvent[] = [];
  let recordSweep = false;
  sweepHeap.onGC((e) => {
    if (recordSweep) sweepEvents.push(e);
  });
  // Start from a heap that has collected once, so every measured collection finds exactly
  // the garbage made just before it.
  makeGarbage();
  sweepHeap.collect();
  const sweepBench = new Bench({ name: 'sweep', time: timeMs, iterations: 10, warmupIterations: 3, warmupTime: 100 });
  sweepBench.add('sweep: collect() after 1e6 garbage objects', () => {
    sweepHeap.collect();
  }, {
    beforeAll: (mode) => {
      recordSweep = mode === 'run';
    },
    beforeEach: () => {
      recordSweep = false; // a collection triggered while making garbage is not measured
      makeGarbage();
      recordSweep = true;
    },
  });
  log('micro (c): sweep throughput …');
  await sweepBench.run();
  log(tableText(sweepBench));
  recordSweep = false;
  sweepHeap.detach();
  // Only collections that freed the whole batch describe the intended workload.
  const sweeps = sweepEvents.filter((e) => e.freedObjects >= SWEEP_OBJECTS);
  if (sweeps.length === 0) throw new Error(`sweep benchmark: no collection freed ${SWEEP_OBJECTS} objects`);
  const sweepMs = median(sweeps.map((e) => e.phases.sweepMs));
  const sweepSummary = summarize(sweepBench.tasks[0]!);

  return {
    alloc: {
      objectsPerTask: ALLOC_OBJECTS,
      bibop: bibopAlloc,
      bibopChecked: checkedAlloc,
      rawFloor: rawAlloc,
      v8: v8Alloc,
      bibopNsPerObject: nsPerObject(bibopAlloc),
      bibopCheckedNsPerObject: nsPerObject(checkedAlloc),
      rawNsPerObject: nsPerObject(rawAlloc),
      v8NsPerObject: nsPerObject(v8Alloc),
      ratioToFloor: bibopAlloc.p50Ms / rawAlloc.p50Ms,
      checkedRatioToFloor: checkedAlloc.p50Ms / rawAlloc.p50Ms,
      checkedOverUnchecked: checkedAlloc.p50Ms / bibopAlloc.p50Ms,
      bibopCollections: unchecked.collections(),
      bibopCheckedCollections: checked.collections(),
    },
    mark: {
      liveObjects,
      collect: markSummary,
      collections: markEvents.length,
      markedObjects: marked,
      markMsMedian: markMs,
      markedPerMs,
      nsPerObject: median(markEvents.map((e) => (e.phases.markMs * 1e6) / e.markedObjects)),
      pauseMsMedian: median(markEvents.map((e) => e.pauseMs)),
    },
    sweep: {
      garbageObjects: SWEEP_OBJECTS,
      collect: sweepSummary,
      collections: sweeps.length,
      freedObjectsMedian: median(sweeps.map((e) => e.freedObjects)),
      sweepMsMedian: sweepMs,
      freedPerMs: median(sweeps.map((e) => e.freedObjects / e.phases.sweepMs)),
      nsPerObject: median(sweeps.map((e) => (e.phases.sweepMs * 1e6) / e.freedObjects)),
      pauseMsMedian: median(sweeps.map((e) => e.pauseMs)),
    },
  };
}

function tableText(bench: Bench): string {
  const rows = bench.table();
  const lines: string[] = [];
  for (const row of rows) {
    if (row === null) continue;
    lines.push(Object.entries(row).map(([k, v]) => `${k}: ${String(v)}`).join('  '));
  }
  return lines.map((l) => `  ${l}`).join('\n');
}
