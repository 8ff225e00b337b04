// Test worker: attaches to the heap it was spawned for, builds a persisted list of
// workerData.length nodes, takes a snapshot inside a scope (this worker running) and one
// outside (parked), posts { handleId, inside, outside } and detaches.
import { parentPort, workerData } from 'node:worker_threads';
import { Heap } from '../../src/index.js';

const heap = Heap.attach(workerData.heap);
const Link = heap.defineStruct('Link', { next: 'ref', value: 'i32' });
const handleId = heap.scope(() => {
  let head = 0;
  for (let i = (workerData.length as number) - 1; i >= 0; i--) {
    const n = heap.alloc(Link);
    heap.setI32(n, Link.value, i);
    heap.setRef(n, Link.next, head);
    head = n;
  }
  return heap.persist(head).id;
});
const inside = heap.scope(() => {
  heap.alloc(Link); // held by this scope only
  return heap.snapshot();
});
const outside = heap.snapshot();
heap.detach();
parentPort!.postMessage({ handleId, inside, outside });
