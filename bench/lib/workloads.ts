// The macro workloads, each in two versions with identical results: one on V8's own
// objects, one on a bibop-gc heap. Every function returns a checksum (a node count) so the
// runner can assert that both versions did the same work.
//
// binary-trees: the Computer Language Benchmarks Game program. A stretch tree of depth
//   maxDepth + 1, a long-lived tree of depth maxDepth, then for d = 4, 6, …, maxDepth:
//   2^(maxDepth - d + 4) trees of depth d, each built and checked (node count).
// GCBench: Hans Boehm's GC benchmark (after John Ellis and Pete Kovac). A stretch tree of
//   depth 18, a long-lived tree of depth 16 and a long-lived array of 500 000 doubles (half
//   filled), then for d = 4, 6, …, 16: NumIters(d) trees built top-down (Populate) and as
//   many built bottom-up (MakeTree), with NumIters(d) = 2 · TreeSize(18) / TreeSize(d).
//
// The heap versions follow the API as a user would write it: every tree is built and checked
// inside its own `heap.scope(() => …)` (an outermost scope: unpark, run, park), refs are read
// and written through `heap.getRef`/`heap.setRef` (write barrier included), and long-lived
// data is kept with `heap.persist`. Field offsets are hoisted into consts.

import type { Heap } from '../../src/index.js';

/** Heap options for the macro workloads (the design's binary-trees configuration). */
export const MACRO_HEAP_OPTIONS = { size: 256 << 20, maxSize: 1 << 30, checked: false } as const;

export const MIN_DEPTH = 4;

// ---------------------------------------------------------------------------------------
// binary-trees

interface TreeNode {
  left: TreeNode | null;
  right: TreeNode | null;
}

function bottomUpTreeV8(depth: number): TreeNode {
  return depth > 0
    ? { left: bottomUpTreeV8(depth - 1), right: bottomUpTreeV8(depth - 1) }
    : { left: null, right: null };
}

function itemCheckV8(node: TreeNode): number {
  return node.left === null ? 1 : 1 + itemCheckV8(node.left) + itemCheckV8(node.right!);
}

/** binary-trees on V8 objects. Returns the sum of every check (node counts). */
export function binaryTreesV8(maxDepth: number): number {
  const max = Math.max(MIN_DEPTH + 2, maxDepth);
  let checksum = itemCheckV8(bottomUpTreeV8(max + 1));
  const longLived = bottomUpTreeV8(max);
  for (let d = MIN_DEPTH; d <= max; d += 2) {
    const iterations = 1 << (max - d + MIN_DEPTH);
    let check = 0;
    for (let i = 0; i < iterations; i++) check += itemCheckV8(bottomUpTreeV8(d));
    checksum += check;
  }
  checksum += itemCheckV8(longLived);
  return checksum;
}

/** binary-trees on a bibop-gc heap. Returns the same checksum as `binaryTreesV8`. */
export function binaryTreesHeap(heap: Heap, maxDepth: number): number {
  const Node = heap.defineStruct('Node', { left: 'ref', right: 'ref' });
  const L = Node.left;
  const R = Node.right;

  // Children first, then the parent: the same allocation order as the V8 version.
  const bottomUp = (depth: number): number => {
    if (depth <= 0) return heap.alloc(Node);
    const left = bottomUp(depth - 1);
    const right = bottomUp(depth - 1);
    const node = heap.alloc(Node);
    heap.setRef(node, L, left);
    heap.setRef(node, R, right);
    return node;
  };
  const itemCheck = (node: number): number => {
    const left = heap.getRef(node, L);
    return left === 0 ? 1 : 1 + itemCheck(left) + itemCheck(heap.getRef(node, R));
  };

  const max = Math.max(MIN_DEPTH + 2, maxDepth);
  let checksum = heap.scope(() => itemCheck(bottomUp(max + 1)));
  const longLived = heap.scope(() => heap.persist(bottomUp(max)));
  for (let d = MIN_DEPTH; d <= max; d += 2) {
    const iterations = 1 << (max - d + MIN_DEPTH);
    const oneTree = (): number => itemCheck(bottomUp(d));
    let check = 0;
    for (let i = 0; i < iterations; i++) check += heap.scope(oneTree);
    checksum += check;
  }
  checksum += heap.scope(() => itemCheck(longLived.get()));
  longLived.release();
  return checksum;
}

/** The checksum binary-trees must produce, computed without building anything. */
export function binaryTreesExpected(maxDepth: number): number {
  const max = Math.max(MIN_DEPTH + 2, maxDepth);
  const size = (d: number): number => 2 ** (d + 1) - 1;
  let sum = size(max + 1) + size(max);
  for (let d = MIN_DEPTH; d <= max; d += 2) sum += 2 ** (max - d + MIN_DEPTH) * size(d);
  return sum;
}

// ---------------------------------------------------------------------------------------
// GCBench

export const GCBENCH = {
  stretchTreeDepth: 18,
  longLivedTreeDepth: 16,
  arraySize: 500_000,
  minTreeDepth: 4,
  maxTreeDepth: 16,
} as const;

/** Nodes in a complete tree of depth i (GCBench's TreeSize). */
function treeSize(i: number): number {
  return (1 << (i + 1)) - 1;
}

