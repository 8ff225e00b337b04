// bibop-gc for browsers: the same heap, shared by module Web Workers. Needs a
// cross-origin-isolated page (COOP same-origin, COEP require-corp) for SharedArrayBuffer.
import './safepoint/platform-browser.js';
export * from './public.js';

// heap.spawn() returns a Web Worker here (see SpawnedWorkerTypes in api.ts).
declare module './api.js' {
  interface SpawnedWorkerTypes {
    browser: Worker;
  }
}
