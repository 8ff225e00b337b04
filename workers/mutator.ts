// A mutator worker: attaches to the heap it was spawned for and serves the control plane
// (comlink) — build, check and mutate graphs, churn garbage, collect, verify, and run the
// stress loop or a fault run's collector loop. Used by the `bibop stress` command, the
// multi-worker tests and benchmarks.

import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { Heap } from '../src/index.js';
import { SHAPES, SHAPE_BUNDLE, buildGraph, checkGraph, defineGraphTypes, mutateGraph, rng } from '../src/stress/graphs.js';
import {
  C_STOP, LANE_ENTRIES, PROGRESS_WORDS, entryId, idEntry, P_ADOPTED, P_ALLOC_KOBJ, P_BUILT, P_CHECKED, P_COLLECTS, P_FAILED, P_ITER,
  type CollectorParams, type CollectorResult, type MutatorApi, type StressParams, type StressResult,
} from '../src/stress/protocol.js';
import { L_COLLECTOR_COLLECTS, Ledger, OP_PUBLISH, OP_RELEASE, T_HANDLE_OP } from '../src/stress/ledger.js';
import { WeakChecks, countFinalizers, finalizableChurn, largeChurn, ledgerIds } from '../src/stress/faults.js';
import { recordPausesOf } from '../src/stress/pauses.js';

const heap = Heap.attach(workerData.heap);
const t = defineGraphTypes(heap);
const Tree = heap.defineStruct('bench.Node', { left: 'ref', right: 'ref' });
const L = Tree.left;
const R = Tree.right;

function makeTree(d: number): number {
  const n = heap.alloc(Tree);
  if (d > 0) {
    heap.setRef(n, L, makeTree(d - 1));
    heap.setRef(n, R, makeTree(d - 1));
  }
  return n;
}

function checkTree(n: number): number {
  const l = heap.getRef(n, L);
  return l === 0 ? 1 : 1 + checkTree(l) + checkTree(heap.getRef(n, R));
}

/** Resolves a handle id and roots its ref in the current scope, or returns 0 if released. */
function rootedHandle(id: number): number {
  try {
    return heap.root(heap.handle(id).get());
  } catch {
    return 0;
  }
}

const api: MutatorApi = {
  workerId: () => heap.workerId,

  build: (shape, size, seed, tag) => heap.scope(() => heap.persist(buildGraph(heap, t, shape, size, seed, tag)).id),

  check: (id) => heap.scope(() => checkGraph(heap, t, heap.root(heap.handle(id).get())) !== false),

  mutate: (id, seed) => heap.scope(() => mutateGraph(heap, t, heap.root(heap.handle(id).get()), seed)),

  release: (id) => heap.handle(id).release(),

  churn: (trees, depth) => {
    let nodes = 0;
    for (let i = 0; i < trees; i++) nodes += heap.scope(() => checkTree(makeTree(depth)));
    return nodes;
  },

  spin: (ms) => heap.scope(() => {
    // A running mutator that neither allocates nor polls: collections must time out on it.
    const end = Date.now() + ms;
    let n = 0;
    while (Date.now() < end) n++;
    return n;
  }),

  collectLoop: (ms) => {
    const end = Date.now() + ms;
    let n = 0;
    while (Date.now() < end) {
      heap.scope(() => checkTree(makeTree(6)));
      heap.collect();
      n++;
    }
    return n;
  },

  handleChurn: (ms) => {
    const end = Date.now() + ms;
    let n = 0;
    while (Date.now() < end) {
      heap.scope(() => heap.persist(heap.alloc(Tree)).release());
      n++;
    }
    return n;
  },

  collect: (kind = 'major') => heap.collect(kind),
  verify: () => heap.verify(),
  stats: () => heap.stats(),
  stress: (params) => stress(params),
  collector: (params) => collector(params),

  binaryTrees: (minDepth, maxDepth, longLived) => {
    let out = 0;
    for (let d = minDepth; d <= maxDepth; d += 2) {
      const iters = 1 << (maxDepth - d + minDepth);
      for (let i = 0; i < iters; i++) out += heap.scope(() => checkTree(makeTree(d)));
    }
    if (longLived !== 0) out += heap.scope(() => checkTree(heap.root(heap.handle(longLived).get())));
    return out;
  },

  binaryTreesShard: (minDepth, maxDepth, shard, shards) => {
    let out = 0;
    for (let d = minDepth; d <= maxDepth; d += 2) {
      const iters = 1 << (maxDepth - d + minDepth);
      for (let i = shard; i < iters; i += shards) out += heap.scope(() => checkTree(makeTree(d)));
    }
    return out;
  },

  detach: () => heap.detach(),
  exit: (code) => process.exit(code),
};

