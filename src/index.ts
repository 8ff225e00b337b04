// bibop-gc for Node: a garbage-collected heap in one SharedArrayBuffer, shared by every
// worker_thread. Workers are spawned and watched with node:worker_threads.
import './safepoint/platform-node.js';
export * from './public.js';

// heap.spawn() returns a node:worker_threads Worker here (see SpawnedWorkerTypes in api.ts).
import type { Worker } from 'node:worker_threads';
declare module './api.js' {
  interface SpawnedWorkerTypes {
    node: Worker;
  }
}
