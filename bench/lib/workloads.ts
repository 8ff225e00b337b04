// The macro workloads, each in versions with identical results on V8's own objects and on a
// bibop-gc heap. Every function returns a checksum (a node count) so the runners can assert
// that all versions did the same work.
//
// V8 versions come twice. The baseline is V8 at its best: nodes made by a class constructor,
// which V8 allocates young in its nursery. The second, "V8 literals (pretenured)", makes the
// same nodes with object literals, whose allocation sites V8 pretenures into old space in
// most processes, running binary-trees 2–4x slower. It is reported, never used as a baseline.
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

/** The Benchmarks Game's node. Fields are declared, not defined, so the constructor alone shapes it. */
export class TreeNode {
  declare left: TreeNode | null;
  declare right: TreeNode | null;
  constructor(left: TreeNode | null, right: TreeNode | null) {
    this.left = left;
    this.right = right;
  }
}

export function bottomUpTree(depth: number): TreeNode {
  return depth > 0 ? new TreeNode(bottomUpTree(depth - 1), bottomUpTree(depth - 1)) : new TreeNode(null, null);
}

export function itemCheck(node: TreeNode): number {
  return node.left === null ? 1 : 1 + itemCheck(node.left) + itemCheck(node.right!);
}

/** binary-trees on V8 objects made by a constructor (the baseline). Returns the sum of every check. */
export function binaryTreesV8(maxDepth: number): number {
  const max = Math.max(MIN_DEPTH + 2, maxDepth);
  let checksum = itemCheck(bottomUpTree(max + 1));
  const longLived = bottomUpTree(max);
  for (let d = MIN_DEPTH; d <= max; d += 2) {
    const iterations = 1 << (max - d + MIN_DEPTH);
    let check = 0;
    for (let i = 0; i < iterations; i++) check += itemCheck(bottomUpTree(d));
    checksum += check;
  }
  checksum += itemCheck(longLived);
  return checksum;
}

interface LiteralNode {
  left: LiteralNode | null;
  right: LiteralNode | null;
}

function bottomUpLiteral(depth: number): LiteralNode {
  return depth > 0
    ? { left: bottomUpLiteral(depth - 1), right: bottomUpLiteral(depth - 1) }
    : { left: null, right: null };
}

function itemCheckLiteral(node: LiteralNode): number {
  return node.left === null ? 1 : 1 + itemCheckLiteral(node.left) + itemCheckLiteral(node.right!);
}

