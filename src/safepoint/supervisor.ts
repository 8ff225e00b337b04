// The supervisor: a small thread that notices when a spawned worker dies.
//
// A worker's `exit` event reaches only the thread that created it, and only when that
// thread's event loop runs, which it does not while it waits at a rendezvous or collects.
// So spawn() gives each worker one end of a MessageChannel and the supervisor the other:
// when the worker's thread ends for any reason (normal end, uncaught error, terminate()),
// its port closes and the supervisor, whose event loop never blocks, declares the slot
// dead and wakes the collector and every waiter. The supervisor is not a mutator.

import { Worker, type MessagePort } from 'node:worker_threads';
import { G_ARRIVALS, G_EPOCH, W_GEN, W_STATE, WS_DEAD, WS_FREE, workerWord } from '../heap/layout.js';

export interface WatchRequest {
  buffer: SharedArrayBuffer;
  slot: number;
  gen: number;
  port: MessagePort;
}

// The supervisor's code, self-contained so that it runs from any bundle. `declareDead`
// mirrors registry.ts.
const SOURCE = `
const { parentPort } = require('node:worker_threads');
const views = new Map();
function declareDead(i32, slot, gen) {
  const w = ${'${WORKER_TABLE}'} + slot * ${'${WORKER_WORDS}'};
  for (;;) {
    if ((Atomics.load(i32, w + ${W_GEN}) & 0xffffff) !== (gen & 0xffffff)) return;
    const state = Atomics.load(i32, w + ${W_STATE});
    if (state === ${WS_FREE} || state === ${WS_DEAD}) return;
    if (Atomics.compareExchange(i32, w + ${W_STATE}, state, ${WS_DEAD}) === state) break;
  }
  Atomics.add(i32, ${G_ARRIVALS}, 1);
  Atomics.notify(i32, ${G_ARRIVALS});
  Atomics.notify(i32, ${G_EPOCH});
}
parentPort.on('message', ({ buffer, slot, gen, port, headerWords }) => {
  let i32 = views.get(buffer);
  if (!i32) { i32 = new Int32Array(buffer, 0, headerWords); views.set(buffer, i32); }
  port.on('close', () => declareDead(i32, slot, gen));
  port.on('message', () => {});
  port.unref();
});
`;

let supervisor: Worker | undefined;

function source(): string {
  const w0 = workerWord(0);
  const w1 = workerWord(1);
  return SOURCE.replace('${WORKER_TABLE}', String(w0)).replace('${WORKER_WORDS}', String(w1 - w0));
}

/** Has the supervisor watch `port`: when its other end's thread ends, the slot is declared dead. */
export function watch(request: WatchRequest, headerWords: number): void {
  if (supervisor === undefined) {
    supervisor = new Worker(source(), { eval: true, name: 'bibop-gc supervisor' });
    supervisor.unref();
  }
  supervisor.postMessage({ ...request, headerWords }, [request.port]);
}