/** One line for a failure report: the error's name and message, and the frames that threw it. */
function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const frames = (e.stack ?? '').split('\n').filter((l) => l.trimStart().startsWith('at ')).slice(0, 6)
    .map((l) => l.trim().replace(/^at /, '').replace(/\(?file:\/\/[^)]*\/([^/)]+)\)?/, '$1'));
  return `${e.name}: ${e.message}${frames.length > 0 ? ` (at ${frames.join(' < ')})` : ''}`;
}

function stress(p: StressParams): StressResult {
  const exchange = new Float64Array(p.exchange);
  const control = new Int32Array(p.control);
  const progress = new Int32Array(p.progress);
  const me = p.lane * PROGRESS_WORDS;
  const next = rng(p.seed);
  const failures: string[] = [];
  const stopRecording = p.pauseLog !== undefined ? recordPausesOf(heap, p.pauseLog) : () => {};
  const start = performance.now();
  let iterations = 0;
  let allocated = 0;
  let pendingK = 0;

  const fail = (msg: string): void => {
    Atomics.add(progress, me + P_FAILED, 1);
    if (failures.length < 20) failures.push(`worker ${heap.workerId} lane ${p.lane}: ${msg}`);
  };

  // Fault runs: finalizable and large objects, bundles, weak refs, and the handle-op marks
  // that let the audit account for a handle stranded by a kill in the middle of a publish.
  const f = p.faults;
  const ledger = f !== undefined ? new Ledger(f.ledger) : undefined;
  const ids = ledger !== undefined ? ledgerIds(ledger) : undefined;
  const weak = ledger !== undefined ? new WeakChecks(heap, t, ledger, fail) : undefined;
  if (ledger !== undefined) countFinalizers(heap, t, ledger, f!.thread);
  const opWord = ledger !== undefined ? ledger.threadWord(f!.thread, T_HANDLE_OP) : 0;
  const setOp = (op: number): void => {
    if (ledger !== undefined) Atomics.store(ledger.i32, opWord, op);
  };

  try {
    // Graphs a dead predecessor on this lane published must still be intact.
    for (let e = 0; e < LANE_ENTRIES; e++) {
      const id = entryId(exchange[p.lane * LANE_ENTRIES + e]!);
      if (id < 0) continue;
      heap.scope(() => {
        const root = rootedHandle(id);
        if (root === 0) return;
        if (checkGraph(heap, t, root) !== false) Atomics.add(progress, me + P_ADOPTED, 1);
        else fail(`graph ${id} left by a dead worker on this lane is corrupt`);
      });
    }

    while (Atomics.load(control, C_STOP) === 0) {
      iterations++;
      Atomics.add(progress, me + P_ITER, 1);
      if (weak !== undefined && (iterations & 15) === 0) weak.check();
      const r = next();
      if (r < p.churn) {
        const kind = ledger !== undefined ? next() : 0;
        if (kind < 0.6) {
          const depth = 4 + ((next() * 6) | 0);
          const nodes = heap.scope(() => checkTree(makeTree(depth)));
          if (nodes !== (1 << (depth + 1)) - 1) fail(`garbage tree of depth ${depth} has ${nodes} nodes`);
          allocated += nodes;
          pendingK += nodes;
        } else if (kind < 0.7) {
          if (!largeChurn(heap, t, ledger!, next)) fail('a large array read back other values than were written');
          allocated += 2;
        } else if (kind < 0.9) {
          finalizableChurn(heap, t, ids!, 8);
          allocated += 8;
        } else if (next() < 0.7) {
          weak!.addDead();
        } else {
          weak!.liveAcrossCollection();
        }
      } else if (r < p.churn + (1 - p.churn) * 0.35) {
        // Build a graph and publish it on this lane, releasing the one it replaces.
        const e = (next() * LANE_ENTRIES) | 0;
        const shape = (next() * (ledger !== undefined ? SHAPES + 1 : SHAPES)) | 0;
        const size = shape === SHAPE_BUNDLE ? 4 + ((next() * 12) | 0) : 8 + ((next() * p.graphSize) | 0);
        const old = entryId(exchange[p.lane * LANE_ENTRIES + e]!);
        const id = heap.scope(() => {
          const root = buildGraph(heap, t, shape, size, (next() * 2 ** 31) | 0, p.lane, ids);
          setOp(OP_PUBLISH);
          return heap.persist(root).id;
        });
        exchange[p.lane * LANE_ENTRIES + e] = idEntry(id);
        setOp(OP_RELEASE);
        if (old >= 0) {
          try {
            heap.handle(old).release();
          } catch {
            // Already released by the main thread after a predecessor died.
          }
        }
        setOp(0);
        allocated += size;
        pendingK += size;
        Atomics.add(progress, me + P_BUILT, 1);
      } else if (r < p.churn + (1 - p.churn) * 0.85) {
        // Check any worker's published graph.
        const id = entryId(exchange[((next() * p.lanes * LANE_ENTRIES) | 0)]!);
        if (id >= 0) {
          heap.scope(() => {
            const root = rootedHandle(id);
            if (root === 0) return;
            const ok = checkGraph(heap, t, root);
            if (ok === false) fail(`graph ${id} (built on lane ${heap.getI32(root, t.Root.tag)}) fails its checksum`);
            else if (ok === true) Atomics.add(progress, me + P_CHECKED, 1);
          });
        }
      } else if (r < p.churn + (1 - p.churn) * 0.95) {
        // Only the owner mutates a graph, so that readers always see a consistent checksum.
        const id = entryId(exchange[p.lane * LANE_ENTRIES + ((next() * LANE_ENTRIES) | 0)]!);
        if (id >= 0) {
          heap.scope(() => {
            const root = rootedHandle(id);
            if (root !== 0) mutateGraph(heap, t, root, (next() * 2 ** 31) | 0);
          });
        }
      } else if (next() < p.collectRate * 20) {
        if (weak !== undefined) weak.collectWithLiveTarget();
        else heap.collect();
        Atomics.add(progress, me + P_COLLECTS, 1);
      }
      if (pendingK >= 1000) {
        Atomics.add(progress, me + P_ALLOC_KOBJ, (pendingK / 1000) | 0);
        pendingK %= 1000;
      }
    }
  } catch (e) {
    // The loop ends at its first unexpected error (out of memory, corruption found in a
    // pause, a stale ref): what follows one would only repeat it.
    fail(describeError(e));
  } finally {
    stopRecording();
  }
  return { workerId: heap.workerId, iterations, allocatedObjects: allocated, elapsedMs: performance.now() - start, failures };
}

function collector(p: CollectorParams): CollectorResult {
  const control = new Int32Array(p.control);
  const ledger = new Ledger(p.ledger);
  countFinalizers(heap, t, ledger, p.thread);
  const stopRecording = p.pauseLog !== undefined ? recordPausesOf(heap, p.pauseLog) : () => {};
  const failures: string[] = [];
  let collections = 0;
  try {
    while (Atomics.load(control, C_STOP) === 0) {
      heap.scope(() => checkTree(makeTree(6)));
      heap.collect();
      ledger.add(L_COLLECTOR_COLLECTS);
      collections++;
    }
  } catch (e) {
    failures.push(`collector (worker ${heap.workerId}): ${describeError(e)}`);
  } finally {
    stopRecording();
  }
  return { collections, failures };
}

Comlink.expose(api, nodeEndpoint(parentPort!));