/** binary-trees on V8 object literals (V8's pretenured mode in most processes; not a baseline). */
export function binaryTreesV8Literal(maxDepth: number): number {
  const max = Math.max(MIN_DEPTH + 2, maxDepth);
  let checksum = itemCheckLiteral(bottomUpLiteral(max + 1));
  const longLived = bottomUpLiteral(max);
  for (let d = MIN_DEPTH; d <= max; d += 2) {
    const iterations = 1 << (max - d + MIN_DEPTH);
    let check = 0;
    for (let i = 0; i < iterations; i++) check += itemCheckLiteral(bottomUpLiteral(d));
    checksum += check;
  }
  checksum += itemCheckLiteral(longLived);
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

export interface GcBenchParams {
  stretchTreeDepth: number;
  longLivedTreeDepth: number;
  arraySize: number;
  minTreeDepth: number;
  maxTreeDepth: number;
}

/** Boehm's sizes. Tests pass smaller ones. */
export const GCBENCH: GcBenchParams = {
  stretchTreeDepth: 18,
  longLivedTreeDepth: 16,
  arraySize: 500_000,
  minTreeDepth: 4,
  maxTreeDepth: 16,
};

/** Nodes in a complete tree of depth i (GCBench's TreeSize). */
function treeSize(i: number): number {
  return (1 << (i + 1)) - 1;
}

/** Trees of depth i built per phase (GCBench's NumIters). */
function numIters(p: GcBenchParams, i: number): number {
  return Math.floor((2 * treeSize(p.stretchTreeDepth)) / treeSize(i));
}

/** GCBench's node, made by a constructor (the baseline). */
class GNode {
  declare left: GNode | null;
  declare right: GNode | null;
  declare i: number;
  declare j: number;
  constructor(left: GNode | null, right: GNode | null) {
    this.left = left;
    this.right = right;
    this.i = 0;
    this.j = 0;
  }
}

function countV8(node: GNode | null): number {
  return node === null ? 0 : 1 + countV8(node.left) + countV8(node.right);
}

/** The element checked at the end: filled, and 1000 at Boehm's size. */
function arrayProbe(p: GcBenchParams): number {
  return Math.min(1000, (p.arraySize >> 1) - 1);
}

function fillArray(p: GcBenchParams): Float64Array {
  const array = new Float64Array(p.arraySize);
  for (let i = 0; i < p.arraySize / 2; i++) array[i] = 1.0 / i;
  return array;
}

/**
 * GCBench on V8 objects made by a constructor (the baseline). Returns the number of nodes
 * made plus the node count of the long-lived tree at the end (proof that it survived);
 * throws if the array was lost.
 */
export function gcBenchV8(p: GcBenchParams = GCBENCH): number {
  let made = 0;
  const populate = (depth: number, node: GNode): void => {
    if (depth <= 0) return;
    depth--;
    node.left = new GNode(null, null);
    node.right = new GNode(null, null);
    made += 2;
    populate(depth, node.left);
    populate(depth, node.right);
  };
  const makeTree = (depth: number): GNode => {
    made++;
    if (depth <= 0) return new GNode(null, null);
    return new GNode(makeTree(depth - 1), makeTree(depth - 1));
  };
  makeTree(p.stretchTreeDepth);
  const longLivedTree = new GNode(null, null);
  made++;
  populate(p.longLivedTreeDepth, longLivedTree);
  const array = fillArray(p);
  for (let d = p.minTreeDepth; d <= p.maxTreeDepth; d += 2) {
    const iters = numIters(p, d);
    for (let i = 0; i < iters; i++) {
      const tempTree = new GNode(null, null);
      made++;
      populate(d, tempTree);
    }
    for (let i = 0; i < iters; i++) makeTree(d);
  }
  if (array[arrayProbe(p)] !== 1.0 / arrayProbe(p)) throw new Error('GCBench (V8): the long-lived array was lost');
  return made + countV8(longLivedTree);
}

interface LiteralGNode {
  left: LiteralGNode | null;
  right: LiteralGNode | null;
  i: number;
  j: number;
}

function countLiteral(node: LiteralGNode | null): number {
  return node === null ? 0 : 1 + countLiteral(node.left) + countLiteral(node.right);
}

/** GCBench on V8 object literals (not a baseline). Returns the same checksum as `gcBenchV8`. */
export function gcBenchV8Literal(p: GcBenchParams = GCBENCH): number {
  let made = 0;
  const populate = (depth: number, node: LiteralGNode): void => {
    if (depth <= 0) return;
    depth--;
    node.left = { left: null, right: null, i: 0, j: 0 };
    node.right = { left: null, right: null, i: 0, j: 0 };
    made += 2;
    populate(depth, node.left);
    populate(depth, node.right);
  };
  const makeTree = (depth: number): LiteralGNode => {
    made++;
    if (depth <= 0) return { left: null, right: null, i: 0, j: 0 };
    return { left: makeTree(depth - 1), right: makeTree(depth - 1), i: 0, j: 0 };
  };
  makeTree(p.stretchTreeDepth);
  const longLivedTree: LiteralGNode = { left: null, right: null, i: 0, j: 0 };
  made++;
  populate(p.longLivedTreeDepth, longLivedTree);
  const array = fillArray(p);
  for (let d = p.minTreeDepth; d <= p.maxTreeDepth; d += 2) {
    const iters = numIters(p, d);
    for (let i = 0; i < iters; i++) {
      const tempTree: LiteralGNode = { left: null, right: null, i: 0, j: 0 };
      made++;
      populate(d, tempTree);
    }
    for (let i = 0; i < iters; i++) makeTree(d);
  }
  if (array[arrayProbe(p)] !== 1.0 / arrayProbe(p)) throw new Error('GCBench (V8 literals): the long-lived array was lost');
  return made + countLiteral(longLivedTree);
}

/** GCBench on a bibop-gc heap. Returns the same checksum as `gcBenchV8`. */
export function gcBenchHeap(heap: Heap, p: GcBenchParams = GCBENCH): number {
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
    const iters = numIters(p, depth);
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
    makeTree(p.stretchTreeDepth);
  });
  const longLivedTree = heap.scope(() => {
    const tree = heap.alloc(Node);
    made++;
    populate(p.longLivedTreeDepth, tree);
    return heap.persist(tree);
  });
  const array = heap.scope(() => {
    const a = heap.allocArray(Doubles, p.arraySize);
    for (let i = 0; i < p.arraySize / 2; i++) heap.setF64At(a, i, 1.0 / i);
    return heap.persist(a);
  });
  for (let d = p.minTreeDepth; d <= p.maxTreeDepth; d += 2) timeConstruction(d);
  const probe = arrayProbe(p);
  if (heap.getF64At(array.get(), probe) !== 1.0 / probe) throw new Error('GCBench (heap): the long-lived array was lost');
  const checksum = made + heap.scope(() => count(longLivedTree.get()));
  longLivedTree.release();
  array.release();
  return checksum;
}

/** The checksum GCBench must produce. */
export function gcBenchExpected(p: GcBenchParams = GCBENCH): number {
  let made = treeSize(p.stretchTreeDepth) + treeSize(p.longLivedTreeDepth);
  for (let d = p.minTreeDepth; d <= p.maxTreeDepth; d += 2) made += 2 * numIters(p, d) * treeSize(d);
  return made + treeSize(p.longLivedTreeDepth);
}
