// Test worker: attaches to the heap by buffer, allocates a little in a scope and detaches,
// `cycles` times in a row without ever collecting. Posts { done, error }.
import { parentPort, workerData } from 'node:worker_threads';
import { Heap } from '../../src/index.js';

const { buffer, cycles } = workerData as { buffer: SharedArrayBuffer; cycles: number };
let done = 0;
let error: string | undefined;
try {
  for (; done < cycles; done++) {
    const heap = Heap.attach(buffer);
    const Cell = heap.defineStruct('Cell', { v: 'i32' });
    heap.scope(() => heap.setI32(heap.alloc(Cell), Cell.v, done));
    heap.detach();
  }
} catch (e) {
  error = `${(e as Error).name}: ${(e as Error).message}`;
}
parentPort!.postMessage({ done, error });
