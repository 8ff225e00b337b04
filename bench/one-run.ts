// One run of one workload in a process of its own, for bench/whole-process.ts:
//   node dist/bench/one-run.js <bt|gcbench> <v8|bibop> [depth]
// Prints one JSON line: { ms, checksum }. The time covers creating the heap (bibop) and
// the workload, not Node's start-up.

import { Heap } from '../src/index.js';
import { MACRO_HEAP_OPTIONS, binaryTreesHeap, binaryTreesV8, gcBenchHeap, gcBenchV8 } from './lib/workloads.js';

const [workload = 'bt', impl = 'v8', depthArg = '18'] = process.argv.slice(2);
const depth = Number(depthArg);
const start = performance.now();
let checksum: number;
if (impl === 'v8') {
  checksum = workload === 'bt' ? binaryTreesV8(depth) : gcBenchV8();
} else {
  const heap = Heap.create(MACRO_HEAP_OPTIONS);
  checksum = workload === 'bt' ? binaryTreesHeap(heap, depth) : gcBenchHeap(heap);
}
console.log(JSON.stringify({ ms: performance.now() - start, checksum }));
