// `npm run bench`: bibop-gc against V8's own objects, in one process.
//
//   node dist/bench/run.js [--runs N] [--quick] [--only bt18,bt20,gcbench,micro]
//                          [--micro-time MS] [--out FILE] [--reuse-heap]
//
// Macro workloads (binary-trees depth 18 and 20, GCBench) run interleaved: a V8 run, then a
// bibop run, repeated N times (default 5). The V8 versions make their nodes with a
// constructor (V8 at its best, the baseline); whole-process.ts also runs the object-literal
// versions, and runs each run in a fresh process, which this in-process runner cannot. Each bibop run gets a fresh heap
// (MACRO_HEAP_OPTIONS), made and detached outside the timed region; a forced V8 collection
// separates runs when one can be had. Per-run times, medians and the median ratio
// bibop / V8 (lower is better) are printed. `--quick` skips depth 20 and lowers the runs
// to 3. `--reuse-heap` gives all bibop runs of a workload one heap instead (so the arena's
// first-touch page faults are paid once, not per run). Then the tinybench micro-benchmarks (bench/lib/micro.ts). Results also go to
// .bench-out/results.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Heap, type GcEvent } from '../src/index.js';
import {
  MACRO_HEAP_OPTIONS, binaryTreesExpected, binaryTreesHeap, binaryTreesV8, gcBenchExpected, gcBenchHeap, gcBenchV8,
} from './lib/workloads.js';
import { runMicro, type MicroResults } from './lib/micro.js';
import { setFlagsFromString } from 'node:v8';
import {
  V8GcCounter, fmtMs, fmtNum, fmtRatio, fullV8Gc, machineInfo, markdownTable, median, parseArgs, type V8GcCounts,
} from './lib/util.js';

interface Target {
  /** Met when ratio ≤ max. */
  max: number;
  /** The stretch goal, when the issue gives one. */
  goal?: number;
}

interface Workload {
  key: string;
  name: string;
  expected: number;
  v8: () => number;
  heap: (heap: Heap) => number;
  target?: Target;
}

interface HeapRunInfo {
  collections: number;
  gcPauseMs: number;
  markMs: number;
  sweepMs: number;
  maxPauseMs: number;
  arenaBytes: number;
}

interface MacroResult {
  key: string;
  name: string;
  checksum: number;
  v8Ms: number[];
  bibopMs: number[];
  v8MedianMs: number;
  bibopMedianMs: number;
  /** median(bibop) / median(V8). */
  ratio: number;
  /** Median of the per-run ratios (each bibop run over the V8 run just before it). */
  pairedRatioMedian: number;
  /** Process CPU time (user + system, all threads: V8's GC helpers included) per run. */
  v8CpuMs: number[];
  bibopCpuMs: number[];
  /** median(bibop CPU) / median(V8 CPU). */
  cpuRatio: number;
  /** V8's own collections during each V8 run. */
  v8Gcs: V8GcCounts[];
  /** V8's median per regime (when V8 ran in it), and median(bibop) over it. */
  byRegime: { regime: string; runs: number; v8MedianMs: number; ratio: number }[];
  bibopRuns: HeapRunInfo[];
  target?: Target;
}

const WORKLOADS: Workload[] = [
  {
    key: 'bt18',
    name: 'binary-trees depth 18',
    expected: binaryTreesExpected(18),
    v8: () => binaryTreesV8(18),
    heap: (h) => binaryTreesHeap(h, 18),
    target: { max: 0.8, goal: 0.6 },
  },
  {
    key: 'bt20',
    name: 'binary-trees depth 20',
    expected: binaryTreesExpected(20),
    v8: () => binaryTreesV8(20),
    heap: (h) => binaryTreesHeap(h, 20),
    target: { max: 0.6, goal: 0.45 },
  },
  {
    key: 'gcbench',
    name: 'GCBench',
    expected: gcBenchExpected(),
    v8: gcBenchV8,
    heap: gcBenchHeap,
    target: { max: 1.5 },
  },
];

