// Self-checking object graphs for stress runs and tests.
//
// A graph hangs off a Root object that records its shape and the checksum of its contents,
// so any worker can check a graph it did not build: it walks the graph, recomputes the
// checksum and compares. Shapes: a binary tree, a linked list, an array of nodes (which
// may point at each other), a ring (a cycle), and (fault runs only) a bundle of large i32
// arrays and finalizable objects. Only the builder mutates a graph, under a
// seqlock in the Root (`seq` is odd while it writes), so a reader can tell a check that
// overlapped a mutation from a corrupt graph.

import type { Heap, HeapType } from '../index.js';

export const SHAPE_TREE = 0;
export const SHAPE_LIST = 1;
export const SHAPE_ARRAY = 2;
export const SHAPE_RING = 3;
/** The shapes of plain stress runs: SHAPE_TREE … SHAPE_RING. */
export const SHAPES = 4;
/** Large i32 arrays (several pages each) and finalizable objects; built with a FinalIds source. */
export const SHAPE_BUNDLE = 4;
/** Elements of a bundle's large arrays: 12 008 bytes, a 3-page large span. */
export const LARGE_ELEMENTS = 3000;
export const BUNDLE_LARGE_ARRAYS = 2;

export interface GraphTypes {
  Root: HeapType & { shape: number; size: number; sum: number; body: number; tag: number; seq: number };
  Node: HeapType & { left: number; right: number; val: number; weight: number };
  Refs: HeapType;
  Bytes: HeapType;
  I32s: HeapType;
  /** Finalizable: `id` names it in a fault run's ledger (0 until written). */
  Final: HeapType & { id: number; next: number };
}

export function defineGraphTypes(heap: Heap): GraphTypes {
  return {
    Root: heap.defineStruct('stress.Root', { shape: 'i32', size: 'i32', sum: 'i32', tag: 'i32', seq: 'i32', body: 'ref' }),
    Node: heap.defineStruct('stress.Node', { left: 'ref', right: 'ref', val: 'i32', weight: 'f64' }),
    Refs: heap.defineArray('stress.Refs', 'ref'),
    Bytes: heap.defineArray('stress.Bytes', 'u8'),
    I32s: heap.defineArray('stress.I32s', 'i32'),
    Final: heap.defineStruct('stress.Final', { id: 'i32', next: 'ref' }, { finalize: true }),
  };
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mix(sum: number, v: number): number {
  return (Math.imul(sum, 31) + v) | 0;
}

function node(heap: Heap, t: GraphTypes, val: number): number {
  const n = heap.alloc(t.Node);
  heap.setI32(n, t.Node.val, val);
  heap.setF64(n, t.Node.weight, val * 0.5);
  return n;
}

/** A large i32 array filled from `next`. */
export function largeArray(heap: Heap, t: GraphTypes, next: () => number): number {
  const a = heap.allocArray(t.I32s, LARGE_ELEMENTS);
  const base = (next() * 1000) | 0;
  for (let i = 0; i < LARGE_ELEMENTS; i++) heap.setI32At(a, i, base + i);
  return a;
}

/** A finalizable object carrying `id`. */
export function finalizable(heap: Heap, t: GraphTypes, id: number): number {
  const f = heap.alloc(t.Final);
  heap.setI32(f, t.Final.id, id);
  return f;
}

/** Where a bundle's finalizable objects get their ids: `made` is told once the id is written. */
export interface FinalIds {
  next(): number;
  made(id: number): void;
}

/**
 * Builds a graph of about `size` nodes inside the caller's scope; returns its Root. A bundle
 * holds BUNDLE_LARGE_ARRAYS large arrays and `size` finalizable objects with ids from `finals`.
 */
export function buildGraph(
  heap: Heap, t: GraphTypes, shape: number, size: number, seed: number, tag: number, finals?: FinalIds,
): number {
  const next = rng(seed);
  const root = heap.alloc(t.Root);
  heap.setI32(root, t.Root.shape, shape);
  heap.setI32(root, t.Root.size, size);
  heap.setI32(root, t.Root.tag, tag);
  let body = 0;
  if (shape === SHAPE_TREE) {
    const depth = Math.max(1, Math.floor(Math.log2(size + 1)) - 1);
    const make = (d: number): number => {
      const n = node(heap, t, (next() * 1000) | 0);
      if (d > 0) {
        heap.setRef(n, t.Node.left, make(d - 1));
        heap.setRef(n, t.Node.right, make(d - 1));
      }
      return n;
    };
    body = make(depth);
  } else if (shape === SHAPE_LIST || shape === SHAPE_RING) {
    let head = 0;
    let last = 0;
    for (let i = 0; i < size; i++) {
      const n = node(heap, t, (next() * 1000) | 0);
      heap.setRef(n, t.Node.left, head);
      if (i === 0) last = n;
      head = n;
      if ((i & 7) === 0) heap.setRef(n, t.Node.right, heap.allocArray(t.Bytes, (next() * 64) | 0));
    }
    if (shape === SHAPE_RING && last !== 0) heap.setRef(last, t.Node.left, head);
    body = head;
  } else if (shape === SHAPE_BUNDLE) {
    if (finals === undefined) throw new Error('buildGraph: a bundle needs a source of finalizable ids');
    const arr = heap.allocArray(t.Refs, BUNDLE_LARGE_ARRAYS + size);
    for (let i = 0; i < BUNDLE_LARGE_ARRAYS; i++) heap.setRefAt(arr, i, largeArray(heap, t, next));
    for (let i = 0; i < size; i++) {
      const id = finals.next();
      heap.setRefAt(arr, BUNDLE_LARGE_ARRAYS + i, finalizable(heap, t, id));
      finals.made(id);
    }
    body = arr;
  } else {
    const arr = heap.allocArray(t.Refs, size);
    for (let i = 0; i < size; i++) heap.setRefAt(arr, i, node(heap, t, (next() * 1000) | 0));
    for (let i = 0; i < size; i++) {
      // Cross links between elements: shared structure inside the graph.
      heap.setRef(heap.getRefAt(arr, i), t.Node.right, heap.getRefAt(arr, (next() * size) | 0));
    }
    body = arr;
  }
  heap.setRef(root, t.Root.body, body);
  heap.setI32(root, t.Root.sum, checksum(heap, t, root));
  return root;
}

/** Recomputes a graph's checksum from its nodes. */
export function checksum(heap: Heap, t: GraphTypes, root: number): number {
  const shape = heap.getI32(root, t.Root.shape);
  const body = heap.getRef(root, t.Root.body);
  let sum = shape;
  if (shape === SHAPE_TREE) {
    const stack = [body];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n === 0) continue;
      sum = mix(sum, heap.getI32(n, t.Node.val));
      if (heap.getF64(n, t.Node.weight) !== heap.getI32(n, t.Node.val) * 0.5) sum = mix(sum, 0x7fffffff);
      stack.push(heap.getRef(n, t.Node.right), heap.getRef(n, t.Node.left));
    }
  } else if (shape === SHAPE_LIST || shape === SHAPE_RING) {
    const size = heap.getI32(root, t.Root.size);
    let n = body;
    for (let i = 0; i < size && n !== 0; i++) {
      sum = mix(sum, heap.getI32(n, t.Node.val));
      const bytes = heap.getRef(n, t.Node.right);
      if (bytes !== 0) sum = mix(sum, heap.length(bytes));
      n = heap.getRef(n, t.Node.left);
    }
  } else if (shape === SHAPE_BUNDLE) {
    const len = heap.length(body);
    for (let i = 0; i < len; i++) {
      const e = heap.getRefAt(body, i);
      if (i < BUNDLE_LARGE_ARRAYS) {
        sum = mix(sum, heap.length(e));
        for (let k = 0; k < LARGE_ELEMENTS; k += 97) sum = mix(sum, heap.getI32At(e, k));
        sum = mix(sum, heap.getI32At(e, LARGE_ELEMENTS - 1));
      } else {
        sum = mix(sum, heap.getI32(e, t.Final.id));
      }
    }
  } else {
    const len = heap.length(body);
    for (let i = 0; i < len; i++) {
      const n = heap.getRefAt(body, i);
      sum = mix(sum, heap.getI32(n, t.Node.val));
      const other = heap.getRef(n, t.Node.right);
      sum = mix(sum, other === 0 ? -1 : heap.getI32(other, t.Node.val));
    }
  }
  return sum;
}

