// Test worker: bumps slot 0 of the shared Int32Array it is given, wakes any waiter, exits.
import { workerData } from 'node:worker_threads';

const counter = new Int32Array(workerData as SharedArrayBuffer);
Atomics.add(counter, 0, 1);
Atomics.notify(counter, 0);
