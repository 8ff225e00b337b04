// Splay: a GC-latency workload in the manner of Octane's Splay, written from the algorithm.
//
// A splay tree of `keys` nodes lives for the whole run. Each node holds a payload: a complete
// binary tree of depth `payloadDepth` (63 small objects at depth 5). Then the run does
// `batches` batches of `modificationsPerBatch` modifications, each timed as a batch:
//   1. draw random keys until one is not in the tree; insert it with a new payload;
//   2. remove the greatest key below it (or the new key itself when it is the smallest).
// The tree keeps its size, so the live set is constant while every operation allocates
// young objects and stores them into old ones (each splay also rewrites old nodes' links).
// The figures that matter are the worst batch and the collector's pauses, not only the total.
//
// The splay is top-down (Sleator and Tarjan): walking down from the root, nodes passed on
// the left go onto a "left tree" (all smaller than the key), those on the right onto a
// "right tree"; a zig-zig rotates first. At the end the node reached becomes the root with
// the two trees as its children. No allocation happens inside a splay.
//
// Both versions draw the same keys from the same seeded generator and end with the same
// tree, so `summary()` (node count plus every payload value) gives equal checksums.

import type { Heap, HeapType, Persistent } from '../../src/index.js';

export interface SplayParams {
  /** Nodes in the long-lived splay tree. */
  keys: number;
  /** Depth of each node's payload tree (2^(depth+1) − 1 objects). */
  payloadDepth: number;
  modificationsPerBatch: number;
  batches: number;
  seed: number;
}

/** The full size: Octane's tree and payload shape. */
export const SPLAY: SplayParams = { keys: 8000, payloadDepth: 5, modificationsPerBatch: 80, batches: 2000, seed: 0x5eed };

/** Heap options for the bibop version: a few times the ≈9 MiB live set, so it collects often. */
export const SPLAY_HEAP_OPTIONS = { size: 32 << 20, maxSize: 1 << 30, checked: false } as const;

/** SPLAY with the given fields replaced (from `--splay '{"keys":300,"batches":20}'`). */
export function splayParams(overrides: Record<string, unknown>): SplayParams {
  const p: SplayParams = { ...SPLAY };
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in SPLAY)) throw new Error(`--splay: unknown field '${k}' (fields: ${Object.keys(SPLAY).join(', ')})`);
    if (!Number.isInteger(v) || (v as number) < (k === 'payloadDepth' ? 0 : 1)) throw new Error(`--splay: ${k} must be a positive integer, got ${JSON.stringify(v)}`);
    p[k as keyof SplayParams] = v as number;
  }
  return p;
}

export interface SplayResult {
  checksum: number;
  /** Building the initial tree, ms. */
  setupMs: number;
  /** Each batch's time, ms. */
  batchMs: number[];
}

/** What a version of the tree provides to the shared driver. */
interface SplayOps {
  has(key: number): boolean;
  /** Inserts a key that is not in the tree, with a new payload. */
  insert(key: number): void;
  /** The greatest key below `key`, or −1. */
  greatestBelow(key: number): number;
  remove(key: number): void;
  /** Checks key order and the size; returns the node count plus every payload value. */
  summary(expectedNodes: number): number;
  /** Runs one unit of work (the bibop version: inside its own outermost scope). */
  unit(fn: () => void): void;
}

/** Keys in [0, 2^30), from a 32-bit linear congruential generator. */
function keyGenerator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 2;
  };
}

function runSplay(t: SplayOps, p: SplayParams): SplayResult {
  const nextKey = keyGenerator(p.seed);
  const addNewKey = (): number => {
    let key: number;
    do key = nextKey(); while (t.has(key));
    t.insert(key);
    return key;
  };
  const setup = (): void => {
    addNewKey();
  };
  const modify = (): void => {
    const key = addNewKey();
    const below = t.greatestBelow(key);
    t.remove(below < 0 ? key : below);
  };

  const start = performance.now();
  for (let i = 0; i < p.keys; i++) t.unit(setup);
  const setupMs = performance.now() - start;
  const batchMs: number[] = [];
  for (let b = 0; b < p.batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < p.modificationsPerBatch; i++) t.unit(modify);
    batchMs.push(performance.now() - t0);
  }
  let checksum = 0;
  t.unit(() => {
    checksum = t.summary(p.keys);
  });
  return { checksum, setupMs, batchMs };
}

