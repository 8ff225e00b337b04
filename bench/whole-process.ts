// Whole-process runs: every run of every implementation in a fresh Node process
// (bench/one-run.ts), so each V8 run makes its own pretenuring decision as a real program
// would and no run inherits another's heap.
//
//   node dist/bench/whole-process.js [--workload bt|gcbench|splay] [--runs 5] [--depth 18]
//        [--impls v8,v8-literal,bibop] [--heap-opts JSON] [--variant LABEL=JSON]...
//        [--splay '{"keys":8000,"batches":2000}'] [--out FILE]
//
// Implementations:
//   v8          V8 objects made by constructors: V8 at its best, THE BASELINE of every ratio
//   v8-literal  the same program with object literals, "V8 literals (pretenured)": reported,
//               never a baseline (bt and gcbench only)
//   bibop       bibop-gc with the workload's heap options, --heap-opts merged over them
//   --variant young-off='{"youngBytes":0}'   one more bibop implementation, labelled, with
//               these options merged over the workload's (repeatable)
// Each round runs every implementation once, in a rotated order (so none always goes first).
// Checksums must agree across every run (and, for bt and gcbench, with the closed form).
// Heap options are tried with Heap.create before any run, so a rejected option (say
// `youngBytes` before the library has it) stops the runner at once with the library's message.
//
// Prints every run, then medians and ratios against the V8 constructor baseline, then the
// collectors' pauses by kind, pooled over all runs. Writes every per-run number to
// .bench-out/whole-process-<workload>.json (git-ignored).

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Heap } from '../src/index.js';
import { binaryTreesExpected, gcBenchExpected } from './lib/workloads.js';
import { splayParams } from './lib/splay.js';
import {
  EXIT_HEAP_OPTIONS, IMPLS, WORKLOADS, defaultHeapOptions, type ImplName, type RunRecord, type WorkloadName,
} from './lib/run-record.js';
import {
  fmtMs, fmtRatio, machineInfo, markdownTable, median, parseJsonObject, summarizePauses, type PauseSummary,
} from './lib/util.js';

interface Impl {
  label: string;
  impl: ImplName;
  /** Merged over the workload's heap options (bibop only). */
  heapOpts?: Record<string, unknown>;
}

const LABELS: Record<ImplName, string> = {
  v8: 'V8 constructor (baseline)',
  'v8-literal': 'V8 literals (pretenured)',
  bibop: 'bibop-gc',
};

const { values } = parseArgs({
  options: {
    workload: { type: 'string', default: 'bt' },
    runs: { type: 'string', default: '5' },
    depth: { type: 'string', default: '18' },
    impls: { type: 'string' },
    'heap-opts': { type: 'string' },
    variant: { type: 'string', multiple: true, default: [] },
    splay: { type: 'string' },
    out: { type: 'string' },
  },
});

function usage(message: string): never {
  process.stderr.write(`whole-process: ${message}\n`);
  process.exit(2);
}

const workload = values.workload as WorkloadName;
if (!WORKLOADS.includes(workload)) usage(`--workload is one of ${WORKLOADS.join(', ')}, got '${workload}'`);
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) usage(`--runs must be a positive integer, got ${values.runs}`);
const depth = Number(values.depth);
if (!Number.isInteger(depth) || depth < 0) usage(`--depth must be a non-negative integer, got ${values.depth}`);

function jsonArg(text: string, what: string): Record<string, unknown> {
  try {
    return parseJsonObject(text, what);
  } catch (err) {
    return usage((err as Error).message);
  }
}

const splay = (() => {
  try {
    return splayParams(values.splay === undefined ? {} : jsonArg(values.splay, '--splay'));
  } catch (err) {
    return usage((err as Error).message);
  }
})();