/** Whether a graph matches its checksum; null when its builder was mutating it meanwhile. */
export function checkGraph(heap: Heap, t: GraphTypes, root: number): boolean | null {
  const before = Atomics.load(heap.i32, (root + t.Root.seq) >>> 2);
  if ((before & 1) !== 0) return null;
  const ok = checksum(heap, t, root) === heap.getI32(root, t.Root.sum);
  return Atomics.load(heap.i32, (root + t.Root.seq) >>> 2) === before ? ok : null;
}

/** Changes a graph in place (values and links) and updates its checksum. */
export function mutateGraph(heap: Heap, t: GraphTypes, root: number, seed: number): void {
  const next = rng(seed);
  const seqWord = (root + t.Root.seq) >>> 2;
  // Odd while writing. `or`, not `add`: a builder killed mid-mutation leaves it odd, and its
  // successor must not make it even for the length of its own mutation.
  Atomics.or(heap.i32, seqWord, 1);
  const shape = heap.getI32(root, t.Root.shape);
  const body = heap.getRef(root, t.Root.body);
  if (shape === SHAPE_ARRAY) {
    const len = heap.length(body);
    for (let k = 0; k < 4 && len > 0; k++) {
      const i = (next() * len) | 0;
      const n = node(heap, t, (next() * 1000) | 0);
      heap.setRef(n, t.Node.right, heap.getRefAt(body, (next() * len) | 0));
      heap.setRefAt(body, i, n); // published complete
    }
  } else if (shape === SHAPE_BUNDLE) {
    const large = heap.getRefAt(body, (next() * BUNDLE_LARGE_ARRAYS) | 0);
    for (let k = 0; k < 8; k++) heap.setI32At(large, ((next() * LARGE_ELEMENTS) / 97 | 0) * 97, (next() * 1000) | 0);
  } else if (body !== 0) {
    heap.setI32(body, t.Node.val, (next() * 1000) | 0);
    heap.setF64(body, t.Node.weight, heap.getI32(body, t.Node.val) * 0.5);
  }
  heap.setI32(root, t.Root.sum, checksum(heap, t, root));
  Atomics.add(heap.i32, seqWord, 1);
}
