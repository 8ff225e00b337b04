// Finalization when a collection cannot queue every dead finalizable object: the handle
// table is full and a fixed-size arena has no room for another chunk. Found by
// `bibop stress --faults` (finalizable objects that died without their finalizer running).

import { expect, it } from 'vitest';
import { Heap, HeapOutOfMemoryError, type Persistent } from '../../src/index.js';
import { HANDLES_PER_CHUNK } from '../../src/heap/layout.js';

const MiB = 1 << 20;

// Phase 1 of the sweep keeps (marks) an object it cannot queue, so that phase 2 does not free
// it unfinalized. With verifyEachGC, the sanity re-mark must count it as kept, not as a young
// object that survived for nothing.
it.each([false, true])('a finalizable object the pause has no handle entry for is finalized by a later collection, not freed unfinalized (verifyEachGC: %s)', (verifyEachGC) => {
  const heap = Heap.create({ size: 2 * MiB, maxSize: 2 * MiB, verifyEachGC });
  const File = heap.defineStruct('File', { fd: 'i32' }, { finalize: true });
  const Refs = heap.defineArray('Refs', 'ref');
  const Big = heap.defineArray('Big', 'i32');
  const ran: number[] = [];
  heap.onFinalize(File, (ref) => ran.push(heap.getI32(ref, File.fd)));

  // The first handle chunk, with two entries left free.
  const holder = heap.persist(heap.scope(() => heap.escape(heap.allocArray(Refs, 1024))));
  const handles: Persistent[] = [];
  for (let i = 0; i < HANDLES_PER_CHUNK - 3; i++) handles.push(heap.persist(holder.get()));

  // Three files, rooted while the arena is filled with 5-page objects (a handle chunk's size)
  // until it is full; then they die.
  let big = 0;
  heap.scope(() => {
    for (let fd = 0; fd < 3; fd++) heap.setI32(heap.alloc(File), File.fd, fd);
    try {
      for (;;) heap.setRefAt(holder.get(), big++, heap.allocArray(Big, 4500));
    } catch (e) {
      if (!(e instanceof HeapOutOfMemoryError)) throw e;
    }
  });
  expect(big).toBeGreaterThan(10);
  expect(heap.stats().arenaBytes).toBe(2 * MiB);

  // Two entries for three files: one cannot be queued in this pause.
  expect(heap.collect().finalizableObjects).toBe(2);
  expect(ran.sort()).toHaveLength(2);

  // With room again, the third must still be there to be finalized.
  for (const h of handles) h.release();
  holder.release();
  for (let i = 0; i < 3; i++) heap.collect();
  expect(ran.sort()).toEqual([0, 1, 2]);
  expect(heap.stats().allocatedObjects).toBe(0);
  expect(heap.verify().errors).toEqual([]);
});
