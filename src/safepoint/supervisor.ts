// The supervisor: a small thread that notices when a spawned worker dies.
//
// A worker's `exit` event reaches only the thread that created it, and only when that
// thread's event loop runs, which it does not while it waits at a rendezvous or collects.
// So spawn() gives each worker one end of a MessageChannel and the supervisor the other:
// when the worker's thread ends for any reason (normal end, uncaught error, terminate()),
// its port closes and the supervisor, whose event loop never blocks, declares the slot
// dead and wakes the collector and every waiter. The supervisor is not a mutator.
// (Browsers have a supervisor of their own: platform-browser.ts.)

import { Worker, type MessagePort } from 'node:worker_threads';
import { DECLARE_DEAD_SOURCE } from './supervisor-source.js';

export interface WatchRequest {
  buffer: SharedArrayBuffer;
  slot: number;
  gen: number;
  port: MessagePort;
}

// The supervisor's code, self-contained so that it runs from any bundle.
const SOURCE = `
const { parentPort } = require('node:worker_threads');
const views = new Map();
${DECLARE_DEAD_SOURCE}
parentPort.on('message', ({ buffer, slot, gen, port, headerWords }) => {
  let i32 = views.get(buffer);
  if (!i32) { i32 = new Int32Array(buffer, 0, headerWords); views.set(buffer, i32); }
  port.on('close', () => declareDead(i32, slot, gen));
  port.on('message', () => {});
  port.unref();
});
`;

let supervisor: Worker | undefined;

/** Has the supervisor watch `port`: when its other end's thread ends, the slot is declared dead. */
export function watch(request: WatchRequest, headerWords: number): void {
  if (supervisor === undefined) {
    supervisor = new Worker(SOURCE, { eval: true, name: 'bibop-gc supervisor' });
    supervisor.unref();
  }
  supervisor.postMessage({ ...request, headerWords }, [request.port]);
}