function orderError(what: string, detail: string): Error {
  return new Error(`Splay (${what}): ${detail}`);
}

// ---------------------------------------------------------------------------------------
// V8 objects, made by constructors.

class PayloadNode {
  declare left: PayloadNode | null;
  declare right: PayloadNode | null;
  declare value: number;
  constructor(left: PayloadNode | null, right: PayloadNode | null, value: number) {
    this.left = left;
    this.right = right;
    this.value = value;
  }
}

class SplayNode {
  declare key: number;
  declare left: SplayNode | null;
  declare right: SplayNode | null;
  declare payload: PayloadNode;
  constructor(key: number, payload: PayloadNode) {
    this.key = key;
    this.left = null;
    this.right = null;
    this.payload = payload;
  }
}

/** Leaves carry the key, inner nodes their depth. */
function payloadV8(depth: number, key: number): PayloadNode {
  return depth === 0 ? new PayloadNode(null, null, key) : new PayloadNode(payloadV8(depth - 1, key), payloadV8(depth - 1, key), depth);
}

function payloadSumV8(n: PayloadNode | null): number {
  return n === null ? 0 : n.value + payloadSumV8(n.left) + payloadSumV8(n.right);
}

class SplayTreeV8 implements SplayOps {
  private root: SplayNode | null = null;

  constructor(private readonly payloadDepth: number) {}

  /** Brings the node with `key`, or the last node on its search path, to the root. */
  private splay(key: number): void {
    if (this.root === null) return;
    let t: SplayNode = this.root;
    let leftRoot: SplayNode | null = null;
    let leftMax: SplayNode | null = null;
    let rightRoot: SplayNode | null = null;
    let rightMin: SplayNode | null = null;
    for (;;) {
      if (key < t.key) {
        let l: SplayNode | null = t.left;
        if (l === null) break;
        if (key < l.key) {
          t.left = l.right; // rotate right
          l.right = t;
          t = l;
          l = t.left;
          if (l === null) break;
        }
        if (rightMin === null) rightRoot = t; // link t into the right tree
        else rightMin.left = t;
        rightMin = t;
        t = l;
      } else if (key > t.key) {
        let r: SplayNode | null = t.right;
        if (r === null) break;
        if (key > r.key) {
          t.right = r.left; // rotate left
          r.left = t;
          t = r;
          r = t.right;
          if (r === null) break;
        }
        if (leftMax === null) leftRoot = t; // link t into the left tree
        else leftMax.right = t;
        leftMax = t;
        t = r;
      } else {
        break;
      }
    }
    if (leftMax === null) leftRoot = t.left;
    else leftMax.right = t.left;
    if (rightMin === null) rightRoot = t.right;
    else rightMin.left = t.right;
    t.left = leftRoot;
    t.right = rightRoot;
    this.root = t;
  }

  has(key: number): boolean {
    this.splay(key);
    return this.root !== null && this.root.key === key;
  }

  insert(key: number): void {
    const node = new SplayNode(key, payloadV8(this.payloadDepth, key));
    this.splay(key);
    const root = this.root;
    if (root !== null) {
      if (key > root.key) {
        node.left = root;
        node.right = root.right;
        root.right = null;
      } else {
        node.right = root;
        node.left = root.left;
        root.left = null;
      }
    }
    this.root = node;
  }

  greatestBelow(key: number): number {
    this.splay(key);
    const root = this.root;
    if (root === null) return -1;
    if (root.key < key) return root.key;
    let n = root.left;
    if (n === null) return -1;
    while (n.right !== null) n = n.right;
    return n.key;
  }

  remove(key: number): void {
    this.splay(key);
    const root = this.root;
    if (root === null || root.key !== key) throw orderError('V8', `remove(${key}): no such key`);
    if (root.left === null) {
      this.root = root.right;
    } else {
      const right = root.right;
      this.root = root.left;
      this.splay(key); // the greatest key of the left subtree comes up, with no right child
      this.root!.right = right;
    }
  }

