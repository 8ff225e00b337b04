// `bibop stress --map/--snapshot`: the stress run hands its heap over once the workers have
// stopped and before the final checks release their graphs, so the map shows what they left.
import { expect, test } from 'vitest';
import { Heap } from '../../src/index.js';
import { runStress } from '../../src/stress/run.js';
import { renderHtmlMap } from '../../src/inspect/html-map.js';
import { MUTATOR_URL } from '../multi/harness.js';

test('the final heap of a stress run: graphs still there, snapshot verifies, map renders', async () => {
  let html = '';
  let snapshot: Uint8Array | undefined;
  let published = 0;
  const report = await runStress({
    workers: 2, durationMs: 1_500, heapBytes: 16 << 20, maxHeapBytes: 128 << 20, churn: 0.5, graphSize: 300,
    replaceEveryMs: 0, seed: 3, workerUrl: MUTATOR_URL, safepointTimeoutMs: 20_000,
    onFinalHeap: (heap) => {
      snapshot = heap.snapshot();
      const map = heap.heapMap();
      published = map.types.filter((t) => t.name.startsWith('stress.')).reduce((n, t) => n + t.count, 0);
      html = renderHtmlMap(map, 'stress');
    },
  });
  expect(report.failures).toEqual([]);
  expect(report.ok).toBe(true);
  expect(published).toBeGreaterThan(0);
  expect(html).toContain('window.bibopMap');
  const view = Heap.fromSnapshot(snapshot!);
  expect(view.verify().errors).toEqual([]);
  expect(view.roots().filter((r) => r.kind === 'handle').length).toBeGreaterThan(0); // the published graphs
  expect('onFinalHeap' in report.options).toBe(false);
}, 60_000);
