// Handles released from two threads at once: each id is freed once, and no two handles
// ever share an entry (the first one's id would then resolve to the second one's object).

import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, test } from 'vitest';
import { Heap } from '../../src/index.js';
import { until, withWatchdog } from './harness.js';

const RELEASER_URL = new URL('../../.test-build/test-workers/releaser.mjs', import.meta.url);
const PER_ROUND = 200;

let workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.map((w) => w.terminate()));
  workers = [];
});

describe('persistent handles released by two threads at once', () => {
  test('each is freed once; the handles made afterwards each hold their own object', async () => {
    const heap = Heap.create({ size: 16 << 20 });
    const Cell = heap.defineStruct('hr.Cell', { v: 'i32' });
    const ids = new Int32Array(new SharedArrayBuffer(4 * (3 + PER_ROUND)));
    await withWatchdog(90_000, heap, () => workers, async () => {
      for (let i = 0; i < 2; i++) workers.push(heap.spawn<Worker>(RELEASER_URL, { workerData: { ids: ids.buffer } }));
      const kept: { id: number; v: number; get(): number }[] = [];
      for (let round = 1; round <= 40; round++) {
        const doomed = heap.scope(() => Array.from({ length: PER_ROUND }, () => heap.persist(heap.alloc(Cell)).id));
        doomed.forEach((id, i) => Atomics.store(ids, 3 + i, id));
        Atomics.store(ids, 1, PER_ROUND);
        Atomics.store(ids, 2, 0);
        Atomics.store(ids, 0, round);
        Atomics.notify(ids, 0);
        // While they race, this thread makes handles that may take the entries just freed.
        for (let i = 0; i < PER_ROUND / 2; i++) {
          const v = round * 1000 + i;
          const h = heap.scope(() => {
            const c = heap.alloc(Cell);
            heap.setI32(c, Cell.v, v);
            return heap.persist(c);
          });
          kept.push({ id: h.id, v, get: () => h.get() });
        }
        await until(() => Atomics.load(ids, 2) === 2, `both releasers to finish round ${round}`);
        heap.scope(() => {
          for (const k of kept) expect(heap.getI32(k.get(), Cell.v), `handle ${k.id}`).toBe(k.v);
        });
        for (const id of doomed) expect(() => heap.handle(id).get(), `handle ${id} was released`).toThrow(/released/);
      }
      Atomics.store(ids, 0, -1);
      Atomics.notify(ids, 0);
      expect(heap.verify().errors).toEqual([]);
    });
  }, 120_000);
});