  summary(expectedNodes: number): number {
    let count = 0;
    let sum = 0;
    let last = -1;
    const stack: SplayNode[] = [];
    let n = this.root;
    while (n !== null || stack.length > 0) {
      while (n !== null) {
        stack.push(n);
        n = n.left;
      }
      n = stack.pop()!;
      if (n.key <= last) throw orderError('V8', `key ${n.key} after ${last}`);
      last = n.key;
      count++;
      sum += payloadSumV8(n.payload);
      n = n.right;
    }
    if (count !== expectedNodes) throw orderError('V8', `${count} nodes, expected ${expectedNodes}`);
    return count + sum;
  }

  unit(fn: () => void): void {
    fn();
  }
}

/** Splay on V8 objects made by constructors. */
export function splayV8(p: SplayParams = SPLAY): SplayResult {
  return runSplay(new SplayTreeV8(p.payloadDepth), p);
}

// ---------------------------------------------------------------------------------------
// bibop-gc. The tree's root lives in a persisted holder object, so every root change is a
// barriered store into an old object, as are the splay's link rewrites. Each setup step and
// each modification runs in its own outermost scope.

class SplayTreeHeap implements SplayOps {
  private readonly holder: Persistent;
  /** The holder's ref: persisted, and the heap never moves objects. */
  private readonly holderRef: number;
  private readonly ROOT: number;
  private readonly KEY: number;
  private readonly L: number;
  private readonly R: number;
  private readonly PAYLOAD: number;
  private readonly PL: number;
  private readonly PR: number;
  private readonly PV: number;
  private readonly Node: HeapType;
  private readonly Payload: HeapType;

  constructor(private readonly heap: Heap, private readonly payloadDepth: number) {
    const Node = heap.defineStruct('SplayNode', { left: 'ref', right: 'ref', payload: 'ref', key: 'i32' });
    const Payload = heap.defineStruct('SplayPayload', { left: 'ref', right: 'ref', value: 'i32' });
    const Holder = heap.defineStruct('SplayTree', { root: 'ref' });
    this.Node = Node;
    this.Payload = Payload;
    this.ROOT = Holder.root;
    this.KEY = Node.key;
    this.L = Node.left;
    this.R = Node.right;
    this.PAYLOAD = Node.payload;
    this.PL = Payload.left;
    this.PR = Payload.right;
    this.PV = Payload.value;
    this.holder = heap.scope(() => heap.persist(heap.alloc(Holder)));
    this.holderRef = this.holder.get();
  }

  private payload(depth: number, key: number): number {
    const h = this.heap;
    const n = h.alloc(this.Payload);
    if (depth === 0) {
      h.setI32(n, this.PV, key);
    } else {
      h.setI32(n, this.PV, depth);
      h.setRef(n, this.PL, this.payload(depth - 1, key));
      h.setRef(n, this.PR, this.payload(depth - 1, key));
    }
    return n;
  }

  private payloadSum(n: number): number {
    const h = this.heap;
    return n === 0 ? 0 : h.getI32(n, this.PV) + this.payloadSum(h.getRef(n, this.PL)) + this.payloadSum(h.getRef(n, this.PR));
  }

  private getRoot(): number {
    return this.heap.getRef(this.holderRef, this.ROOT);
  }

  private setRoot(node: number): void {
    this.heap.setRef(this.holderRef, this.ROOT, node);
  }

