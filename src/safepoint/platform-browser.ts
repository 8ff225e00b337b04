// Browsers: workers are module Web Workers. `spawn` sends the heap as the worker's first
// message (`{ heap, workerData }`); the worker calls `Heap.attach(event.data.heap)`. A Web
// Worker has no exit event, so its slot is declared dead when it is terminated through the
// Worker `spawn` returned; a worker that ends itself (`self.close()`) calls `heap.detach()`
// first.

import { setPlatform, type HeapInit, type SpawnRequest } from './platform.js';

let nextThreadId = 1;
const thisThread = typeof (globalThis as { document?: unknown }).document === 'undefined' ? nextThreadId++ : 0;

setPlatform({
  name: 'browser',
  threadId: () => thisThread,
  spawn(r: SpawnRequest): Worker {
    const options = r.options as WorkerOptions & { workerData?: unknown };
    const { workerData, ...rest } = options;
    const worker = new Worker(r.url, { type: 'module', ...rest });
    const init: HeapInit = { buffer: r.buffer, slot: r.slot, gen: r.gen };
    worker.postMessage({ heap: init, workerData });
    const terminate = worker.terminate.bind(worker);
    worker.terminate = () => {
      terminate();
      r.declareDead();
    };
    return worker;
  },
  adopt(): void {},
});
