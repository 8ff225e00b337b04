// bibop-gc for browsers: the same heap, shared by module Web Workers. Needs a
// cross-origin-isolated page (COOP same-origin, COEP require-corp) for SharedArrayBuffer.
import './safepoint/platform-browser.js';
export * from './public.js';
