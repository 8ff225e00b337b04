// A known heap for the inspection tests: a persisted tree, a persisted array of nodes, a
// large array, byte and float arrays, finalizable objects, objects held only by a scope
// (when the caller snapshots inside one), and garbage that no root reaches.
import { Heap, type HeapType } from '../../src/index.js';

export const MiB = 1 << 20;

export interface KnownHeap {
  heap: Heap;
  Node: HeapType & { left: number; right: number; value: number; weight: number };
  Refs: HeapType;
  Bytes: HeapType;
  Floats: HeapType;
  File: HeapType;
  /** Handle ids: the tree's root, the array of nodes, the large array. */
  treeId: number;
  listId: number;
  bigId: number;
  /** A node only the array at `listId` holds, at index 3. */
  inArray: number;
  /** A node no root reaches (garbage until the next collection). */
  garbage: number;
  /** Nodes in the tree. */
  treeNodes: number;
}

export function makeTree(heap: Heap, Node: KnownHeap['Node'], depth: number, value = 1): number {
  const n = heap.alloc(Node);
  heap.setI32(n, Node.value, value);
  heap.setF64(n, Node.weight, value / 4);
  if (depth > 0) {
    heap.setRef(n, Node.left, makeTree(heap, Node, depth - 1, value * 2));
    heap.setRef(n, Node.right, makeTree(heap, Node, depth - 1, value * 2 + 1));
  }
  return n;
}

export function buildKnownHeap(options: { size?: number; depth?: number } = {}): KnownHeap {
  const heap = Heap.create({ size: options.size ?? 8 * MiB, maxSize: 64 * MiB });
  const Node = heap.defineStruct('Node', { left: 'ref', right: 'ref', value: 'i32', weight: 'f64' });
  const Refs = heap.defineArray('Refs', 'ref');
  const Bytes = heap.defineArray('Bytes', 'u8');
  const Floats = heap.defineArray('Floats', 'f64');
  const File = heap.defineStruct('File', { fd: 'i32', next: 'ref' }, { finalize: true });
  const depth = options.depth ?? 6;
  const ids = heap.scope(() => {
    const tree = makeTree(heap, Node, depth);
    const list = heap.allocArray(Refs, 10);
    let inArray = 0;
    for (let i = 0; i < 10; i++) {
      const n = heap.alloc(Node);
      heap.setI32(n, Node.value, 1000 + i);
      heap.setRefAt(list, i, n);
      if (i === 3) inArray = n;
    }
    const big = heap.allocArray(Refs, 3000); // > 7432 bytes: a large span
    heap.setRefAt(big, 0, tree);
    heap.setRefAt(big, 2999, list);
    const bytes = heap.allocArray(Bytes, 100);
    for (let i = 0; i < 100; i++) heap.setU8At(bytes, i, i);
    const floats = heap.allocArray(Floats, 20);
    for (let i = 0; i < 20; i++) heap.setF64At(floats, i, i * 0.5);
    heap.setRefAt(list, 8, bytes);
    heap.setRefAt(list, 9, floats);
    const file = heap.alloc(File);
    heap.setI32(file, File.fd, 7);
    heap.setRefAt(big, 1, file);
    const garbage = heap.alloc(Node);
    heap.setI32(garbage, Node.value, -1);
    return {
      treeId: heap.persist(tree).id, listId: heap.persist(list).id, bigId: heap.persist(big).id, inArray, garbage,
    };
  });
  return { heap, Node, Refs, Bytes, Floats, File, ...ids, treeNodes: 2 ** (depth + 1) - 1 };
}
