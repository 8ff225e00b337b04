// The stress report's figures: pauses counted over every collection of the run (not only
// those whose events reached the main thread), and worker incarnations named unambiguously.

import { afterEach, describe, expect, test } from 'vitest';
import { Heap } from '../../src/index.js';
import { PauseCollector, percentiles } from '../../src/stress/pauses.js';
import { runStress } from '../../src/stress/run.js';
import { MUTATOR_URL, spawnMutator, until, withWatchdog, type Mutator } from './harness.js';

let spawned: Mutator[] = [];
afterEach(async () => {
  await Promise.all(spawned.map((m) => m.worker.terminate()));
  spawned = [];
});

describe('pause figures', () => {
  test('the observer records collections whose collector tells no one', async () => {
    const heap = Heap.create({ size: 4 << 20 });
    const pauses = new PauseCollector(heap);
    pauses.start();
    await withWatchdog(30_000, heap, () => spawned.map((m) => m.worker), async () => {
      const m = await spawnMutator(heap);
      spawned.push(m);
      for (let i = 0; i < 5; i++) {
        await m.api.collect(); // the worker has no listener: only the observer sees this pause
        await until(() => pauses.figures().covered === i + 1, `the observer to record collection ${i + 1}`);
      }
      heap.collect(); // the main thread's own listener
      const fig = pauses.figures();
      expect(fig).toMatchObject({ recorded: 6, covered: 6 });
      expect(fig.pauseMs.max).toBeGreaterThan(0);
      expect(fig.pauseMs.max).toBeGreaterThanOrEqual(fig.rendezvousMs.max);
    });
    await pauses.stop();
  });

  test('percentiles are nearest-rank, and empty figures are zeros', () => {
    expect(percentiles(Array.from({ length: 100 }, (_, i) => i + 1))).toEqual({ p50: 50, p99: 99, max: 100 });
    expect(percentiles([7])).toEqual({ p50: 7, p99: 7, max: 7 });
    expect(percentiles([])).toEqual({ p50: 0, p99: 0, max: 0 });
  });

  test('a run without kills reports every pause it made', async () => {
    const report = await runStress({
      workers: 2, durationMs: 2_000, heapBytes: 8 << 20, maxHeapBytes: 64 << 20, churn: 0.7, graphSize: 300,
      replaceEveryMs: 0, seed: 3, workerUrl: MUTATOR_URL, safepointTimeoutMs: 20_000,
    });
    expect(report.failures).toEqual([]);
    expect(report.pauses.recorded).toBe(report.collections.major + report.collections.minor);
    expect(report.pauses.recorded).toBeGreaterThan(1);
    expect(report.pauses.covered).toBe(report.pauses.recorded);
  }, 60_000);
});

describe('worker identities', () => {
  test('each incarnation has its own name, and killed and finished ones never share one', async () => {
    const report = await runStress({
      workers: 2, durationMs: 1_500, heapBytes: 8 << 20, maxHeapBytes: 64 << 20, churn: 0.6, graphSize: 300,
      replaceEveryMs: 60, replacements: 12, seed: 5, workerUrl: MUTATOR_URL, safepointTimeoutMs: 20_000,
    });
    expect(report.failures).toEqual([]);
    const names = report.workers.map((w) => w.name);
    expect(new Set(names).size).toBe(names.length);
    for (const w of report.workers) expect(w.name).toBe(`lane ${w.lane} #${w.incarnation}`);
    expect(report.workers.filter((w) => w.ended === 'killed')).toHaveLength(report.replaced);
    expect(report.workers.filter((w) => w.ended === 'finished')).toHaveLength(2);
  }, 60_000);
});
