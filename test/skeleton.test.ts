// Proves the pipeline: global setup bundled test/workers/echo.ts, and a test can
// start it as a worker_thread that shares memory with the test.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

const ECHO_URL = new URL('../.test-build/test-workers/echo.mjs', import.meta.url);
const WATCHDOG_MS = 10_000;

/** Resolves with the worker's exit code; rejects on a worker error or after `ms` (terminating it). */
function exitWithin(worker: Worker, ms: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`worker did not exit within ${ms} ms`));
    }, ms);
  });
  const exited = new Promise<number>((resolve, reject) => {
    worker.once('exit', resolve);
    worker.once('error', reject);
  });
  return Promise.race([exited, watchdog]).finally(() => clearTimeout(timer));
}

describe('test worker pipeline', () => {
  it('a bundled worker updates a SharedArrayBuffer the test can see', async () => {
    const sab = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
    const counter = new Int32Array(sab);
    const worker = new Worker(ECHO_URL, { workerData: sab });

    expect(await exitWithin(worker, WATCHDOG_MS)).toBe(0);
    expect(Atomics.load(counter, 0)).toBe(1);
  });
});
