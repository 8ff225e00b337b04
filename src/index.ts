// bibop-gc for Node: a garbage-collected heap in one SharedArrayBuffer, shared by every
// worker_thread. Workers are spawned and watched with node:worker_threads.
import './safepoint/platform-node.js';
export * from './public.js';