const impls: Impl[] = [];
const implNames = (values.impls ?? (workload === 'splay' ? 'v8,bibop' : 'v8,v8-literal,bibop')).split(',');
for (const name of implNames) {
  if (!IMPLS.includes(name as ImplName)) usage(`--impls: each is one of ${IMPLS.join(', ')}, got '${name}'`);
  if (workload === 'splay' && name === 'v8-literal') usage('Splay has no object-literal version; use --impls v8,bibop');
  const heapOpts = name === 'bibop' && values['heap-opts'] !== undefined ? jsonArg(values['heap-opts'], '--heap-opts') : undefined;
  impls.push({ label: heapOpts ? `${LABELS.bibop} ${JSON.stringify(heapOpts)}` : LABELS[name as ImplName], impl: name as ImplName, ...(heapOpts ? { heapOpts } : {}) });
}
for (const v of values.variant) {
  const eq = v.indexOf('=');
  if (eq <= 0) usage(`--variant takes LABEL=JSON (e.g. young-off='{"youngBytes":0}'), got '${v}'`);
  impls.push({ label: `bibop-gc ${v.slice(0, eq)}`, impl: 'bibop', heapOpts: jsonArg(v.slice(eq + 1), `--variant ${v.slice(0, eq)}`) });
}
if (new Set(impls.map((i) => i.label)).size !== impls.length) usage('two implementations have the same label');
if (values['heap-opts'] !== undefined && !implNames.includes('bibop')) usage('--heap-opts applies to the bibop implementation, which --impls leaves out');

// Try every set of heap options before the first run, so a rejected one fails in a second,
// not after minutes of runs.
for (const i of impls) {
  if (i.impl !== 'bibop') continue;
  const options = { ...defaultHeapOptions(workload), ...i.heapOpts };
  try {
    Heap.create(options).detach();
  } catch (err) {
    const message = (err as Error).message;
    const hint = message.includes('unknown option') ? '\n  (this build of bibop-gc does not have that option)' : '';
    usage(`'${i.label}': Heap.create rejected the heap options ${JSON.stringify(options)}:\n  ${message}${hint}`);
  }
}

const script = fileURLToPath(new URL('./one-run.js', import.meta.url));
const workloadArgs = workload === 'bt' ? ['--depth', String(depth)] : workload === 'splay' ? ['--splay', JSON.stringify(splay)] : [];

