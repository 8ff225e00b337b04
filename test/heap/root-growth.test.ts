// root(ref) on an object that nothing else holds any more (another thread just released the
// handle it was read from) while the root stack is full and the arena has no free page:
// the pattern of a stress reader, `heap.root(heap.handle(id).get())`. Suspected cause of a
// one-off fault-run failure (a published graph's root read back as a stress.Node).

import { expect, it } from 'vitest';
import { Heap, HeapOutOfMemoryError } from '../../src/index.js';
import { W_ROOT_LIMIT, W_ROOT_TOP, workerWord } from '../../src/heap/layout.js';

const MiB = 1 << 20;

// With the stack full and no free page, root() must collect to grow the stack while `ref` is
// on no root stack yet; the worker's pin word (W_PIN) keeps it alive through that collection.
// Without it the cell is freed, its page becomes the new root-stack chunk, and the read fails.
it('root(ref) keeps ref alive through the collection that makes room on the root stack', () => {
  const heap = Heap.create({ size: 2 * MiB, maxSize: 2 * MiB });
  const Cell = heap.defineStruct('RootCell', { v: 'i32' });
  const Refs = heap.defineArray('RootRefs', 'ref');
  const Big = heap.defineArray('RootBig', 'i32');
  const Fill = heap.defineStruct('RootFill', { next: 'ref', x: 'f64' }); // 24 bytes: not the cell's size class
  const handle = heap.scope(() => {
    const c = heap.alloc(Cell);
    heap.setI32(c, Cell.v, 42);
    return heap.persist(c);
  });
  // Fill the fixed arena to its last page, one object per nested scope so that the root stack
  // stays one chunk: big arrays, then a list of small objects.
  const holder = heap.persist(heap.scope(() => heap.escape(heap.allocArray(Refs, 512))));
  const untilFull = (step: () => void): void => {
    try {
      for (;;) heap.scope(step);
    } catch (e) {
      if (!(e instanceof HeapOutOfMemoryError)) throw e;
    }
  };
  let n = 0;
  untilFull(() => heap.setRefAt(holder.get(), n++ % 511, heap.allocArray(Big, 1000)));
  untilFull(() => {
    const f = heap.alloc(Fill);
    heap.setRef(f, Fill.next, heap.getRefAt(holder.get(), 511));
    heap.setRefAt(holder.get(), 511, f);
  });
  expect(heap.stats().pages.free).toBe(0);
  heap.scope(() => heap.setRefAt(holder.get(), 511, 0)); // garbage a collection could free
  const u32 = new Uint32Array(heap.buffer);
  const ctl = workerWord(heap.workerId);
  const before = heap.stats().collections.major;
  heap.scope(() => {
    while (u32[ctl + W_ROOT_TOP]! < u32[ctl + W_ROOT_LIMIT]!) heap.root(0); // the chunk is full
    const ref = handle.get();
    handle.release(); // as another thread may do at any moment
    heap.root(ref);
    // Growing the full stack had to collect (no free page); `ref` was pinned through it.
    expect(heap.stats().collections.major).toBeGreaterThan(before);
    expect(heap.getI32(ref, Cell.v)).toBe(42);
  });
});