/** Trees of depth i built per phase (GCBench's NumIters). */
function numIters(i: number): number {
  return Math.floor((2 * treeSize(GCBENCH.stretchTreeDepth)) / treeSize(i));
}

class GNode {
  left: GNode | null;
  right: GNode | null;
  i = 0;
  j = 0;
  constructor(left: GNode | null = null, right: GNode | null = null) {
    this.left = left;
    this.right = right;
  }
}

function countV8(node: GNode | null): number {
  return node === null ? 0 : 1 + countV8(node.left) + countV8(node.right);
}

/**
 * GCBench on V8 objects. Returns the number of nodes made plus the node count of the
 * long-lived tree at the end (proof that it survived); throws if the array was lost.
 */
export function gcBenchV8(): number {
  let made = 0;
  const populate = (depth: number, node: GNode): void => {
    if (depth <= 0) return;
    depth--;
    node.left = new GNode();
    node.right = new GNode();
    made += 2;
    populate(depth, node.left);
    populate(depth, node.right);
  };
  const makeTree = (depth: number): GNode => {
    made++;
    if (depth <= 0) return new GNode();
    return new GNode(makeTree(depth - 1), makeTree(depth - 1));
  };
  const timeConstruction = (depth: number): void => {
    const iters = numIters(depth);
    for (let i = 0; i < iters; i++) {
      const tempTree = new GNode();
      made++;
      populate(depth, tempTree);
    }
    for (let i = 0; i < iters; i++) makeTree(depth);
  };

  makeTree(GCBENCH.stretchTreeDepth);
  const longLivedTree = new GNode();
  made++;
  populate(GCBENCH.longLivedTreeDepth, longLivedTree);
  const array = new Float64Array(GCBENCH.arraySize);
  for (let i = 0; i < GCBENCH.arraySize / 2; i++) array[i] = 1.0 / i;
  for (let d = GCBENCH.minTreeDepth; d <= GCBENCH.maxTreeDepth; d += 2) timeConstruction(d);
  if (array[1000] !== 1.0 / 1000) throw new Error('GCBench (V8): the long-lived array was lost');
  return made + countV8(longLivedTree);
}

/** GCBench on a bibop-gc heap. Returns the same checksum as `gcBenchV8`. */
export function gcBenchHeap(heap: Heap): number {
  const Node = heap.defineStruct('GCBenchNode', { left: 'ref', right: 'ref', i: 'i32', j: 'i32' });
  const Doubles = heap.defineArray('GCBenchDoubles', 'f64');
  const L = Node.left;
  const R = Node.right;
  let made = 0;

  const populate = (depth: number, node: number): void => {
    if (depth <= 0) return;
    depth--;
    const left = heap.alloc(Node);
    heap.setRef(node, L, left);
    const right = heap.alloc(Node);
    heap.setRef(node, R, right);
    made += 2;
    populate(depth, left);
    populate(depth, right);
  };
  const makeTree = (depth: number): number => {
    made++;
    if (depth <= 0) return heap.alloc(Node);
    const left = makeTree(depth - 1);
    const right = makeTree(depth - 1);
    const node = heap.alloc(Node);
    heap.setRef(node, L, left);
    heap.setRef(node, R, right);
    return node;
  };
  const count = (node: number): number =>
    node === 0 ? 0 : 1 + count(heap.getRef(node, L)) + count(heap.getRef(node, R));
  const timeConstruction = (depth: number): void => {
    const iters = numIters(depth);
    const topDown = (): void => {
      const tempTree = heap.alloc(Node);
      made++;
      populate(depth, tempTree);
    };
    const bottomUp = (): void => {
      makeTree(depth);
    };
    for (let i = 0; i < iters; i++) heap.scope(topDown);
    for (let i = 0; i < iters; i++) heap.scope(bottomUp);
  };

  heap.scope(() => {
    makeTree(GCBENCH.stretchTreeDepth);
  });
  const longLivedTree = heap.scope(() => {
    const tree = heap.alloc(Node);
    made++;
    populate(GCBENCH.longLivedTreeDepth, tree);
    return heap.persist(tree);
  });
  const array = heap.scope(() => {
    const a = heap.allocArray(Doubles, GCBENCH.arraySize);
    for (let i = 0; i < GCBENCH.arraySize / 2; i++) heap.setF64At(a, i, 1.0 / i);
    return heap.persist(a);
  });
  for (let d = GCBENCH.minTreeDepth; d <= GCBENCH.maxTreeDepth; d += 2) timeConstruction(d);
  if (heap.getF64At(array.get(), 1000) !== 1.0 / 1000) throw new Error('GCBench (heap): the long-lived array was lost');
  const checksum = made + heap.scope(() => count(longLivedTree.get()));
  longLivedTree.release();
  array.release();
  return checksum;
}

/** The checksum GCBench must produce. */
export function gcBenchExpected(): number {
  let made = treeSize(GCBENCH.stretchTreeDepth) + treeSize(GCBENCH.longLivedTreeDepth);
  for (let d = GCBENCH.minTreeDepth; d <= GCBENCH.maxTreeDepth; d += 2) made += 2 * numIters(d) * treeSize(d);
  return made + treeSize(GCBENCH.longLivedTreeDepth);
}
