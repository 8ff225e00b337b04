// tinybench micro-benchmarks of the heap's three throughput numbers:
//   (a) allocation: 16-byte structs into the heap, against the raw floor (plain stores that
//       bump a cursor in an Int32Array over a SharedArrayBuffer: the header, the root push
//       and the cursor, three stores and a compare per object) and, for reference, V8
//       allocating the same `{left, right}` object;
//   (b) mark: `collect()` with a live tree of 2^20 − 1 nodes, reported from the GcEvent as
//       marked objects per ms of mark phase;
//   (c) sweep: 1e6 garbage objects allocated before each `collect()` (outside the timed
//       region), reported as freed objects per ms of sweep phase.

import { Bench, type Task } from 'tinybench';
import { Heap, type GcEvent } from '../../src/index.js';
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
    bibop: TaskSummary;
    rawFloor: TaskSummary;
    v8: TaskSummary;
    bibopNsPerObject: number;
    rawNsPerObject: number;
    v8NsPerObject: number;
    /** bibop / raw floor, from medians. */
    ratioToFloor: number;
    /** bibop collections that fell inside the measured calls (their cost is included). */
    bibopCollections: number;
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

export async function runMicro(timeMs: number, log: (s: string) => void): Promise<MicroResults> {
  // ---- (a) allocation -----------------------------------------------------------------
  const allocHeap = Heap.create(MICRO_HEAP_OPTIONS);
  const Pair = allocHeap.defineStruct('Node', { left: 'ref', right: 'ref' });
  if (Pair.$blockBytes !== 16) throw new Error(`expected a 16-byte block for {left, right}, got ${Pair.$blockBytes}`);
  const allocBatch = (): void => {
    for (let i = 0; i < ALLOC_BATCH; i++) allocHeap.alloc(Pair);
  };
  const allocAll = (): void => {
    for (let b = 0; b < ALLOC_OBJECTS / ALLOC_BATCH; b++) allocHeap.scope(allocBatch);
  };
  let allocCollections = 0;
  let countAllocGcs = false;
  let cycled = 0;
  allocHeap.onGC(() => {
    cycled++;
    if (countAllocGcs) allocCollections++;
  });
  // Steady state: cycle the heap once through its initial size before measuring, so that
  // the figure is allocation, not the kernel faulting in fresh pages on first touch (which
  // the whole-program benchmarks include).
  while (cycled === 0) allocHeap.scope(allocAll);

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

  interface V8Pair {
    left: V8Pair | null;
    right: V8Pair | null;
  }
  const ring: (V8Pair | null)[] = new Array<V8Pair | null>(1024).fill(null);
  const v8All = (): void => {
    for (let i = 0; i < ALLOC_OBJECTS; i++) ring[i & 1023] = { left: null, right: null };
  };

  const allocBench = new Bench({ name: 'allocation', time: timeMs, iterations: 20, warmupIterations: 5, warmupTime: 200 });
  allocBench
    .add('alloc 1e6 × 16 B: bibop heap.alloc', () => allocHeap.scope(allocAll), {
      beforeAll: (mode) => {
        countAllocGcs = mode === 'run';
      },
    })
    .add('alloc 1e6 × 16 B: raw floor (3 stores + compare)', rawAll)
    .add('alloc 1e6 × {left,right}: V8 objects', v8All);
  log('micro (a): allocation throughput …');
  await allocBench.run();
  log(tableText(allocBench));
  countAllocGcs = false;
  const bibopAlloc = summarize(findTask(allocBench, 'alloc 1e6 × 16 B: bibop heap.alloc'));
  const rawAlloc = summarize(findTask(allocBench, 'alloc 1e6 × 16 B: raw floor (3 stores + compare)'));
  const v8Alloc = summarize(findTask(allocBench, 'alloc 1e6 × {left,right}: V8 objects'));
  allocHeap.detach();

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
  const sweepHeap = Heap.create(MICRO_HEAP_OPTIONS);
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
      rawFloor: rawAlloc,
      v8: v8Alloc,
      // One call allocates 1e6 objects: ms per call = ns per object.
      bibopNsPerObject: (bibopAlloc.p50Ms * 1e6) / ALLOC_OBJECTS,
      rawNsPerObject: (rawAlloc.p50Ms * 1e6) / ALLOC_OBJECTS,
      v8NsPerObject: (v8Alloc.p50Ms * 1e6) / ALLOC_OBJECTS,
      ratioToFloor: bibopAlloc.p50Ms / rawAlloc.p50Ms,
      bibopCollections: allocCollections,
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
