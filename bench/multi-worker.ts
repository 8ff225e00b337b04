// Multi-worker benchmarks: binary-trees with 1, 2 and 4 workers sharing one bibop-gc heap,
// against V8's own objects made by the constructor (V8's fast mode: the baseline) in one
// thread, and in 2 workers with separate V8 heaps; then the time to reach the rendezvous.
//
//   node dist/bench/multi-worker.js [--depth 18] [--runs 5] [--workers 1,2,4]
//                                   [--heap-opts JSON] [--json]
//
// Every timed run is a fresh Node process (this script with --child CONFIG), configurations
// in a rotated order each round, so no run inherits another's heap or V8's pretenuring
// decisions. Times include creating the heap and starting the workers (a real program pays
// for both); the parallel part alone is reported too. The stretch and long-lived trees are
// built on the main thread in every version. The rendezvous latencies at the end are
// measured in this process (they have no V8 counterpart). --heap-opts is merged over the
// bibop heap's options ({ size: 256 MiB, maxSize: 1 GiB, checked: false }).

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { Heap } from '../src/index.js';
import type { MutatorApi } from '../src/stress/protocol.js';
import { binaryTreesExpected, binaryTreesV8, bottomUpTree, itemCheck } from './lib/workloads.js';
import { fmtRatio, markdownTable, median, parseJsonObject } from './lib/util.js';

const { values } = parseArgs({
  options: {
    depth: { type: 'string', default: '18' },
    runs: { type: 'string', default: '5' },
    workers: { type: 'string', default: '1,2,4' },
    'heap-opts': { type: 'string' },
    child: { type: 'string' },
    json: { type: 'boolean' },
  },
});
const maxDepth = Math.max(6, Number(values.depth));
const runs = Number(values.runs);
const minDepth = 4;
const MUTATOR = new URL('../workers/mutator.js', import.meta.url);
const V8_WORKER = new URL('./v8-tree-worker.js', import.meta.url);
const heapOptions = {
  size: 256 << 20, maxSize: 1 << 30, checked: false,
  ...(values['heap-opts'] === undefined ? {} : parseJsonObject(values['heap-opts'], '--heap-opts')),
};

interface ChildResult {
  ms: number;
  checksum: number;
  /** bibop only: from the workers' first shard call to their last result. */
  parallelMs?: number;
  collections?: number;
  pauseP50Ms?: number;
}

async function v8Workers(shards: number): Promise<number> {
  let out = itemCheck(bottomUpTree(maxDepth + 1));
  const long = bottomUpTree(maxDepth);
  const parts = await Promise.all(Array.from({ length: shards }, (_, shard) => new Promise<number>((resolve, reject) => {
    const w = new Worker(V8_WORKER, { workerData: { minDepth, maxDepth, shard, shards } });
    w.once('message', resolve);
    w.once('error', reject);
  })));
  for (const p of parts) out += p;
  return out + itemCheck(long);
}

async function bibopWorkers(shards: number): Promise<Omit<ChildResult, 'ms'>> {
  const heap = Heap.create(heapOptions);
  const Node = heap.defineStruct('bench.Node', { left: 'ref', right: 'ref' });
  const L = Node.left;
  const R = Node.right;
  const makeH = (d: number): number => {
    const n = heap.alloc(Node);
    if (d > 0) {
      heap.setRef(n, L, makeH(d - 1));
      heap.setRef(n, R, makeH(d - 1));
    }
    return n;
  };
  const checkH = (n: number): number => {
    const l = heap.getRef(n, L);
    return l === 0 ? 1 : 1 + checkH(l) + checkH(heap.getRef(n, R));
  };
  let out = heap.scope(() => checkH(makeH(maxDepth + 1)));
  const long = heap.scope(() => heap.persist(makeH(maxDepth)));
  const workers = Array.from({ length: shards }, () => heap.spawn(MUTATOR));
  const apis = workers.map((w) => Comlink.wrap<MutatorApi>(nodeEndpoint(w)));
  await Promise.all(apis.map((a) => a.workerId()));
  const parallelStart = performance.now();
  const parts = await Promise.all(apis.map((a, shard) => a.binaryTreesShard(minDepth, maxDepth, shard, shards)));
  const parallelMs = performance.now() - parallelStart;
  for (const p of parts) out += p;
  out += heap.scope(() => checkH(long.get()));
  const s = heap.stats();
  await Promise.all(workers.map((w) => w.terminate()));
  return { checksum: out, collections: s.collections.major + s.collections.minor, pauseP50Ms: s.pauseMs.p50, parallelMs };
}

/** The configurations, by the name --child takes. */
const CONFIGS: Record<string, { label: string; run: () => Promise<Omit<ChildResult, 'ms'>> }> = {
  v8: { label: 'V8 constructor, 1 thread (baseline)', run: async () => ({ checksum: binaryTreesV8(maxDepth) }) },
  v8x2: { label: 'V8 constructor, 2 workers (separate heaps)', run: async () => ({ checksum: await v8Workers(2) }) },
};
for (const k of values.workers.split(',').map(Number)) {
  if (!Number.isInteger(k) || k < 1) throw new Error(`--workers: positive integers, got '${values.workers}'`);
  CONFIGS[`bibop${k}`] = { label: `bibop-gc, ${k} worker${k > 1 ? 's' : ''} on one heap`, run: () => bibopWorkers(k) };
}

