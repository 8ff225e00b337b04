// Test worker: releases persistent handles another thread made, racing a second releaser.
// workerData: { heap, ids: SharedArrayBuffer (Int32Array: [round, count, done, ...ids]) }
// Each round it releases every id (an id already released throws, which is counted), then
// bumps `done` and waits for the next round; round -1 ends it.
import { workerData } from 'node:worker_threads';
import { Heap, HeapUsageError } from '../../src/index.js';

const heap = Heap.attach(workerData.heap);
const ids = new Int32Array(workerData.ids as SharedArrayBuffer);
let seen = 0;
for (;;) {
  while (Atomics.load(ids, 0) === seen) Atomics.wait(ids, 0, seen, 1000);
  seen = Atomics.load(ids, 0);
  if (seen < 0) break;
  const count = Atomics.load(ids, 1);
  heap.scope(() => {
    for (let i = 0; i < count; i++) {
      try {
        heap.handle(Atomics.load(ids, 3 + i)).release();
      } catch (e) {
        if (!(e instanceof HeapUsageError)) throw e;
      }
    }
  });
  Atomics.add(ids, 2, 1);
  Atomics.notify(ids, 2);
}
heap.detach();
