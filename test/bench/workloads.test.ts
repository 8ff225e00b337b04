// The benchmark workloads at tiny sizes: every version of each one (V8 constructor, V8
// literals, bibop-gc in checked mode) returns the same checksum, so the runners compare
// equal work. Checked mode also turns a ref the bibop versions keep too long into an error.
import { describe, expect, it } from 'vitest';
import { Heap } from '../../src/index.js';
import {
  binaryTreesExpected, binaryTreesHeap, binaryTreesV8, binaryTreesV8Literal, gcBenchExpected, gcBenchHeap, gcBenchV8,
  gcBenchV8Literal, type GcBenchParams,
} from '../../bench/lib/workloads.js';
import { splayHeap, splayV8, type SplayParams } from '../../bench/lib/splay.js';

// 2 MiB: small enough that every workload below collects several times.
const heapOptions = { size: 2 << 20, maxSize: 64 << 20, checked: true };

function withHeap<T>(fn: (heap: Heap) => T): { value: T; collections: number } {
  const heap = Heap.create(heapOptions);
  let collections = 0;
  heap.onGC(() => collections++);
  try {
    const value = fn(heap);
    expect(heap.verify().errors).toEqual([]);
    return { value, collections };
  } finally {
    heap.detach();
  }
}

describe('benchmark workloads agree on their checksums', () => {
  it('binary-trees, depth 10', () => {
    const expected = binaryTreesExpected(10);
    expect(binaryTreesV8(10)).toBe(expected);
    expect(binaryTreesV8Literal(10)).toBe(expected);
    const h = withHeap((heap) => binaryTreesHeap(heap, 10));
    expect(h.value).toBe(expected);
  });

  it('GCBench, small trees', () => {
    const p: GcBenchParams = { stretchTreeDepth: 12, longLivedTreeDepth: 10, arraySize: 4000, minTreeDepth: 4, maxTreeDepth: 10 };
    const expected = gcBenchExpected(p);
    expect(gcBenchV8(p)).toBe(expected);
    expect(gcBenchV8Literal(p)).toBe(expected);
    const h = withHeap((heap) => gcBenchHeap(heap, p));
    expect(h.value).toBe(expected);
    expect(h.collections).toBeGreaterThan(0);
  });

  it('Splay, 300 keys', () => {
    const p: SplayParams = { keys: 300, payloadDepth: 5, modificationsPerBatch: 80, batches: 40, seed: 7 };
    const v8 = splayV8(p);
    expect(v8.batchMs).toHaveLength(p.batches);
    const h = withHeap((heap) => splayHeap(heap, p));
    expect(h.value.checksum).toBe(v8.checksum);
    expect(h.collections).toBeGreaterThan(0);
    // The tree keeps its size: 300 nodes, each with 32 leaves carrying its key.
    expect(v8.checksum).toBeGreaterThan(300 * 32);
  });
});
