// Multi-worker benchmarks: binary-trees with 1, 2 and 4 workers sharing one bibop-gc heap,
// against V8's own objects in one thread and in 2 workers (separate heaps), all in one
// process and interleaved; then the time to reach the rendezvous.
//
//   node dist/bench/multi-worker.js [--depth 18] [--runs 5]
//
// Times include starting the workers (a real program pays for it too). The stretch tree and
// the long-lived tree are built on the main thread in every version.

import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { Heap } from '../src/index.js';
import type { MutatorApi } from '../src/stress/protocol.js';

const { values } = parseArgs({ options: { depth: { type: 'string' }, runs: { type: 'string' }, json: { type: 'boolean' } } });
const maxDepth = Number(values.depth ?? 18);
const runs = Number(values.runs ?? 5);
const minDepth = 4;
const MUTATOR = new URL('../workers/mutator.js', import.meta.url);
const V8_WORKER = new URL('./v8-tree-worker.js', import.meta.url);

interface TreeNode { left: TreeNode | null; right: TreeNode | null }
function make(d: number): TreeNode {
  return d === 0 ? { left: null, right: null } : { left: make(d - 1), right: make(d - 1) };
}
function check(n: TreeNode): number {
  return n.left === null ? 1 : 1 + check(n.left) + check(n.right!);
}

function v8Single(): number {
  let out = check(make(maxDepth + 1));
  const long = make(maxDepth);
  for (let d = minDepth; d <= maxDepth; d += 2) {
    const iters = 1 << (maxDepth - d + minDepth);
    for (let i = 0; i < iters; i++) out += check(make(d));
  }
  return out + check(long);
}

async function v8Workers(shards: number): Promise<number> {
  let out = check(make(maxDepth + 1));
  const long = make(maxDepth);
  const parts = await Promise.all(Array.from({ length: shards }, (_, shard) => new Promise<number>((resolve, reject) => {
    const w = new Worker(V8_WORKER, { workerData: { minDepth, maxDepth, shard, shards } });
    w.once('message', resolve);
    w.once('error', reject);
  })));
  for (const p of parts) out += p;
  return out + check(long);
}

async function bibopWorkers(shards: number): Promise<{ checksum: number; collections: number; pauseP50: number; parallelMs: number }> {
  const heap = Heap.create({ size: 256 << 20, maxSize: 1 << 30, checked: false });
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
  return { checksum: out, collections: s.collections.major + s.collections.minor, pauseP50: s.pauseMs.p50, parallelMs };
}

async function timeIt<T>(f: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await f();
  return { ms: performance.now() - t, value };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function rendezvousLatency(workers: number, samples: number): Promise<{ busyP50: number; busyMax: number; idleP50: number }> {
  const heap = Heap.create({ size: 64 << 20, checked: false });
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

const rows: Record<string, number[]> = {};
const parallel: Record<number, number[]> = {};
const add = (name: string, ms: number): void => {
  (rows[name] ??= []).push(ms);
};
let expected = -1;
const verify = (name: string, v: number): void => {
  if (expected < 0) expected = v;
  else if (v !== expected) throw new Error(`${name}: checksum ${v}, expected ${expected}`);
};

console.log(`binary-trees depth ${maxDepth}, ${runs} runs, interleaved`);
for (let r = 0; r < runs; r++) {
  const a = await timeIt(v8Single); add('V8, 1 thread', a.ms); verify('v8', a.value);
  const b = await timeIt(() => v8Workers(2)); add('V8, 2 workers (separate heaps)', b.ms); verify('v8x2', b.value);
  for (const k of [1, 2, 4]) {
    const c = await timeIt(() => bibopWorkers(k));
    add(`bibop-gc, ${k} worker${k > 1 ? 's' : ''} on one heap`, c.ms);
    (parallel[k] ??= []).push(c.value.parallelMs);
    verify(`bibop x${k}`, c.value.checksum);
  }
  console.log(`  run ${r + 1}: ${Object.entries(rows).map(([n, xs]) => `${n.split(',')[0]}${n.includes('bibop') ? n.match(/\d+ worker/)![0] : n.includes('2 workers') ? ' x2' : ''} ${xs.at(-1)!.toFixed(0)}`).join(', ')} ms`);
}

const base = median(rows['V8, 1 thread']!);
console.log('\n| workload | median ms | vs V8 1 thread |');
console.log('| --- | ---: | ---: |');
for (const [name, xs] of Object.entries(rows)) console.log(`| ${name} | ${median(xs).toFixed(0)} | ${(median(xs) / base).toFixed(2)}x |`);

console.log('\n| bibop-gc, the parallel part alone (workers started, heap made) | median ms | vs 1 worker |');
console.log('| --- | ---: | ---: |');
for (const [k, xs] of Object.entries(parallel)) console.log(`| ${k} worker${k === '1' ? '' : 's'} | ${median(xs).toFixed(0)} | ${(median(parallel[1]!) / median(xs)).toFixed(2)}x faster |`);

const lat2 = await rendezvousLatency(2, 30);
const lat4 = await rendezvousLatency(4, 30);
console.log('\n| rendezvous (main thread collects) | p50 ms | max ms |');
console.log('| --- | ---: | ---: |');
console.log(`| 2 workers allocating | ${lat2.busyP50.toFixed(3)} | ${lat2.busyMax.toFixed(3)} |`);
console.log(`| 4 workers allocating | ${lat4.busyP50.toFixed(3)} | ${lat4.busyMax.toFixed(3)} |`);
console.log(`| 2 workers parked | ${lat2.idleP50.toFixed(3)} | |`);
if (values.json) console.log(JSON.stringify({ rows, parallel, lat2, lat4 }));
