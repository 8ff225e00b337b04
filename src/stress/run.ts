// `bibop stress`: several workers build, share, check and drop object graphs on one heap
// while workers are killed at random points and replaced.
//
// The run, step by step:
//   1. Create a heap that verifies itself inside every collection pause, and start
//      recording every pause's figures (pauses.ts) and the hang watchdog (watchdog.ts).
//   2. Spawn one mutator worker per lane; each runs the stress loop (workers/mutator.ts)
//      until the stop flag: churn garbage, build and publish graphs, check other lanes'
//      graphs, mutate its own, collect now and then.
//   3. Kill workers wherever they are (mid-allocation, mid-collection, holding the heap
//      lock) and spawn a replacement on the lane, which first checks the graphs its dead
//      predecessor published. Plain runs kill one every `replaceEveryMs`; fault runs (below)
//      every 20–200 ms. At the deadline (and once `replacements` workers have been
//      replaced) the main thread raises the stop flag and every loop ends.
//   4. At the end, on the main thread: check every published graph, release them all,
//      collect, verify, and report. Fault runs audit the heap's return to its baseline.
//
// Fault runs (`faults`) add, on a FIXED-size arena (so a page leak shows as a false
// out-of-memory): large, finalizable and weakly held objects in every lane's mix (counted
// in a ledger, ledger.ts); a collector lane that loops collect() and is killed while it
// holds a pause (G_GC_OWNER names it); an attach/detach churner thread; verify() from the
// main thread right after some kills; and the end-of-run audit (audit.ts).
//
// Each worker incarnation is named `lane L #N` (the N-th worker to run lane L) and keeps
// the slot it had, because slots are reused across lanes.

import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { Heap } from '../index.js';
import { G_GC_OWNER, G_GC_STARTED, MAIN_SLOT, MAX_WORKERS, W_STATE, WS_DEAD, WS_FREE, workerWord } from '../heap/layout.js';
import { checkGraph, defineGraphTypes, rng } from './graphs.js';
import {
  C_STOP, LANE_ENTRIES, PROGRESS_WORDS, entryId, P_ADOPTED, P_ALLOC_KOBJ, P_BUILT, P_CHECKED, P_COLLECTS, P_FAILED,
  type ChurnerResult, type CollectorResult, type MutatorApi, type StressResult,
} from './protocol.js';
import { PauseCollector, type PauseFigures } from './pauses.js';
import {
  L_ATTACH_CYCLES, L_COLLECTOR_COLLECTS, L_IDS_EXHAUSTED, L_LARGE, L_WEAK_ALIVE, L_WEAK_CLEARED, Ledger,
  T_HANDLE_OP, T_IN_FINALIZER, createLedger, threadIndex,
} from './ledger.js';
import { IN_FINALIZER_UNKNOWN, countFinalizers } from './faults.js';
import { auditBaseline, type AuditReport } from './audit.js';
import { HangWatchdog, pollUntil, withDeadline } from './watchdog.js';

export interface StressOptions {
  workers: number;
  durationMs: number;
  heapBytes: number;
  /** Plain runs: the arena may grow to this. Fault runs: must equal heapBytes. */
  maxHeapBytes: number;
  /** 0..1: share of iterations that allocate garbage. */
  churn: number;
  graphSize: number;
  /** Plain runs: kill and replace a random worker this often (0: never). */
  replaceEveryMs: number;
  /** Go on past the duration until at least this many workers have been replaced. */
  replacements?: number;
  seed: number;
  workerUrl: URL;
  /** Called about five times a second with the progress so far. */
  onProgress?: (p: StressProgress) => void;
  safepointTimeoutMs: number;
  /** Fault injection: see the top of this file. */
  faults?: FaultOptions;
  /** Called with the heap once it exists (tests use it to describe a hang). */
  onHeap?: (heap: Heap) => void;
  /** Called once the workers have stopped, before the final checks release their graphs. */
  onFinalHeap?: (heap: Heap) => void;
}

