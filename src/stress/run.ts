// `bibop stress`: several workers build, share, check and drop object graphs on one heap
// while workers are killed at random points and replaced.
//
// The run, step by step:
//   1. Create a heap that verifies itself inside every collection pause.
//   2. Spawn one mutator worker per lane; each runs the stress loop (workers/mutator.ts)
//      until the deadline: churn garbage, build and publish graphs, check other lanes'
//      graphs, mutate its own, collect now and then.
//   3. Every `replaceEveryMs`, terminate a random worker wherever it is (mid-allocation,
//      mid-collection, holding the heap lock) and spawn a replacement on its lane, which
//      first checks the graphs its dead predecessor published (they must be intact). At
//      the deadline (and once `replacements` workers have been replaced) the main thread
//      raises the stop flag and every loop ends.
//   4. At the end, on the main thread: check every published graph, release them all,
//      collect, verify, and report.

import type { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { Heap, type GcEvent } from '../index.js';
import { checkGraph, defineGraphTypes, rng } from './graphs.js';
import {
  C_STOP, LANE_ENTRIES, PROGRESS_WORDS, entryId, P_ADOPTED, P_ALLOC_KOBJ, P_BUILT, P_CHECKED, P_COLLECTS, P_FAILED,
  type MutatorApi, type StressResult,
} from './protocol.js';

export interface StressOptions {
  workers: number;
  durationMs: number;
  heapBytes: number;
  maxHeapBytes: number;
  /** 0..1: share of iterations that allocate garbage. */
  churn: number;
  graphSize: number;
  /** Kill and replace a random worker this often (0: never). */
  replaceEveryMs: number;
  /** Go on past the duration until at least this many workers have been replaced. */
  replacements?: number;
  seed: number;
  workerUrl: URL;
  /** Called about five times a second with the progress so far. */
  onProgress?: (p: StressProgress) => void;
  safepointTimeoutMs: number;
}

export interface StressProgress {
  elapsedMs: number;
  durationMs: number;
  allocatedObjects: number;
  graphsBuilt: number;
  graphsChecked: number;
  failures: number;
  collections: number;
  replaced: number;
}

export interface StressReport {
  options: Omit<StressOptions, 'onProgress' | 'workerUrl'>;
  elapsedMs: number;
  workers: { lane: number; workerId: number; objectsPerSecond: number; allocatedObjects: number; ended: 'finished' | 'killed' }[];
  replaced: number;
  adoptedGraphs: number;
  graphsBuilt: number;
  graphsChecked: number;
  collections: { major: number; minor: number; byWorkers: number };
  pauseMs: { p50: number; p99: number; max: number };
  rendezvousMs: { p50: number; p99: number; max: number; samples: number };
  heap: { arenaBytes: number; maxBytes: number; peakOccupancy: number; liveBytesAtEnd: number; orphanPagesSeen: number };
  verify: { ok: boolean; errors: string[]; checkedObjects: number };
  failures: string[];
  ok: boolean;
}

interface Lane {
  index: number;
  worker: Worker;
  api: Comlink.Remote<MutatorApi>;
  workerId: number;
  outcome: Promise<StressResult | 'killed'>;
  startedAt: number;
}

export async function runStress(o: StressOptions): Promise<StressReport> {
  const heap = Heap.create({
    size: o.heapBytes, maxSize: o.maxHeapBytes, verifyEachGC: true, safepointTimeoutMs: o.safepointTimeoutMs,
  });
  const exchange = new SharedArrayBuffer(8 * o.workers * LANE_ENTRIES);
  const progress = new SharedArrayBuffer(4 * PROGRESS_WORDS * o.workers);
  const control = new SharedArrayBuffer(4);
  const counters = new Int32Array(progress);
  const random = rng(o.seed);
  const failures: string[] = [];
  const events: GcEvent[] = [];
  const finished: { lane: number; result: StressResult }[] = [];
  const killed: { lane: number; workerId: number; ms: number; kobj: number }[] = [];
  const start = performance.now();
  const deadline = start + o.durationMs;
  let replaced = 0;
  let peakOccupancy = 0;
  let orphanPagesSeen = 0;

  const spawnLane = async (index: number): Promise<Lane> => {
    const worker = heap.spawn(o.workerUrl, { name: `bibop-mutator-${index}` });
    const api = Comlink.wrap<MutatorApi>(nodeEndpoint(worker));
    const exited = new Promise<'killed'>((resolve) => worker.once('exit', () => resolve('killed')));
    worker.on('error', (e) => failures.push(`lane ${index}: worker error: ${(e as Error).stack ?? String(e)}`));
    const workerId = await Promise.race([api.workerId(), exited.then(() => -1)]);
    const outcome = Promise.race([
      api.stress({
        control, seed: (random() * 2 ** 31) | 0, exchange, lane: index, lanes: o.workers, progress,
        churn: o.churn, graphSize: o.graphSize, collectRate: 0.0002,
      }),
      exited,
    ]);
    return { index, worker, api, workerId, outcome, startedAt: performance.now() };
  };

  const lanes = await Promise.all(Array.from({ length: o.workers }, (_, i) => spawnLane(i)));
  const laneKobj = new Int32Array(o.workers);

  const sample = (): StressProgress => {
    let alloc = 0, built = 0, checked = 0, failed = 0, collects = 0;
    for (let l = 0; l < o.workers; l++) {
      const b = l * PROGRESS_WORDS;
      alloc += Atomics.load(counters, b + P_ALLOC_KOBJ);
      built += Atomics.load(counters, b + P_BUILT);
      checked += Atomics.load(counters, b + P_CHECKED);
      failed += Atomics.load(counters, b + P_FAILED);
      collects += Atomics.load(counters, b + P_COLLECTS);
    }
    const s = heap.stats();
    peakOccupancy = Math.max(peakOccupancy, s.allocatedBytes / s.arenaBytes);
    orphanPagesSeen = Math.max(orphanPagesSeen, s.pages.orphan);
    return {
      elapsedMs: performance.now() - start, durationMs: o.durationMs, allocatedObjects: alloc * 1000,
      graphsBuilt: built, graphsChecked: checked, failures: failed, collections: s.collections.major + s.collections.minor, replaced,
    };
  };
  const ticker = setInterval(() => o.onProgress?.(sample()), 200);

  const settle = (lane: Lane): void => {
    void lane.outcome.then((r) => {
      if (r === 'killed') return;
      finished.push({ lane: lane.index, result: r });
      events.push(...r.events);
      failures.push(...r.failures);
    }, (e: unknown) => failures.push(`lane ${lane.index}: ${(e as Error).stack ?? String(e)}`));
  };
  lanes.forEach(settle);

  // Kill and replace workers until the deadline (and the minimum count of replacements).
  const minReplacements = o.replaceEveryMs > 0 ? (o.replacements ?? 0) : 0;
  const more = (): boolean => o.replaceEveryMs > 0 && (performance.now() + o.replaceEveryMs < deadline || replaced < minReplacements);
  while (more()) {
    await new Promise((r) => setTimeout(r, o.replaceEveryMs * (0.5 + random())));
    const victim = lanes[(random() * o.workers) | 0]!;
    const kobjBefore = Atomics.load(counters, victim.index * PROGRESS_WORDS + P_ALLOC_KOBJ) - laneKobj[victim.index]!;
    await victim.worker.terminate();
    killed.push({ lane: victim.index, workerId: victim.workerId, ms: performance.now() - victim.startedAt, kobj: kobjBefore });
    laneKobj[victim.index] = Atomics.load(counters, victim.index * PROGRESS_WORDS + P_ALLOC_KOBJ);
    const next = await spawnLane(victim.index);
    lanes[victim.index] = next;
    settle(next);
    replaced++;
  }

  const left = deadline - performance.now();
  if (left > 0) await new Promise((r) => setTimeout(r, left));
  Atomics.store(new Int32Array(control), C_STOP, 1);
  await Promise.all(lanes.map((l) => l.outcome.catch(() => 'killed')));
  clearInterval(ticker);
  const last = sample();
  o.onProgress?.(last);

  // Final checks on the main thread.
  const t = defineGraphTypes(heap);
  const ids = Array.from(new Float64Array(exchange), entryId).filter((id) => id >= 0);
  heap.scope(() => {
    for (const id of ids) {
      let root: number;
      try {
        root = heap.root(heap.handle(id).get());
      } catch (e) {
        failures.push(`published handle ${id} is gone: ${(e as Error).message}`);
        continue;
      }
      if (checkGraph(heap, t, root) === false) failures.push(`published graph ${id} fails its checksum at the end`);
    }
  });
  for (const id of ids) {
    try { heap.handle(id).release(); } catch { /* released by a worker that died mid-swap */ }
  }
  for (const l of lanes) await l.worker.terminate();
  const final = heap.collect();
  events.push(final);
  const verify = heap.verify();
  const stats = heap.stats();
  if (last.failures > 0 && failures.length === 0) failures.push(`${last.failures} graph checks failed`);

  const rendezvous = events.map((e) => e.phases.rendezvousMs).sort((a, b) => a - b);
  const pct = (xs: number[], q: number): number => (xs.length === 0 ? 0 : xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!);
  const workersReport: StressReport['workers'] = [
    ...finished.map(({ lane, result }) => ({
      lane, workerId: result.workerId, allocatedObjects: result.allocatedObjects,
      objectsPerSecond: result.allocatedObjects / (result.elapsedMs / 1000), ended: 'finished' as const,
    })),
    ...killed.map((k) => ({
      lane: k.lane, workerId: k.workerId, allocatedObjects: k.kobj * 1000,
      objectsPerSecond: (k.kobj * 1000) / Math.max(0.001, k.ms / 1000), ended: 'killed' as const,
    })),
  ].sort((a, b) => a.lane - b.lane);
  const byWorkers = Array.from({ length: o.workers }, (_, l) => Atomics.load(counters, l * PROGRESS_WORDS + P_COLLECTS)).reduce((a, b) => a + b, 0);
  const adopted = Array.from({ length: o.workers }, (_, l) => Atomics.load(counters, l * PROGRESS_WORDS + P_ADOPTED)).reduce((a, b) => a + b, 0);
  const { onProgress: _p, workerUrl: _w, ...plain } = o;
  return {
    options: plain,
    elapsedMs: performance.now() - start,
    workers: workersReport,
    replaced,
    adoptedGraphs: adopted,
    graphsBuilt: last.graphsBuilt,
    graphsChecked: last.graphsChecked,
    collections: { ...stats.collections, byWorkers },
    pauseMs: { p50: stats.pauseMs.p50, p99: stats.pauseMs.p99, max: stats.pauseMs.max },
    rendezvousMs: { p50: pct(rendezvous, 0.5), p99: pct(rendezvous, 0.99), max: rendezvous.at(-1) ?? 0, samples: rendezvous.length },
    heap: {
      arenaBytes: stats.arenaBytes, maxBytes: stats.maxBytes, peakOccupancy,
      liveBytesAtEnd: stats.allocatedBytes, orphanPagesSeen,
    },
    verify: { ok: verify.ok, errors: verify.errors, checkedObjects: verify.checkedObjects },
    failures,
    ok: failures.length === 0 && verify.ok,
  };
}
