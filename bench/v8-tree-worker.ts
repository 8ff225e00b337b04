// A worker that runs its share of binary-trees on V8's own objects, in its own V8 heap:
// the peer for bibop-gc's workers sharing one heap (bench/multi-worker.ts).

import { parentPort, workerData } from 'node:worker_threads';

interface TreeNode { left: TreeNode | null; right: TreeNode | null }

function make(d: number): TreeNode {
  return d === 0 ? { left: null, right: null } : { left: make(d - 1), right: make(d - 1) };
}

function check(n: TreeNode): number {
  return n.left === null ? 1 : 1 + check(n.left) + check(n.right!);
}

const { minDepth, maxDepth, shard, shards } = workerData as { minDepth: number; maxDepth: number; shard: number; shards: number };
let out = 0;
for (let d = minDepth; d <= maxDepth; d += 2) {
  const iters = 1 << (maxDepth - d + minDepth);
  for (let i = shard; i < iters; i += shards) out += check(make(d));
}
parentPort!.postMessage(out);