export interface FaultOptions {
  /** The attach/detach churner's entry (workers/churner.ts, built). */
  churnerUrl: URL;
  /** Kills come at random intervals in [killMinMs, killMaxMs]. Default 20–200. */
  killMinMs?: number;
  killMaxMs?: number;
  /** Share of kills aimed at the collector lane while it holds a pause. Default 0.25. */
  collectorKillShare?: number;
  /** The main thread calls verify() right after every n-th kill. Default 5. */
  verifyEveryKills?: number;
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

export interface WorkerRecord {
  /** `lane 2 #3`, or `collector #1` in fault runs. */
  name: string;
  role: 'mutator' | 'collector';
  lane: number;
  incarnation: number;
  slot: number;
  ended: 'finished' | 'killed' | 'failed' | 'never started';
  lifetimeMs: number;
  allocatedObjects: number;
  objectsPerSecond: number;
}

export interface FaultReport {
  kills: { total: number; mutators: number; collectorAttempts: number; collectorMidPause: number; duringPublish: number; insideFinalizer: number };
  /** Collections that began marking and never recorded their end: their collector was killed. */
  collectionsCutShort: number;
  collectorCollections: number;
  attachDetachCycles: number;
  largeObjects: number;
  weakRefs: { clearedWhenDead: number; intactWhileLive: number };
  verifies: { inPause: number; afterKills: number; afterKillsFailed: number };
  finalizableIdsExhausted: number;
  audit: AuditReport;
}

export interface StressReport {
  options: Omit<StressOptions, 'onProgress' | 'onHeap' | 'onFinalHeap' | 'workerUrl' | 'faults'> & { faults: boolean };
  elapsedMs: number;
  workers: WorkerRecord[];
  replaced: number;
  adoptedGraphs: number;
  graphsBuilt: number;
  graphsChecked: number;
  collections: { major: number; minor: number; byWorkers: number };
  /** Over every collection pause of the run (`covered` of `recorded`). */
  pauses: PauseFigures;
  heap: { arenaBytes: number; maxBytes: number; peakOccupancy: number; liveBytesAtEnd: number; orphanPagesSeen: number };
  verify: { ok: boolean; errors: string[]; checkedObjects: number };
  faults?: FaultReport;
  failures: string[];
  ok: boolean;
}

interface Incarnation {
  record: WorkerRecord;
  worker: Worker;
  api: Comlink.Remote<MutatorApi>;
  outcome: Promise<StressResult | CollectorResult | 'killed'>;
  startedAt: number;
  kobjAtStart: number;
  killed: boolean;
  /** Its outcome has settled: it finished, failed or exited. */
  done: boolean;
}

const PHASES = ['starting workers', 'running', 'killing a worker', 'verifying after a kill', 'stopping workers', 'checking graphs', 'auditing the heap'] as const;
type Phase = (typeof PHASES)[number];

export async function runStress(o: StressOptions): Promise<StressReport> {
  const f = o.faults;
  if (f !== undefined && o.heapBytes !== o.maxHeapBytes) throw new Error('runStress: a fault run needs a fixed-size arena (heapBytes === maxHeapBytes)');
  const heap = Heap.create({
    size: o.heapBytes, maxSize: o.maxHeapBytes, verifyEachGC: true, safepointTimeoutMs: o.safepointTimeoutMs,
  });
  o.onHeap?.(heap);
  const exchange = new SharedArrayBuffer(8 * o.workers * LANE_ENTRIES);
  const progress = new SharedArrayBuffer(4 * PROGRESS_WORDS * o.workers);
  const control = new SharedArrayBuffer(4);
  const counters = new Int32Array(progress);
  const heapWords = new Int32Array(heap.buffer, 0, workerWord(MAX_WORKERS));
  const random = rng(o.seed);
  const failures: string[] = [];
  const records: WorkerRecord[] = [];
  const pauses = new PauseCollector(heap);
  pauses.start();
  const hangMs = 2 * o.safepointTimeoutMs + 20_000;
  const watchdog = new HangWatchdog<Phase>(heap.buffer, PHASES, hangMs);
  // Whatever happens, no thread of the run outlives it: a watchdog left behind would end the
  // process once the heartbeat stops.
  let ticker: NodeJS.Timeout | undefined;
  let churner: Churner | undefined;
  const spawned: Worker[] = [];
  try {
    let phase: Phase = 'starting workers';
    const enter = (p: Phase): void => {
      phase = p;
      watchdog.beat(p);
    };
    const ledgerBuffer = f !== undefined ? createLedger() : undefined;
    const ledger = ledgerBuffer !== undefined ? new Ledger(ledgerBuffer) : undefined;
    const graphTypes = defineGraphTypes(heap);
    if (ledger !== undefined) countFinalizers(heap, graphTypes, ledger, threadIndex(o.workers, 'main'));
    const start = performance.now();
    const deadline = start + o.durationMs;
    const spawnMs = o.safepointTimeoutMs + 10_000;
    let replaced = 0;
    let peakOccupancy = 0;
    let orphanPagesSeen = 0;
    const incarnations = new Map<string, number>();
    const kills = { total: 0, mutators: 0, collectorAttempts: 0, collectorMidPause: 0, duringPublish: 0, insideFinalizer: 0 };
    const lostInCallback = new Set<number>();
    let lostInCallbackUnknown = 0;
    const verifies = { afterKills: 0, afterKillsFailed: 0 };

    const spawn = async (role: 'mutator' | 'collector', lane: number): Promise<Incarnation | undefined> => {
      const key = `${role}${lane}`;
      const n = incarnations.get(key) ?? 0;
      incarnations.set(key, n + 1);
      const name = role === 'mutator' ? `lane ${lane} #${n}` : `collector #${n}`;
      const record: WorkerRecord = { name, role, lane, incarnation: n, slot: -1, ended: 'never started', lifetimeMs: 0, allocatedObjects: 0, objectsPerSecond: 0 };
      records.push(record);
      let worker: Worker;
      try {
        worker = heap.spawn(o.workerUrl, { name: `bibop-${role}-${lane}-${n}` });
        spawned.push(worker);
      } catch (e) {
        failures.push(`${name}: could not be spawned: ${(e as Error).message}`);
        return undefined;
      }
      const api = Comlink.wrap<MutatorApi>(nodeEndpoint(worker));
      const exited = new Promise<'killed'>((resolve) => worker.once('exit', () => resolve('killed')));
      worker.on('error', (e) => failures.push(`${name}: worker error: ${(e as Error).stack ?? String(e)}`));
      try {
        record.slot = await withDeadline(Promise.race([api.workerId(), exited.then(() => -1)]), spawnMs, `${name} to start`, heap.buffer);
      } catch (e) {
        failures.push(`${name}: ${(e as Error).message}`);
        void worker.terminate();
        return undefined;
      }
      if (record.slot < 0) {
        failures.push(`${name}: exited before it attached`);
        return undefined;
      }
      const kobjAtStart = role === 'mutator' ? Atomics.load(counters, lane * PROGRESS_WORDS + P_ALLOC_KOBJ) : 0;
      const work = role === 'mutator'
        ? api.stress({
          control, seed: (random() * 2 ** 31) | 0, exchange, lane, lanes: o.workers, progress,
          churn: o.churn, graphSize: o.graphSize, collectRate: 0.0002, pauseLog: pauses.log,
          ...(ledgerBuffer !== undefined ? { faults: { ledger: ledgerBuffer, thread: lane } } : {}),
        })
        : api.collector({ control, ledger: ledgerBuffer!, thread: threadIndex(o.workers, 'collector'), pauseLog: pauses.log });
      const inc: Incarnation = { record, worker, api, outcome: Promise.race([work, exited]), startedAt: performance.now(), kobjAtStart, killed: false, done: false };
      record.ended = 'finished';
      void inc.outcome.then((r) => {
        inc.done = true;
        inc.record.lifetimeMs = performance.now() - inc.startedAt;
        if (r === 'killed') {
          if (!inc.killed) failures.push(`${name} (slot ${record.slot}) exited on its own`);
          inc.record.ended = inc.killed ? 'killed' : 'failed';
          return;
        }
        failures.push(...r.failures);
        if (r.failures.length > 0) inc.record.ended = 'failed';
        if ('allocatedObjects' in r) {
          inc.record.allocatedObjects = r.allocatedObjects;
          inc.record.objectsPerSecond = r.allocatedObjects / (r.elapsedMs / 1000);
        }
      }, (e: unknown) => {
        inc.done = true;
        inc.record.ended = 'failed';
        failures.push(`${name} (slot ${record.slot}): ${(e as Error).stack ?? String(e)}`);
      });
      return inc;
    };

    const lanes: (Incarnation | undefined)[] = await Promise.all(Array.from({ length: o.workers }, (_, i) => spawn('mutator', i)));
    let collector = f !== undefined ? await spawn('collector', 0) : undefined;
    // Replacements start in the background, so that kills keep their pace; a kill aimed at a
    // lane whose replacement is still starting waits for it first.
    const starting: Promise<unknown>[] = lanes.map(() => Promise.resolve());
    let collectorStarting: Promise<unknown> = Promise.resolve();
    churner = f !== undefined ? startChurner(heap, f.churnerUrl, control, ledgerBuffer!, threadIndex(o.workers, 'churner'), (random() * 2 ** 31) | 0, pauses.log) : undefined;
    enter('running');

    const sample = (): StressProgress => {
      let alloc = 0, built = 0, checked = 0, failed = 0;
      for (let l = 0; l < o.workers; l++) {
        const b = l * PROGRESS_WORDS;
        alloc += Atomics.load(counters, b + P_ALLOC_KOBJ);
        built += Atomics.load(counters, b + P_BUILT);
        checked += Atomics.load(counters, b + P_CHECKED);
        failed += Atomics.load(counters, b + P_FAILED);
      }
      const s = heap.stats();
      peakOccupancy = Math.max(peakOccupancy, s.allocatedBytes / s.arenaBytes);
      orphanPagesSeen = Math.max(orphanPagesSeen, s.pages.orphan);
      return {
        elapsedMs: performance.now() - start, durationMs: o.durationMs, allocatedObjects: alloc * 1000,
        graphsBuilt: built, graphsChecked: checked, failures: failed + failures.length, collections: s.collections.major + s.collections.minor,
        replaced,
      };
    };
    ticker = setInterval(() => {
      watchdog.beat(phase);
      pauses.drain();
      o.onProgress?.(sample());
    }, 200);

    /** A killed mutator's ledger marks: what its death may have lost, for the audit. */
    const noteKill = (thread: number): void => {
      if (ledger === undefined) return;
      const inFinal = Atomics.exchange(ledger.i32, ledger.threadWord(thread, T_IN_FINALIZER), 0);
      if (inFinal === IN_FINALIZER_UNKNOWN) lostInCallbackUnknown++;
      else if (inFinal > 0) lostInCallback.add(inFinal - 1);
      if (inFinal !== 0) kills.insideFinalizer++;
      if (Atomics.exchange(ledger.i32, ledger.threadWord(thread, T_HANDLE_OP), 0) !== 0) kills.duringPublish++;
    };

    // Fault runs verify from the main thread right after some kills, before the replacement
    // starts: whatever the dead worker left half done must read as a consistent heap.
    const verifyAfterKill = (): void => {
      if (f === undefined || kills.total % (f.verifyEveryKills ?? 5) !== 0) return;
      enter('verifying after a kill');
      verifies.afterKills++;
      const v = heap.verify();
      if (!v.ok) {
        verifies.afterKillsFailed++;
        if (verifies.afterKillsFailed <= 5) failures.push(`verify() right after kill ${kills.total}: ${v.errors.slice(0, 3).join('; ')}`);
      }
      enter('killing a worker');
    };

    const killLane = async (index: number): Promise<void> => {
      await starting[index];
      const victim = lanes[index];
      if (victim !== undefined) {
        victim.killed = true;
        const kobj = Atomics.load(counters, index * PROGRESS_WORDS + P_ALLOC_KOBJ) - victim.kobjAtStart;
        await victim.worker.terminate();
        kills.total++;
        victim.record.allocatedObjects = kobj * 1000;
        victim.record.objectsPerSecond = (kobj * 1000) / Math.max(0.001, (performance.now() - victim.startedAt) / 1000);
        noteKill(index);
        kills.mutators++;
        verifyAfterKill();
      }
      starting[index] = spawn('mutator', index).then((inc) => { lanes[index] = inc; });
    };

    const killCollectorMidPause = async (): Promise<void> => {
      await collectorStarting;
      const victim = collector;
      if (victim !== undefined) {
        kills.collectorAttempts++;
        const owner = victim.record.slot + 1;
        // The collector holds a pause much of the time; a bounded poll finds it there.
        await pollUntil(() => Atomics.load(heapWords, G_GC_OWNER) === owner, 2_000, `${victim.record.name} to hold a pause`, heap.buffer).catch(() => false);
        victim.killed = true;
        await victim.worker.terminate();
        kills.total++;
        if (Atomics.load(heapWords, G_GC_OWNER) === owner) kills.collectorMidPause++;
        noteKill(threadIndex(o.workers, 'collector'));
        verifyAfterKill();
      }
      collectorStarting = spawn('collector', 0).then((inc) => { collector = inc; });
    };

    // Kill and replace workers until the deadline (and the minimum count of replacements).
    const minReplacements = o.replaceEveryMs > 0 ? (o.replacements ?? 0) : 0;
    const killMin = f?.killMinMs ?? 20;
    const killMax = f?.killMaxMs ?? 200;
    const more = (): boolean => {
      if (f !== undefined) return performance.now() + killMax < deadline;
      return o.replaceEveryMs > 0 && (performance.now() + o.replaceEveryMs < deadline || replaced < minReplacements);
    };
    while (more()) {
      const wait = f !== undefined ? killMin + random() * (killMax - killMin) : o.replaceEveryMs * (0.5 + random());
      await new Promise((r) => setTimeout(r, wait));
      enter('killing a worker');
      if (f !== undefined && random() < (f.collectorKillShare ?? 0.25)) await killCollectorMidPause();
      else await killLane((random() * o.workers) | 0);
      replaced++;
      enter('running');
    }

    const left = deadline - performance.now();
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    await Promise.all([...starting, collectorStarting]);
    enter('stopping workers');
    Atomics.store(new Int32Array(control), C_STOP, 1);
    const finishMs = 2 * o.safepointTimeoutMs + 10_000;
    const everyone = [...lanes, collector].filter((x): x is Incarnation => x !== undefined);
    try {
      await withDeadline(Promise.all(everyone.map((l) => l.outcome.catch(() => 'killed'))), finishMs, 'every worker to end its loop', heap.buffer);
    } catch (e) {
      failures.push(`${(e as Error).message}; still running: ${everyone.filter((l) => !l.done).map((l) => l.record.name).join(', ')}`);
    }
    let churned: ChurnerResult | undefined;
    if (churner !== undefined) {
      try {
        churned = await withDeadline(churner.result, finishMs, 'the attach/detach churner to stop', heap.buffer);
        failures.push(...churned.failures);
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
    clearInterval(ticker);
    const last = sample();
    o.onProgress?.(last);
    o.onFinalHeap?.(heap);

    // Final checks on the main thread, with every worker gone.
    enter('checking graphs');
    for (const l of everyone) {
      l.killed = true; // one that missed the stop deadline is already reported
      await l.worker.terminate();
    }
    if (churner !== undefined) await churner.worker.terminate();
    try {
      await pollUntil(() => otherSlotsGone(heapWords), 10_000, 'every worker slot to be declared dead', heap.buffer);
    } catch (e) {
      failures.push((e as Error).message);
    }
    const entries = new Float64Array(exchange);
    const published = new Set<number>();
    heap.scope(() => {
      for (const entry of entries) {
        const id = entryId(entry);
        if (id < 0) continue;
        published.add(id);
        let root: number;
        try {
          root = heap.root(heap.handle(id).get());
        } catch (e) {
          failures.push(`published handle ${id} is gone: ${(e as Error).message}`);
          continue;
        }
        if (checkGraph(heap, graphTypes, root) === false) failures.push(`published graph ${id} fails its checksum at the end`);
      }
    });
    for (const id of published) {
      try { heap.handle(id).release(); } catch { /* released by a worker that died mid-swap */ }
    }

    let faults: FaultReport | undefined;
    let verify: StressReport['verify'];
    if (f !== undefined) {
      enter('auditing the heap');
      const audit = auditBaseline(heap, {
        ledger: ledger!, published, publishKills: kills.duringPublish, lostInCallback, lostInCallbackUnknown, arenaBytes: o.heapBytes,
      });
      failures.push(...audit.problems.map((p) => `end of run: ${p}`));
      verify = audit.verify;
      const s = heap.stats();
      faults = {
        kills,
        collectionsCutShort: Atomics.load(heapWords, G_GC_STARTED) - s.pauseMs.count,
        collectorCollections: ledger!.count(L_COLLECTOR_COLLECTS),
        attachDetachCycles: ledger!.count(L_ATTACH_CYCLES),
        largeObjects: ledger!.count(L_LARGE),
        weakRefs: { clearedWhenDead: ledger!.count(L_WEAK_CLEARED), intactWhileLive: ledger!.count(L_WEAK_ALIVE) },
        verifies: { inPause: s.collections.major + s.collections.minor, ...verifies },
        finalizableIdsExhausted: ledger!.count(L_IDS_EXHAUSTED),
        audit,
      };
    } else {
      heap.collect();
      const v = heap.verify();
      verify = { ok: v.ok, errors: v.errors, checkedObjects: v.checkedObjects };
    }
    const stats = heap.stats();
    if (last.failures > 0 && failures.length === 0) failures.push(`${last.failures} graph checks failed`);

    const byWorkers = Array.from({ length: o.workers }, (_, l) => Atomics.load(counters, l * PROGRESS_WORDS + P_COLLECTS)).reduce((a, b) => a + b, 0);
    const adopted = Array.from({ length: o.workers }, (_, l) => Atomics.load(counters, l * PROGRESS_WORDS + P_ADOPTED)).reduce((a, b) => a + b, 0);
    const { onProgress: _p, onHeap: _h, onFinalHeap: _m, workerUrl: _w, faults: _f, ...plain } = o;
    return {
      options: { ...plain, faults: f !== undefined },
      elapsedMs: performance.now() - start,
      workers: records.sort((a, b) => (a.role === b.role ? a.lane - b.lane || a.incarnation - b.incarnation : a.role === 'mutator' ? -1 : 1)),
      replaced,
      adoptedGraphs: adopted,
      graphsBuilt: last.graphsBuilt,
      graphsChecked: last.graphsChecked,
      collections: { ...stats.collections, byWorkers },
      pauses: pauses.figures(),
      heap: {
        arenaBytes: stats.arenaBytes, maxBytes: stats.maxBytes, peakOccupancy,
        liveBytesAtEnd: stats.allocatedBytes, orphanPagesSeen,
      },
      verify,
      ...(faults !== undefined ? { faults } : {}),
      failures,
      ok: failures.length === 0 && verify.ok,
    };
  } finally {
    clearInterval(ticker);
    await watchdog.stop();
    await pauses.stop();
    await Promise.all([...spawned, ...(churner !== undefined ? [churner.worker] : [])].map((w) => w.terminate()));
  }
}

/** Whether every slot but the main thread's is dead or free: no worker left attached. */
function otherSlotsGone(i32: Int32Array): boolean {
  for (let s = 0; s < MAX_WORKERS; s++) {
    if (s === MAIN_SLOT) continue;
    const state = Atomics.load(i32, workerWord(s) + W_STATE);
    if (state !== WS_FREE && state !== WS_DEAD) return false;
  }
  return true;
}

interface Churner {
  worker: Worker;
  result: Promise<ChurnerResult>;
}

function startChurner(heap: Heap, url: URL, control: SharedArrayBuffer, ledger: SharedArrayBuffer, thread: number, seed: number, pauseLog: SharedArrayBuffer): Churner {
  const worker = new Worker(url, { name: 'bibop-churner', workerData: { buffer: heap.buffer, control, ledger, thread, seed, pauseLog } });
  const result = new Promise<ChurnerResult>((resolve) => {
    worker.once('message', (m: ChurnerResult) => resolve(m));
    worker.once('error', (e) => resolve({ cycles: 0, failures: [`churner: ${(e as Error).stack ?? String(e)}`] }));
    worker.once('exit', (code) => resolve({ cycles: 0, failures: [`churner: exited (code ${code}) without a result`] }));
  });
  return { worker, result };
}
