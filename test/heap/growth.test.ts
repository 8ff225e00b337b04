// The arena grows without moving; each thread re-makes its views when it meets memory
// past them. Two Heap objects on one thread have views of their own, so one of them can
// play a worker whose views predate another worker's growth.

import { describe, expect, test } from 'vitest';
import { Heap } from '../../src/index.js';

const MiB = 1 << 20;

describe('arena growth seen from a thread with older views', () => {
  test('partly free spans in memory another thread added are popped, filled and read correctly', () => {
    const heap = Heap.create({ size: 2 * MiB, maxSize: 32 * MiB });
    const other = Heap.attach(heap.buffer); // its views cover the first 2 MiB only
    const Cell = heap.defineStruct('Cell', { v: 'i32', next: 'ref' });
    const OtherCell = other.defineStruct('Cell', { v: 'i32', next: 'ref' });
    other.scope(() => other.alloc(OtherCell)); // its root stack and a TLAB, before the growth
    const keep = heap.scope(() => {
      // Grow: a 6 MiB chain, every other cell of which will die.
      let head = 0;
      for (let i = 0; i < 300_000; i++) {
        const c = heap.alloc(Cell);
        heap.setI32(c, Cell.v, i);
        if (i % 2 === 0) {
          heap.setRef(c, Cell.next, head);
          head = c;
        }
      }
      return heap.persist(head);
    });
    expect(heap.stats().arenaBytes).toBeGreaterThan(4 * MiB);
    heap.collect(); // leaves the odd cells' slots free in spans past `other`'s views
    const made = other.scope(() => {
      let head = 0;
      for (let i = 0; i < 100_000; i++) {
        const c = other.alloc(OtherCell);
        other.setI32(c, OtherCell.v, -i);
        other.setRef(c, OtherCell.next, head);
        head = c;
      }
      return other.persist(head);
    });
    // Both chains read back whole, from either thread.
    const sum = (h: Heap, head: number): [number, number] => {
      let n = 0;
      let s = 0;
      for (let c = head; c !== 0; c = h.getRef(c, Cell.next)) { n++; s += h.getI32(c, Cell.v); }
      return [n, s];
    };
    expect(heap.scope(() => sum(heap, made.get()))).toEqual([100_000, -(99_999 * 100_000) / 2]);
    expect(other.scope(() => sum(other, keep.get()))).toEqual([150_000, 2 * (149_999 * 150_000) / 2]);
    expect(heap.verify().errors).toEqual([]);
  });
});
