// The supervisor: a small thread that notices when a spawned worker dies.
//
// A worker's `exit` event reaches only the thread that created it, and only when that
// thread's event loop runs, which it does not while it waits at a rendezvous or collects.
// So spawn() gives each worker one end of a MessageChannel and the supervisor the other:
// when the worker's thread ends for any reason (normal end, uncaught error, terminate()),
// its port closes and the supervisor, whose event loop never blocks, declares the slot
// dead and wakes the collector and every waiter. The supervisor is not a mutator.
// (Browsers have a supervisor of their own: platform-browser.ts.)
//
// One supervisor serves the whole process. A worker_threads Worker ends with the thread that
// created it, so a supervisor a spawned worker started would die with it, and the workers it
// had spawned would never be declared dead. Instead each spawned worker gets a line (a port)
// to its spawner's supervisor, and sends its own watch requests, and lines for its own
// children, down that line.

import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
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
function serve(from) {
  from.on('message', (m) => {
    if (m.line) { m.line.unref(); serve(m.line); return; }
    const { buffer, slot, gen, port, headerWords } = m;
    let i32 = views.get(buffer);
    if (!i32) { i32 = new Int32Array(buffer, 0, headerWords); views.set(buffer, i32); }
    port.on('close', () => declareDead(i32, slot, gen));
    port.on('message', () => {});
    port.unref();
  });
}
serve(parentPort);
`;

let supervisor: Worker | undefined;
/** This thread's line to the process's supervisor, when a spawner gave it one. */
let line: MessagePort | undefined;

function send(message: unknown, transfer: MessagePort[]): void {
  if (line !== undefined) {
    line.postMessage(message, transfer);
    return;
  }
  if (supervisor === undefined) {
    supervisor = new Worker(SOURCE, { eval: true, name: 'bibop-gc supervisor' });
    supervisor.unref();
  }
  supervisor.postMessage(message, transfer);
}

/** Has the supervisor watch `port`: when its other end's thread ends, the slot is declared dead. */
export function watch(request: WatchRequest, headerWords: number): void {
  send({ ...request, headerWords }, [request.port]);
}

/** A new line to this thread's supervisor, for a worker this thread spawns. */
export function supervisorLine(): MessagePort {
  const { port1, port2 } = new MessageChannel();
  send({ line: port1 }, [port1]);
  return port2;
}

/** Sends this thread's watch requests down `port` (from its spawner) from now on. */
export function useSupervisorLine(port: MessagePort): void {
  port.unref();
  line = port;
}
