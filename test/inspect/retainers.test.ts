// Why is it alive: shortest paths from a root, on known graphs, on the live heap (in a pause)
// and on a snapshot view alike.
import { describe, expect, it } from 'vitest';
import { Heap, InvalidRefError, StaleRefError, formatRetainers } from '../../src/index.js';
import { buildKnownHeap, MiB } from './fixture.js';
import { spawnMutator, withWatchdog } from '../multi/harness.js';

describe('retainers()', () => {
  it('follows fields from a persistent handle', () => {
    const k = buildKnownHeap();
    const tree = k.heap.handle(k.treeId).get();
    const left = k.heap.getRef(tree, k.Node.left);
    const target = k.heap.getRef(left, k.Node.right);
    const path = k.heap.retainers(target)!;
    // The tree is also reachable through big[0], a step longer: the shortest path wins.
    expect(path).toEqual([
      { ref: tree, type: 'Node', root: { kind: 'handle', ref: tree, handleId: k.treeId } },
      { ref: left, type: 'Node', field: 'left' },
      { ref: target, type: 'Node', field: 'right' },
    ]);
    expect(formatRetainers(path)).toBe([
      `persistent handle ${k.treeId} → Node 0x${tree.toString(16)}`,
      `  .left → Node 0x${left.toString(16)}`,
      `  .right → Node 0x${target.toString(16)}`,
    ].join('\n'));
  });

  it('goes through an array by index', () => {
    const k = buildKnownHeap();
    const list = k.heap.handle(k.listId).get();
    expect(k.heap.retainers(k.inArray)).toEqual([
      { ref: list, type: 'Refs', root: { kind: 'handle', ref: list, handleId: k.listId } },
      { ref: k.inArray, type: 'Node', index: 3 },
    ]);
    const big = k.heap.handle(k.bigId).get();
    const file = k.heap.getRefAt(big, 1);
    expect(k.heap.retainers(file)!.map((s) => s.index ?? s.field ?? s.root?.kind)).toEqual(['handle', 1]);
  });

  it('names the scope of the worker that holds a ref only on its root stack', () => {
    const k = buildKnownHeap();
    k.heap.scope(() => {
      for (let i = 0; i < 5; i++) k.heap.alloc(k.Node);
      const mine = k.heap.alloc(k.Node);
      const inner = k.heap.alloc(k.Node);
      k.heap.setRef(mine, k.Node.left, inner);
      const path = k.heap.retainers(inner)!;
      // Both are on the stack; `inner` itself is a root, so the path is one step.
      expect(path).toHaveLength(1);
      expect(path[0]!.root).toMatchObject({ kind: 'scope', workerId: 0, ref: inner });
      expect(formatRetainers(path)).toMatch(/^scope of worker 0 \(root \d+\) → Node 0x/);
    });
  });

  it('returns null for an object nothing reaches, and refuses a ref that is no object', () => {
    const k = buildKnownHeap();
    expect(k.heap.retainers(k.garbage)).toBeNull();
    expect(formatRetainers(null)).toMatch(/unreachable/);
    expect(() => k.heap.retainers(k.garbage + 4)).toThrow(InvalidRefError);
    k.heap.collect();
    expect(() => k.heap.retainers(k.garbage)).toThrow(StaleRefError);
  });

  it('finds the same paths on a snapshot view', () => {
    const k = buildKnownHeap();
    const view = Heap.fromSnapshot(k.heap.snapshot());
    const tree = k.heap.handle(k.treeId).get();
    const deep = k.heap.getRef(k.heap.getRef(k.heap.getRef(tree, k.Node.right), k.Node.right), k.Node.left);
    for (const ref of [tree, deep, k.inArray, k.garbage]) expect(view.retainers(ref)).toEqual(k.heap.retainers(ref));
    expect(view.retainers(deep)!.map((s) => s.field ?? s.root?.kind)).toEqual(['handle', 'right', 'right', 'left']);
  });

  it('names a finalization queue as the root of an object queued for its finalizer', async () => {
    const heap = Heap.create({ size: 8 * MiB });
    const File = heap.defineStruct('File', { fd: 'i32', next: 'ref' }, { finalize: true });
    const Node = heap.defineStruct('Node', { next: 'ref' });
    let node = 0;
    let file = 0;
    heap.scope(() => {
      file = heap.alloc(File);
      node = heap.alloc(Node);
      heap.setRef(file, File.next, node);
    });
    const m = await spawnMutator(heap);
    try {
      // A worker collects: the dead File is queued for this thread, which runs the
      // finalizer only at its next scope boundary, so the queue holds it now.
      await withWatchdog(30_000, heap, () => [m.worker], () => m.api.collect());
      const path = heap.retainers(node)!;
      expect(path[0]!.root).toMatchObject({ kind: 'finalization', workerId: 0, ref: file });
      expect(path[1]).toEqual({ ref: node, type: 'Node', field: 'next' });
      expect(formatRetainers(path)).toMatch(/^finalization queue of worker 0/);
    } finally {
      await m.worker.terminate();
    }
  });
});
