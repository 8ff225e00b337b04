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

describe('handle chunks in memory another thread grew', () => {
  test('a thread with older views resolves, reads and releases handles that live there', () => {
    const heap = Heap.create({ size: 2 * MiB, maxSize: 32 * MiB });
    const other = Heap.attach(heap.buffer);
    const Cell = heap.defineStruct('Cell', { v: 'i32' });
    other.defineStruct('Cell', { v: 'i32' });
    other.scope(() => 0); // its root stack, inside the first 2 MiB
    const ids = heap.scope(() => {
      // Live data fills the low memory and makes the arena grow...
      const filler = heap.allocArray(heap.defineArray('Filler', 'ref'), 600_000);
      heap.persist(filler);
      // ...so the second handle chunk (entries 1024…) lands past `other`'s views.
      const out: number[] = [];
      for (let i = 0; i < 1500; i++) {
        const c = heap.alloc(Cell);
        heap.setI32(c, Cell.v, i);
        out.push(heap.persist(c).id);
      }
      return out;
    });
    expect(heap.stats().arenaBytes).toBeGreaterThan(2 * MiB);
    const values = other.scope(() => ids.map((id) => other.getI32(other.handle(id).get(), Cell.v)));
    expect(values).toEqual(ids.map((_, i) => i));
    for (const id of ids.slice(1024)) other.handle(id).release();
    heap.collect();
    expect(heap.stats().allocatedObjects).toBe(1 + 1024);
    expect(heap.verify().errors).toEqual([]);
  });
});
