// Browsers: workers are module Web Workers. `spawn` sends the heap as the worker's first
// message (`{ heap, workerData }`); the worker calls `Heap.attach(event.data.heap)`.
//
// A Web Worker has no exit event, and `terminate()` returns while the worker may still run
// for tens of milliseconds (seen in Chromium: 25–55 ms, allocating all along), so a slot
// cannot be declared dead when terminate() returns: the collector would free the memory the
// worker is still writing. Instead `terminate()` asks a supervisor (a small Web Worker whose
// event loop never blocks, unlike a page that may be spinning in a collection) to declare
// the slot dead once the worker has stopped, which it judges by two signs together:
//   1. the worker's Web Lock, taken inside `attach` before it publishes itself as parked,
//      is granted to the supervisor (the worker's agent is gone, or it never attached; the
//      supervisor then keeps the lock, so it never will);
//   2. the worker's control block (state, root-stack top, scope counter, TLAB cursors)
//      has not changed for QUIET_MS — Chromium releases the lock of a terminated worker
//      before its script has stopped, and a worker still running keeps moving them.
// A worker that ends itself (`self.close()`) calls `heap.detach()` first.

import { setPlatform, type HeapInit, type SpawnRequest } from './platform.js';
import { DECLARE_DEAD_SOURCE } from './supervisor-source.js';
import { NUM_ALLOC_CLASSES, TLAB_WORDS, W_TLAB, workerWord } from '../heap/layout.js';

interface BrowserInit extends HeapInit {
  lock?: string;
}

const QUIET_MS = 250;
const POLL_MS = 25;

const SUPERVISOR_SOURCE = `
${DECLARE_DEAD_SOURCE}
function fingerprint(i32, slot) {
  const w = ${workerWord(0)} + slot * ${workerWord(1) - workerWord(0)};
  let h = 0;
  for (let i = 0; i < ${W_TLAB + NUM_ALLOC_CLASSES * TLAB_WORDS}; i++) h = (Math.imul(h, 31) + Atomics.load(i32, w + i)) | 0;
  return h;
}
self.onmessage = ({ data }) => {
  const { buffer, slot, gen, lock, headerWords } = data;
  const i32 = new Int32Array(buffer, 0, headerWords);
  navigator.locks.request(lock, async () => {
    let last = fingerprint(i32, slot);
    let quiet = 0;
    while (quiet < ${QUIET_MS}) {
      await new Promise((r) => setTimeout(r, ${POLL_MS}));
      const now = fingerprint(i32, slot);
      quiet = now === last ? quiet + ${POLL_MS} : 0;
      last = now;
    }
    declareDead(i32, slot, gen);
    return new Promise(() => {});
  });
};
`;

let supervisor: Worker | undefined;
// Lock names are unique per spawn: slots and generation stamps repeat across heaps, and
// the supervisor keeps a dead worker's lock for good.
const pageId = Math.random().toString(36).slice(2);
let spawned = 0;
/** 0 on the page; a worker takes 1000 + its slot when it attaches. */
let threadId = 0;

function watchTermination(r: SpawnRequest, lock: string): void {
  if (typeof navigator === 'undefined' || navigator.locks === undefined) {
    r.declareDead(); // no Web Locks: the best this platform can tell
    return;
  }
  supervisor ??= new Worker(URL.createObjectURL(new Blob([SUPERVISOR_SOURCE], { type: 'text/javascript' })), { name: 'bibop-gc supervisor' });
  supervisor.postMessage({ buffer: r.buffer, slot: r.slot, gen: r.gen, lock, headerWords: r.headerWords });
}

setPlatform({
  name: 'browser',
  threadId: () => threadId,
  spawn(r: SpawnRequest): Worker {
    const options = r.options as WorkerOptions & { workerData?: unknown };
    const { workerData, ...rest } = options;
    const worker = new Worker(r.url, { type: 'module', ...rest });
    const lock = `bibop-gc/${pageId}/${++spawned}`;
    const init: BrowserInit = { buffer: r.buffer, slot: r.slot, gen: r.gen, lock };
    worker.postMessage({ heap: init, workerData });
    const terminate = worker.terminate.bind(worker);
    let watched = false;
    worker.terminate = () => {
      terminate();
      if (!watched) watchTermination(r, lock);
      watched = true;
    };
    return worker;
  },
  adopt(init: HeapInit): void {
    const lock = (init as BrowserInit).lock;
    if (lock !== undefined && typeof navigator !== 'undefined' && navigator.locks !== undefined) {
      void navigator.locks.request(lock, () => new Promise<never>(() => {}));
    }
    threadId = 1000 + init.slot;
  },
});
