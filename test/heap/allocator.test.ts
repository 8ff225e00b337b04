// The allocator's slow paths: spans claimed ahead (spares) and collections that happen in
// the middle of a claim.

import { describe, expect, test } from 'vitest';
import { Heap } from '../../src/index.js';
import {
  PAGE_LOG, PAGE_TABLE_WORD, PI_CLASS_MASK, PI_CLASS_SHIFT, PI_KIND_MASK, PI_OWNER_SHIFT, PK_SMALL_HEAD, PT_INFO, PT_WORDS,
} from '../../src/heap/layout.js';

describe('spare spans', () => {
  test('a collection inside one class\'s claim frees the spares of every class, and none is used after', () => {
    // A heap that cannot grow, so that running out of pages means a collection inside a
    // claim (without generations: minors would recycle the young space before the pool ran dry).
    const heap = Heap.create({ size: 2 << 20, maxSize: 2 << 20, youngBytes: 0 });
    const A = heap.defineStruct('A', { a: 'i32' }); // 16-byte class
    const B = heap.defineStruct('B', { a: 'f64', b: 'f64', c: 'f64' }); // 32-byte class
    // Claims a batch of class-A spans: one in use, the rest kept as spares.
    heap.scope(() => heap.alloc(A));
    // Garbage of class B until the pool runs dry and a claim for B collects.
    const before = heap.stats().collections.major;
    while (heap.stats().collections.major === before) {
      heap.scope(() => {
        for (let i = 0; i < 2000; i++) heap.alloc(B);
      });
    }
    // Every spare the thread still holds is a span of its class that it owns: those it
    // held before the collection were freed there (and maybe claimed again for B).
    const u32 = new Uint32Array(heap.buffer);
    heap.spareSpans.forEach((spares, allocClass) => {
      for (const base of spares ?? []) {
        const info = u32[PAGE_TABLE_WORD + (base >>> PAGE_LOG) * PT_WORDS + PT_INFO]!;
        expect({ kind: info & PI_KIND_MASK, cls: (info >>> PI_CLASS_SHIFT) & PI_CLASS_MASK, owner: info >>> PI_OWNER_SHIFT })
          .toEqual({ kind: PK_SMALL_HEAD, cls: allocClass, owner: heap.workerId });
      }
    });
    // Class A again, well past its first span: stale spares must not be handed out.
    const refs = heap.scope(() => {
      const kept = heap.allocArray(heap.defineArray('Refs', 'ref'), 3000);
      for (let i = 0; i < 3000; i++) {
        const a = heap.alloc(A);
        heap.setI32(a, A.a, i);
        heap.setRefAt(kept, i, a);
        heap.scope(() => { for (let j = 0; j < 4; j++) heap.alloc(B); });
      }
      return heap.persist(kept);
    });
    expect(heap.verify().errors).toEqual([]);
    const values = heap.scope(() => Array.from({ length: 3000 }, (_, i) => heap.getI32(heap.getRefAt(refs.get(), i), A.a)));
    expect(values).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    heap.collect();
    expect(heap.verify().errors).toEqual([]);
  });
});
