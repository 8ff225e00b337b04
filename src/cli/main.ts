// The `bibop` command. `bibop stress` is the project's main job (`npm start`).

import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { runStress, type StressProgress, type StressReport } from '../stress/run.js';
import { INSPECT_COMMANDS } from './inspect-commands.js';
import { finalHeapFiles } from './stress-map.js';

const HELP = `bibop — tools for the bibop-gc shared heap

usage:
  bibop stress [options]   several workers build, share, check and drop object graphs on one
                           heap while workers are killed and replaced; verifies the heap after
                           every collection and exits non-zero on any violation
${INSPECT_COMMANDS.map((c) => c.usage).join('\n')}
  bibop help

stress options:
  --workers N          mutator workers (default: ${defaultWorkers()})
  --duration S         seconds to run (default: 20)
  --heap MB            initial heap size in MiB (default: 64)
  --max-heap MB        maximum heap size in MiB (default: 512)
  --churn F            0..1, share of iterations that only make garbage (default: 0.6)
  --graph-size N       largest graph, in nodes (default: 2000)
  --replace-every MS   kill and replace a random worker this often, 0 for never (default: 1500)
  --seed N             random seed (default: 1)
  --json               print the report as JSON
  --map FILE.html      write the heap map when the workers stop
  --snapshot FILE      write a snapshot of the heap when the workers stop
`;

function defaultWorkers(): number {
  return Math.max(3, Math.min(8, availableParallelism() + 1));
}

function num(value: string | undefined, fallback: number, name: string, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}, got '${value}'`);
  return n;
}

function bar(p: StressProgress, width = 28): string {
  const f = Math.min(1, p.elapsedMs / p.durationMs);
  const filled = Math.round(f * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(p.elapsedMs / 1000).toFixed(1)}s ` +
    `${(p.allocatedObjects / 1e6).toFixed(1)}M objects, ${p.collections} GCs, ${p.graphsChecked} checks, ` +
    `${p.replaced} replaced, ${p.failures} failures`;
}

function fmt(n: number, digits = 2): string {
  return n.toFixed(digits);
}

function printReport(r: StressReport, files: string[] = []): void {
  const o = r.options;
  const lines = [
    '',
    `bibop stress: ${o.workers} workers, ${fmt(r.elapsedMs / 1000, 1)} s, heap ${o.heapBytes >> 20}–${o.maxHeapBytes >> 20} MiB, churn ${o.churn}, seed ${o.seed}`,
    '',
    'workers (objects allocated per second):',
    ...r.workers.map((w) => `  lane ${w.lane}  worker ${String(w.workerId).padStart(2)}  ${(w.objectsPerSecond / 1e6).toFixed(2).padStart(6)} M/s  ${(w.allocatedObjects / 1e6).toFixed(1).padStart(7)} M objects  ${w.ended}`),
    '',
    `collections        ${r.collections.major} major, ${r.collections.minor} minor (${r.collections.byWorkers} requested explicitly by workers)`,
    `pause              p50 ${fmt(r.pauseMs.p50)} ms  p99 ${fmt(r.pauseMs.p99)} ms  max ${fmt(r.pauseMs.max)} ms`,
    `time to rendezvous p50 ${fmt(r.rendezvousMs.p50, 3)} ms  p99 ${fmt(r.rendezvousMs.p99, 3)} ms  max ${fmt(r.rendezvousMs.max, 3)} ms  (${r.rendezvousMs.samples} pauses seen)`,
    `heap               ${r.heap.arenaBytes >> 20} MiB of at most ${r.heap.maxBytes >> 20} MiB; peak occupancy ${fmt(r.heap.peakOccupancy * 100, 1)}%; ${r.heap.liveBytesAtEnd} bytes live at the end`,
    `workers replaced   ${r.replaced} (graphs of dead workers found intact by their successors: ${r.adoptedGraphs}; orphan pages seen at once: ${r.heap.orphanPagesSeen})`,
    `graphs             ${r.graphsBuilt} built, ${r.graphsChecked} checked across workers`,
    `verify             ${r.verify.ok ? 'ok' : 'FAILED'} (${r.verify.checkedObjects} objects checked at the end; every collection verified in its pause)`,
  ];
  lines.push(...files);
  if (r.failures.length > 0) lines.push('', `FAILURES (${r.failures.length}):`, ...r.failures.slice(0, 20).map((f) => `  ${f}`));
  if (!r.verify.ok) lines.push('', 'verify errors:', ...r.verify.errors.slice(0, 20).map((e) => `  ${e}`));
  lines.push('', r.ok ? 'result: ok' : 'result: FAILED');
  console.log(lines.join('\n'));
}

async function stress(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      workers: { type: 'string' }, duration: { type: 'string' }, heap: { type: 'string' }, 'max-heap': { type: 'string' },
      churn: { type: 'string' }, 'graph-size': { type: 'string' }, 'replace-every': { type: 'string' }, seed: { type: 'string' },
      json: { type: 'boolean' }, map: { type: 'string' }, snapshot: { type: 'string' },
    },
  });
  const files = finalHeapFiles(values.map, values.snapshot);
  const heapMiB = num(values.heap, 64, 'heap', 2, 4095);
  const options = {
    workers: Math.round(num(values.workers, defaultWorkers(), 'workers', 1, 60)),
    durationMs: num(values.duration, 20, 'duration', 0.5, 86_400) * 1000,
    heapBytes: heapMiB * 2 ** 20,
    maxHeapBytes: Math.max(heapMiB, num(values['max-heap'], 512, 'max-heap', 2, 4095)) * 2 ** 20,
    churn: num(values.churn, 0.6, 'churn', 0, 1),
    graphSize: Math.round(num(values['graph-size'], 2000, 'graph-size', 1, 1e6)),
    replaceEveryMs: num(values['replace-every'], 1500, 'replace-every', 0, 1e9),
    seed: Math.round(num(values.seed, 1, 'seed', 0, 2 ** 31 - 1)),
    safepointTimeoutMs: 10_000,
    workerUrl: new URL('../workers/mutator.js', import.meta.url),
  };
  const tty = process.stderr.isTTY === true;
  let ticks = 0;
  const report = await runStress({
    ...options,
    onFinalHeap: files.onFinalHeap,
    onProgress: (p) => {
      if (tty) process.stderr.write(`\r${bar(p)}\x1b[K`);
      else if (ticks++ % 10 === 0) process.stderr.write(`${bar(p)}\n`);
    },
  });
  if (tty) process.stderr.write('\n');
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else printReport(report, files.reportLines());
  return report.ok ? 0 : 1;
}

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  const inspect = INSPECT_COMMANDS.find((c) => c.name === command);
  if (inspect !== undefined) return inspect.run(rest);
  switch (command) {
    case 'stress':
      return stress(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(HELP);
      return command === undefined ? 1 : 0;
    default:
      console.error(`bibop: unknown command '${command}'\n${HELP}`);
      return 2;
  }
}

main().then((code) => {
  process.exitCode = code;
}, (e: unknown) => {
  console.error(`bibop: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 2;
});