  private splay(key: number): void {
    const h = this.heap;
    const { KEY, L, R } = this;
    let t = this.getRoot();
    if (t === 0) return;
    let leftRoot = 0;
    let leftMax = 0;
    let rightRoot = 0;
    let rightMin = 0;
    for (;;) {
      const tKey = h.getI32(t, KEY);
      if (key < tKey) {
        let l = h.getRef(t, L);
        if (l === 0) break;
        if (key < h.getI32(l, KEY)) {
          h.setRef(t, L, h.getRef(l, R)); // rotate right
          h.setRef(l, R, t);
          t = l;
          l = h.getRef(t, L);
          if (l === 0) break;
        }
        if (rightMin === 0) rightRoot = t;
        else h.setRef(rightMin, L, t);
        rightMin = t;
        t = l;
      } else if (key > tKey) {
        let r = h.getRef(t, R);
        if (r === 0) break;
        if (key > h.getI32(r, KEY)) {
          h.setRef(t, R, h.getRef(r, L)); // rotate left
          h.setRef(r, L, t);
          t = r;
          r = h.getRef(t, R);
          if (r === 0) break;
        }
        if (leftMax === 0) leftRoot = t;
        else h.setRef(leftMax, R, t);
        leftMax = t;
        t = r;
      } else {
        break;
      }
    }
    if (leftMax === 0) leftRoot = h.getRef(t, L);
    else h.setRef(leftMax, R, h.getRef(t, L));
    if (rightMin === 0) rightRoot = h.getRef(t, R);
    else h.setRef(rightMin, L, h.getRef(t, R));
    h.setRef(t, L, leftRoot);
    h.setRef(t, R, rightRoot);
    this.setRoot(t);
  }

  has(key: number): boolean {
    this.splay(key);
    const root = this.getRoot();
    return root !== 0 && this.heap.getI32(root, this.KEY) === key;
  }

  insert(key: number): void {
    const h = this.heap;
    const { KEY, L, R } = this;
    const payload = this.payload(this.payloadDepth, key);
    const node = h.alloc(this.Node);
    h.setI32(node, KEY, key);
    h.setRef(node, this.PAYLOAD, payload);
    this.splay(key); // after the allocations: no collection can run inside a splay
    const root = this.getRoot();
    if (root !== 0) {
      if (key > h.getI32(root, KEY)) {
        h.setRef(node, L, root);
        h.setRef(node, R, h.getRef(root, R));
        h.setRef(root, R, 0);
      } else {
        h.setRef(node, R, root);
        h.setRef(node, L, h.getRef(root, L));
        h.setRef(root, L, 0);
      }
    }
    this.setRoot(node);
  }

  greatestBelow(key: number): number {
    const h = this.heap;
    this.splay(key);
    const root = this.getRoot();
    if (root === 0) return -1;
    const rootKey = h.getI32(root, this.KEY);
    if (rootKey < key) return rootKey;
    let n = h.getRef(root, this.L);
    if (n === 0) return -1;
    for (let r = h.getRef(n, this.R); r !== 0; r = h.getRef(n, this.R)) n = r;
    return h.getI32(n, this.KEY);
  }

  remove(key: number): void {
    const h = this.heap;
    this.splay(key);
    const root = this.getRoot();
    if (root === 0 || h.getI32(root, this.KEY) !== key) throw orderError('bibop', `remove(${key}): no such key`);
    const left = h.getRef(root, this.L);
    if (left === 0) {
      this.setRoot(h.getRef(root, this.R));
    } else {
      const right = h.getRef(root, this.R);
      this.setRoot(left);
      this.splay(key);
      h.setRef(this.getRoot(), this.R, right);
    }
  }

  summary(expectedNodes: number): number {
    const h = this.heap;
    let count = 0;
    let sum = 0;
    let last = -1;
    const stack: number[] = [];
    let n = this.getRoot();
    while (n !== 0 || stack.length > 0) {
      while (n !== 0) {
        stack.push(n);
        n = h.getRef(n, this.L);
      }
      n = stack.pop()!;
      const key = h.getI32(n, this.KEY);
      if (key <= last) throw orderError('bibop', `key ${key} after ${last}`);
      last = key;
      count++;
      sum += this.payloadSum(h.getRef(n, this.PAYLOAD));
      n = h.getRef(n, this.R);
    }
    if (count !== expectedNodes) throw orderError('bibop', `${count} nodes, expected ${expectedNodes}`);
    return count + sum;
  }

  unit(fn: () => void): void {
    this.heap.scope(fn);
  }

  release(): void {
    this.holder.release();
  }
}

/** Splay on a bibop-gc heap. Returns the same checksum as `splayV8`. */
export function splayHeap(heap: Heap, p: SplayParams = SPLAY): SplayResult {
  const tree = new SplayTreeHeap(heap, p.payloadDepth);
  const result = runSplay(tree, p);
  tree.release();
  return result;
}
