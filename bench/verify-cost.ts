// What the debugging aids cost, on GCBench's heap.
//
//   node dist/bench/verify-cost.js [--runs 5]
//
// 1. verify() and verify({ remark: true }) on GCBench's final heap (the long-lived tree of
//    depth 16 and the 500 000-element array, after the run's garbage), each as a ratio to a
//    major collection of the same heap (its mark and sweep), medians of --runs.
// 2. Checked mode's quarantine: GCBench run on a checked heap, the bytes quarantined slots
//    hold after each collection, and their share of the allocated bytes then (onGC + stats()).
// Prints Markdown tables; each run is a fresh heap in this process.

import { parseArgs } from 'node:util';
import { Heap } from '../src/index.js';
import { GCBENCH, gcBenchHeap } from './lib/workloads.js';
import { fmtMs, fmtRatio, markdownTable, median } from './lib/util.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write(`verify-cost: --runs must be a positive integer, got ${values.runs}\n`);
  process.exit(2);
}

/** GCBench's final heap: the run's garbage made, the long-lived structures still held. */
function finalHeap(checked: boolean): { heap: Heap; release: () => void } {
  const heap = Heap.create({ size: 256 << 20, maxSize: 1 << 30, checked });
  const Node = heap.defineStruct('GCBenchNode', { left: 'ref', right: 'ref', i: 'i32', j: 'i32' });
  const Doubles = heap.defineArray('GCBenchDoubles', 'f64');
  const populate = (depth: number, node: number): void => {
    if (depth <= 0) return;
    const left = heap.alloc(Node);
    heap.setRef(node, Node.left, left);
    const right = heap.alloc(Node);
    heap.setRef(node, Node.right, right);
    populate(depth - 1, left);
    populate(depth - 1, right);
  };
  const tree = heap.scope(() => {
    const t = heap.alloc(Node);
    populate(GCBENCH.longLivedTreeDepth, t);
    return heap.persist(t);
  });
  const array = heap.scope(() => heap.persist(heap.allocArray(Doubles, GCBENCH.arraySize)));
  gcBenchHeap(heap); // the run's garbage (its own long-lived structures are released at its end)
  return { heap, release: () => { tree.release(); array.release(); } };
}

const major: number[] = [];
const verify: number[] = [];
const remark: number[] = [];
let objects = 0;
for (let r = 0; r < runs; r++) {
  const { heap } = finalHeap(false);
  heap.collect();
  major.push(heap.collect().pauseMs);
  let t = performance.now();
  const v = heap.verify();
  verify.push(performance.now() - t);
  if (!v.ok) throw new Error(`verify-cost: verify() failed: ${v.errors[0]}`);
  t = performance.now();
  const m = heap.verify({ remark: true });
  remark.push(performance.now() - t);
  objects = m.remark!.reachableObjects;
}
const majorMs = median(major);
console.log(`\nGCBench's final heap (${objects} reachable objects), medians of ${runs}:\n`);
console.log(markdownTable(['operation', 'median ms', 'vs a major collection'], [
  ['major collection (pause)', fmtMs(majorMs), '1.00x'],
  ['verify()', fmtMs(median(verify)), fmtRatio(median(verify) / majorMs)],
  ['verify({ remark: true })', fmtMs(median(remark)), fmtRatio(median(remark) / majorMs)],
]));

const quarantined: number[] = [];
const ratios: number[] = [];
{
  const heap = Heap.create({ size: 256 << 20, maxSize: 1 << 30, checked: true });
  heap.onGC(() => {
    const s = heap.stats();
    quarantined.push(s.quarantinedBytes);
    ratios.push(s.quarantinedBytes / Math.max(1, s.allocatedBytes + s.quarantinedBytes)); // allocatedBytes excludes them
  });
  gcBenchHeap(heap);
}
const MiB = 1 << 20;
console.log(`\nChecked mode's quarantine over GCBench (${quarantined.length} collections):\n`);
console.log(markdownTable(['', 'median', 'max'], [
  ['quarantined MiB after a collection', (median(quarantined) / MiB).toFixed(2), (Math.max(...quarantined) / MiB).toFixed(2)],
  ['share of occupied bytes held by quarantine', `${(100 * median(ratios)).toFixed(0)}%`, `${(100 * Math.max(...ratios)).toFixed(0)}%`],
]));
