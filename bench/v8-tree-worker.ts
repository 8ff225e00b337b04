// A worker that runs its share of binary-trees on V8's own objects (made by the constructor,
// V8's fast mode), in its own V8 heap: the peer for bibop-gc's workers sharing one heap
// (bench/multi-worker.ts).

import { parentPort, workerData } from 'node:worker_threads';
import { bottomUpTree, itemCheck } from './lib/workloads.js';

const { minDepth, maxDepth, shard, shards } = workerData as { minDepth: number; maxDepth: number; shard: number; shards: number };
let out = 0;
for (let d = minDepth; d <= maxDepth; d += 2) {
  const iters = 1 << (maxDepth - d + minDepth);
  for (let i = shard; i < iters; i += shards) out += itemCheck(bottomUpTree(d));
}
parentPort!.postMessage(out);