const ALLOC_TARGET: Target = { max: 3 };

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

/** Which regime a V8 run ran in (see V8GcCounter). */
function v8Regime(g: V8GcCounts): string {
  return g.major > g.minor ? 'pretenured (old space)' : 'young';
}

function log(s: string): void {
  process.stdout.write(`${s}\n`);
}

function verdict(ratio: number, target: Target | undefined): string {
  if (target === undefined) return '—';
  const met = ratio <= target.max;
  const goal = target.goal === undefined ? '' : ratio <= target.goal ? ', goal met' : `, goal ≤ ${target.goal}x missed`;
  return `${met ? 'MET' : 'MISSED'} (≤ ${target.max}x${goal})`;
}

async function runMacro(w: Workload, runs: number, reuseHeap: boolean, v8Gc: V8GcCounter): Promise<MacroResult> {
  log(`\n== ${w.name} (${runs} runs, V8 then bibop, interleaved${reuseHeap ? ', one heap for all bibop runs' : ''}) ==`);
  let events: GcEvent[] = [];
  let shared: Heap | null = null;
  const makeHeap = (): Heap => {
    const heap = Heap.create(MACRO_HEAP_OPTIONS);
    heap.onGC((e) => events.push(e));
    return heap;
  };
  if (reuseHeap) shared = makeHeap();
  const v8Ms: number[] = [];
  const v8CpuMs: number[] = [];
  const bibopCpuMs: number[] = [];
  const bibopMs: number[] = [];
  const bibopRuns: HeapRunInfo[] = [];
  const v8Gcs: V8GcCounts[] = [];
  for (let r = 0; r < runs; r++) {
    fullV8Gc();
    await v8Gc.settle();
    const g0 = v8Gc.snapshot();
    let c0 = process.cpuUsage();
    let t0 = performance.now();
    const v8Sum = w.v8();
    const v8Time = performance.now() - t0;
    const v8Cpu = cpuMsSince(c0);
    if (v8Sum !== w.expected) throw new Error(`${w.name}: V8 checksum ${v8Sum}, expected ${w.expected}`);
    v8Ms.push(v8Time);
    v8CpuMs.push(v8Cpu);
    await v8Gc.settle();
    const g = v8Gc.since(g0);
    v8Gcs.push(g);

    fullV8Gc();
    const heap = shared ?? makeHeap();
    events = [];
    c0 = process.cpuUsage();
    t0 = performance.now();
    const heapSum = w.heap(heap);
    const heapTime = performance.now() - t0;
    const heapCpu = cpuMsSince(c0);
    if (heapSum !== v8Sum) throw new Error(`${w.name}: bibop checksum ${heapSum} differs from V8's ${v8Sum}`);
    bibopMs.push(heapTime);
    bibopCpuMs.push(heapCpu);
    const info: HeapRunInfo = {
      collections: events.length,
      gcPauseMs: events.reduce((s, e) => s + e.pauseMs, 0),
      markMs: events.reduce((s, e) => s + e.phases.markMs, 0),
      sweepMs: events.reduce((s, e) => s + e.phases.sweepMs, 0),
      maxPauseMs: events.reduce((m, e) => Math.max(m, e.pauseMs), 0),
      arenaBytes: heap.stats().arenaBytes,
    };
    bibopRuns.push(info);
    if (shared === null) heap.detach();
    log(
      `  run ${r + 1}: V8 ${fmtMs(v8Time)} ms   bibop ${fmtMs(heapTime)} ms   ratio ${fmtRatio(heapTime / v8Time)}` +
        `   (CPU: V8 ${fmtMs(v8Cpu)} ms, bibop ${fmtMs(heapCpu)} ms)` +
        `   [V8: ${g.minor} scavenges, ${g.major} mark-compacts, ${fmtMs(g.ms)} ms: ${v8Regime(g)}]` +
        `   [bibop: ${info.collections} GCs, ${fmtMs(info.gcPauseMs)} ms paused (mark ${fmtMs(info.markMs)}, sweep ${fmtMs(info.sweepMs)}), ` +
        `max pause ${fmtMs(info.maxPauseMs)} ms, arena ${Math.round(info.arenaBytes / 2 ** 20)} MiB]`,
    );
  }
  shared?.detach();
  const v8Median = median(v8Ms);
  const bibopMedian = median(bibopMs);
  const result: MacroResult = {
    key: w.key,
    name: w.name,
    checksum: w.expected,
    v8Ms,
    bibopMs,
    v8MedianMs: v8Median,
    bibopMedianMs: bibopMedian,
    ratio: bibopMedian / v8Median,
    pairedRatioMedian: median(bibopMs.map((b, i) => b / v8Ms[i]!)),
    v8CpuMs,
    bibopCpuMs,
    v8Gcs,
    byRegime: [...new Set(v8Gcs.map(v8Regime))].map((regime) => {
      const times = v8Ms.filter((_, i) => v8Regime(v8Gcs[i]!) === regime);
      return { regime, runs: times.length, v8MedianMs: median(times), ratio: bibopMedian / median(times) };
    }),
    cpuRatio: median(bibopCpuMs) / median(v8CpuMs),
    bibopRuns,
    ...(w.target ? { target: w.target } : {}),
  };
  log(
    `  median: V8 ${fmtMs(v8Median)} ms   bibop ${fmtMs(bibopMedian)} ms   ratio ${fmtRatio(result.ratio)}` +
      ` (median of paired ratios ${fmtRatio(result.pairedRatioMedian)})   ${verdict(result.ratio, w.target)}\n` +
      `  CPU time median: V8 ${fmtMs(median(v8CpuMs))} ms   bibop ${fmtMs(median(bibopCpuMs))} ms   ratio ${fmtRatio(result.cpuRatio)}`,
  );
  for (const g of result.byRegime) {
    log(`  V8 ${g.regime}: ${g.runs} run(s), median ${fmtMs(g.v8MedianMs)} ms; bibop median over it ${fmtRatio(g.ratio)}`);
  }
  return result;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const quick = args.has('quick');
  const runsArg = args.get('runs');
  const runs = typeof runsArg === 'string' ? Number(runsArg) : quick ? 3 : 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${String(runsArg)}`);
  const onlyArg = args.get('only');
  const only = typeof onlyArg === 'string' ? new Set(onlyArg.split(',')) : null;
  const microTimeArg = args.get('micro-time');
  const microTime = typeof microTimeArg === 'string' ? Number(microTimeArg) : quick ? 500 : 1500;
  const outArg = args.get('out');
  const outFile = resolve(typeof outArg === 'string' ? outArg : '.bench-out/results.json');
  const reuseHeap = args.has('reuse-heap');
  // V8 pretenures binary-trees' node allocation site in some processes and not in others
  // (bimodal, ~2x apart). This pins the young regime, V8's faster one on this workload.
  const noPretenure = args.has('v8-no-pretenure');
  if (noPretenure) setFlagsFromString('--no-allocation-site-pretenuring');
  const wanted = (key: string): boolean => (only === null ? !(quick && key === 'bt20') : only.has(key));

  const machine = machineInfo();
  log(`bibop-gc benchmarks — Node ${machine.node} (V8 ${machine.v8}), ${machine.cpus} × ${machine.cpuModel}, ${machine.totalMemGiB} GiB`);
  log(`V8 baseline: objects made by constructors; runs ${runs}${quick ? ' (quick)' : ''}${noPretenure ? '; V8 --no-allocation-site-pretenuring' : ''}; heap ${JSON.stringify(MACRO_HEAP_OPTIONS)}; forced V8 GC between runs: ${fullV8Gc() ? 'yes' : 'no'}`);

  const started = new Date();
  const macro: MacroResult[] = [];
  const v8Gc = new V8GcCounter();
  for (const w of WORKLOADS) if (wanted(w.key)) macro.push(await runMacro(w, runs, reuseHeap, v8Gc));
  v8Gc.disconnect();

  let micro: MicroResults | null = null;
  if (only === null || only.has('micro')) {
    log('\n== micro-benchmarks (tinybench) ==');
    fullV8Gc();
    micro = await runMicro(microTime, log);
  }

  // ---- final table --------------------------------------------------------------------
  log('\n== summary (medians; ratio = bibop / V8, lower is better) ==\n');
  const rows: string[][] = macro.map((m) => [
    `${m.name} (V8 ${m.byRegime.map((g) => `${g.regime} ×${g.runs}`).join(', ')})`,
    `${fmtMs(m.v8MedianMs)} ms`,
    `${fmtMs(m.bibopMedianMs)} ms`,
    fmtRatio(m.ratio),
    fmtRatio(m.cpuRatio),
    verdict(m.ratio, m.target),
  ]);
  if (micro !== null) {
    const a = micro.alloc;
    rows.push([
      'alloc 16 B: bibop unchecked vs raw floor',
      `floor ${a.rawNsPerObject.toFixed(2)} ns/obj`,
      `${a.bibopNsPerObject.toFixed(2)} ns/obj`,
      fmtRatio(a.ratioToFloor),
      '—',
      verdict(a.ratioToFloor, ALLOC_TARGET),
    ]);
    rows.push([
      'alloc 16 B: bibop checked vs raw floor',
      `floor ${a.rawNsPerObject.toFixed(2)} ns/obj`,
      `${a.bibopCheckedNsPerObject.toFixed(2)} ns/obj`,
      fmtRatio(a.checkedRatioToFloor),
      '—',
      '—',
    ]);
    rows.push([
      'alloc 16 B: bibop checked vs unchecked',
      `${a.bibopNsPerObject.toFixed(2)} ns/obj`,
      `${a.bibopCheckedNsPerObject.toFixed(2)} ns/obj`,
      fmtRatio(a.checkedOverUnchecked),
      '—',
      '—',
    ]);
    rows.push([
      'alloc {left,right}: V8 constructor (reference)',
      `${a.v8NsPerObject.toFixed(2)} ns/obj`,
      `${a.bibopNsPerObject.toFixed(2)} ns/obj`,
      fmtRatio(a.bibopNsPerObject / a.v8NsPerObject),
      '—',
      '—',
    ]);
  }
  log(markdownTable(['benchmark', 'V8 / floor', 'bibop', 'ratio', 'CPU ratio', 'target (on the wall-time ratio)'], rows));
  if (micro !== null) {
    const m = micro.mark;
    const s = micro.sweep;
    log('');
    log(markdownTable(['GC phase', 'objects', 'phase ms (median)', 'objects / ms', 'ns / object', 'pause ms (median)'], [
      [`mark (${fmtNum(m.liveObjects, 0)} live)`, fmtNum(m.markedObjects, 0), fmtMs(m.markMsMedian), fmtNum(m.markedPerMs, 0), m.nsPerObject.toFixed(2), fmtMs(m.pauseMsMedian)],
      [`sweep (${fmtNum(s.garbageObjects, 0)} garbage)`, fmtNum(s.freedObjectsMedian, 0), fmtMs(s.sweepMsMedian), fmtNum(s.freedPerMs, 0), s.nsPerObject.toFixed(2), fmtMs(s.pauseMsMedian)],
    ]));
  }

  mkdirSync(dirname(outFile), { recursive: true });
  const results = {
    started: started.toISOString(),
    finished: new Date().toISOString(),
    machine,
    args: process.argv.slice(2),
    runs,
    reuseHeap,
    v8NoPretenure: noPretenure,
    heapOptions: MACRO_HEAP_OPTIONS,
    macro,
    micro,
  };
  writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
  log(`\nresults: ${outFile}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