async function rendezvousLatency(workers: number, samples: number): Promise<{ busyP50: number; busyMax: number; idleP50: number }> {
  const heap = Heap.create({ ...heapOptions, size: 64 << 20 });
  const ws = Array.from({ length: workers }, () => heap.spawn(MUTATOR));
  const apis = ws.map((w) => Comlink.wrap<MutatorApi>(nodeEndpoint(w)));
  await Promise.all(apis.map((a) => a.workerId()));
  const idle: number[] = [];
  for (let i = 0; i < samples; i++) idle.push(heap.collect().phases.rendezvousMs);
  const churning = apis.map((a) => a.churn(4000, 10));
  const busy: number[] = [];
  for (let i = 0; i < samples; i++) {
    await new Promise((r) => setTimeout(r, 5));
    busy.push(heap.collect().phases.rendezvousMs);
  }
  await Promise.all(churning);
  await Promise.all(ws.map((w) => w.terminate()));
  return { busyP50: median(busy), busyMax: Math.max(...busy), idleP50: median(idle) };
}

if (values.child !== undefined) {
  // ---- one timed run, in this fresh process ----
  const config = CONFIGS[values.child];
  if (config === undefined) throw new Error(`--child: one of ${Object.keys(CONFIGS).join(', ')}`);
  const t = performance.now();
  const r = await config.run();
  process.stdout.write(`${JSON.stringify({ ms: performance.now() - t, ...r })}\n`);
  process.exit(0);
}

// ---- the parent: rounds of fresh processes ----
try {
  Heap.create(heapOptions).detach();
} catch (err) {
  process.stderr.write(`multi-worker: Heap.create rejected the heap options ${JSON.stringify(heapOptions)}:\n  ${(err as Error).message}\n`);
  process.exit(2);
}
const script = fileURLToPath(import.meta.url);
const names = Object.keys(CONFIGS);
const results = new Map<string, ChildResult[]>(names.map((n) => [n, []]));
const expected = binaryTreesExpected(maxDepth);
console.log(`binary-trees depth ${maxDepth}, ${runs} rounds, each configuration in a fresh process, rotated order`);
for (let round = 0; round < runs; round++) {
  const line: string[] = [];
  for (let k = 0; k < names.length; k++) {
    const name = names[(round + k) % names.length]!;
    const args = [script, '--child', name, '--depth', String(maxDepth), '--workers', values.workers];
    if (values['heap-opts'] !== undefined) args.push('--heap-opts', values['heap-opts']);
    const p = spawnSync(process.execPath, args, { encoding: 'utf8' });
    if (p.status !== 0) throw new Error(`${name} failed (exit ${p.status ?? p.signal}):\n${p.stderr}`);
    const r = JSON.parse(p.stdout.trim().split('\n').at(-1)!) as ChildResult;
    if (r.checksum !== expected) throw new Error(`${name}: checksum ${r.checksum}, expected ${expected}`);
    results.get(name)!.push(r);
    line.push(`${name} ${r.ms.toFixed(0)}`);
  }
  console.log(`  round ${round + 1}: ${line.join(', ')} ms`);
}

const base = median(results.get('v8')!.map((r) => r.ms));
console.log('');
console.log(markdownTable(['workload', 'median ms', 'vs V8 constructor, 1 thread', 'runs ms'], names.map((n) => {
  const ms = results.get(n)!.map((r) => r.ms);
  return [CONFIGS[n]!.label, median(ms).toFixed(0), n === 'v8' ? 'baseline' : fmtRatio(median(ms) / base), ms.map((x) => x.toFixed(0)).join(', ')];
})));

const bibop = names.filter((n) => n.startsWith('bibop'));
const one = results.get(bibop[0]!)!;
console.log('');
console.log(markdownTable(['bibop-gc, the parallel part alone (workers started, heap made)', 'median ms', `speed-up vs ${bibop[0]!.slice(5)} worker(s)`, 'collections (median)'], bibop.map((n) => {
  const rs = results.get(n)!;
  const ms = median(rs.map((r) => r.parallelMs!));
  return [CONFIGS[n]!.label, ms.toFixed(0), `${(median(one.map((r) => r.parallelMs!)) / ms).toFixed(2)}x`, String(median(rs.map((r) => r.collections!)))];
})));

const lat2 = await rendezvousLatency(2, 30);
const lat4 = await rendezvousLatency(4, 30);
console.log('');
console.log(markdownTable(['rendezvous (main thread collects, in this process)', 'p50 ms', 'max ms'], [
  ['2 workers allocating', lat2.busyP50.toFixed(3), lat2.busyMax.toFixed(3)],
  ['4 workers allocating', lat4.busyP50.toFixed(3), lat4.busyMax.toFixed(3)],
  ['2 workers parked', lat2.idleP50.toFixed(3), ''],
]));
if (values.json) console.log(JSON.stringify({ depth: maxDepth, heapOptions, results: Object.fromEntries(results), lat2, lat4 }));