function once(i: Impl): RunRecord {
  const args = [script, '--workload', workload, '--impl', i.impl, ...workloadArgs];
  if (i.heapOpts) args.push('--heap-opts', JSON.stringify(i.heapOpts));
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status === EXIT_HEAP_OPTIONS) usage(`'${i.label}': ${r.stderr.trim()}`);
  if (r.status !== 0) throw new Error(`'${i.label}' run failed (exit ${r.status ?? r.signal}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as RunRecord;
}

/** V8's regime on a run, from its GC counts (see BENCHMARKS.md: "V8 runs in one of two regimes"). */
function regime(r: RunRecord): string {
  return r.v8Gc.major.count > r.v8Gc.minor.count ? 'pretenured' : 'young';
}

function runNote(i: Impl, r: RunRecord): string {
  const g = r.v8Gc;
  let note = i.impl === 'bibop' && r.bibopGc
    ? `bibop GC ${r.bibopGc.minor.count} minor + ${r.bibopGc.major.count} major, max pause ${fmtMs(r.bibopGc.maxPauseMs)} ms`
    : `V8 GC ${g.minor.count} minor + ${g.major.count} major, ${regime(r)}`;
  if (r.splay) note += `, worst batch ${fmtMs(r.splay.worstBatchMs)} ms`;
  return note;
}

const expected = workload === 'bt' ? binaryTreesExpected(depth) : workload === 'gcbench' ? gcBenchExpected() : undefined;
const title = workload === 'bt' ? `binary-trees depth ${depth}` : workload === 'gcbench' ? 'GCBench'
  : `Splay (${splay.keys} keys, payload depth ${splay.payloadDepth}, ${splay.batches} batches of ${splay.modificationsPerBatch})`;
const machine = machineInfo();
const started = new Date();
console.log(`${title}: ${runs} rounds, each implementation in a fresh process, rotated order`);
console.log(`Node ${machine.node} (V8 ${machine.v8}), ${machine.cpus} × ${machine.cpuModel}`);

const records = new Map<string, RunRecord[]>(impls.map((i) => [i.label, []]));
const perRun: (RunRecord & { round: number; label: string })[] = [];
let checksum = expected;
for (let round = 0; round < runs; round++) {
  const notes: string[] = [];
  for (let k = 0; k < impls.length; k++) {
    const i = impls[(round + k) % impls.length]!;
    const r = once(i);
    checksum ??= r.checksum;
    if (r.checksum !== checksum) throw new Error(`'${i.label}' checksum ${r.checksum}, expected ${checksum}`);
    records.get(i.label)!.push(r);
    perRun.push({ round: round + 1, label: i.label, ...r });
    notes.push(`    ${i.label}: ${fmtMs(r.ms)} ms (${runNote(i, r)})`);
  }
  console.log(`  round ${round + 1}:\n${notes.join('\n')}`);
}

// ---- summary ------------------------------------------------------------------------------
const baseline = records.get(LABELS.v8);
const baseMs = baseline ? median(baseline.map((r) => r.ms)) : NaN;
const summary = impls.map((i) => {
  const rs = records.get(i.label)!;
  const ms = median(rs.map((r) => r.ms));
  return {
    label: i.label,
    impl: i.impl,
    heapOptions: rs[0]!.heapOptions,
    medianMs: ms,
    ratioToV8Constructor: ms / baseMs,
    cpuMedianMs: median(rs.map((r) => r.cpuMs)),
    runsMs: rs.map((r) => r.ms),
    ...(rs[0]!.splay ? { worstBatchMedianMs: median(rs.map((r) => r.splay!.worstBatchMs)), p99BatchMedianMs: median(rs.map((r) => r.splay!.p99BatchMs)) } : {}),
  };
});

console.log(`\nMedians of ${runs}; ratio = implementation / V8 constructor (the baseline), lower is better.\n`);
const header = ['implementation', 'median ms', 'vs V8 constructor', 'runs ms', 'CPU ms'];
if (workload === 'splay') header.push('worst batch ms', 'p99 batch ms');
header.push('GCs per run (median)');
console.log(markdownTable(header, summary.map((s) => {
  const rs = records.get(s.label)!;
  const gcs = s.impl === 'bibop'
    ? `bibop ${median(rs.map((r) => r.bibopGc!.minor.count))} minor + ${median(rs.map((r) => r.bibopGc!.major.count))} major`
    : `V8 ${median(rs.map((r) => r.v8Gc.minor.count))} minor + ${median(rs.map((r) => r.v8Gc.major.count))} major (${rs.map(regime).join(', ')})`;
  const row = [s.label, fmtMs(s.medianMs), s.impl === 'v8' ? 'baseline' : Number.isNaN(s.ratioToV8Constructor) ? '— (no v8 run)' : fmtRatio(s.ratioToV8Constructor), s.runsMs.map(fmtMs).join(', '), fmtMs(s.cpuMedianMs)];
  if (workload === 'splay') row.push(fmtMs(s.worstBatchMedianMs!), fmtMs(s.p99BatchMedianMs!));
  row.push(gcs);
  return row;
})));

// Pauses pooled over all runs, by collector and kind: bibop's GcEvent.kind, V8's perf_hooks kind.
const pauseRows: string[][] = [];
const pauseSummary: { label: string; collector: string; kind: string; pooled: PauseSummary; perRunMedian: number }[] = [];
for (const i of impls) {
  const rs = records.get(i.label)!;
  const kinds: [string, string, (r: RunRecord) => number[]][] = i.impl === 'bibop'
    ? [['bibop', 'minor', (r) => r.pausesMs.bibop!.minor], ['bibop', 'major', (r) => r.pausesMs.bibop!.major]]
    : [['V8', 'minor (scavenge)', (r) => r.pausesMs.v8.minor], ['V8', 'major (mark-compact)', (r) => r.pausesMs.v8.major]];
  for (const [collector, kind, get] of kinds) {
    const pooled = summarizePauses(rs.flatMap(get));
    const perRunMedian = median(rs.map((r) => get(r).length));
    pauseSummary.push({ label: i.label, collector, kind, pooled, perRunMedian });
    pauseRows.push([i.label, `${collector} ${kind}`, String(perRunMedian), fmtMs(pooled.p50Ms), fmtMs(pooled.p99Ms), fmtMs(pooled.maxMs), fmtMs(pooled.totalMs / runs)]);
  }
}
console.log('\nGC pauses, all runs pooled (the JSON file also has V8\'s pauses in bibop processes, and its incremental-marking and weak-callback entries):\n');
console.log(markdownTable(['implementation', 'collector and kind', 'count per run', 'p50 ms', 'p99 ms', 'max ms', 'total ms per run'], pauseRows));

const outFile = resolve(values.out ?? `.bench-out/whole-process-${workload}.json`);
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, `${JSON.stringify({
  started: started.toISOString(),
  finished: new Date().toISOString(),
  machine,
  args: process.argv.slice(2),
  workload,
  params: workload === 'bt' ? { depth } : workload === 'splay' ? splay : {},
  checksum,
  impls,
  summary,
  pauses: pauseSummary,
  runs: perRun,
}, null, 2)}\n`);
console.log(`\nevery run: ${outFile}`);
