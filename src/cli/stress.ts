// `bibop stress`: the project's main job (`npm start`). Options, cross-checks between them,
// the progress line, and the report; the run itself is src/stress/run.ts.

import { availableParallelism } from 'node:os';
import { arenaLayout, PAGE_BYTES } from '../heap/layout.js';
import { runStress, type StressProgress, type StressReport } from '../stress/run.js';
import { UsageError, defineCommand } from './command.js';

const MIB = 2 ** 20;

function defaultWorkers(): number {
  return Math.max(3, Math.min(8, availableParallelism() + 1));
}

const options = {
  workers: { kind: 'int', min: 1, max: 60, default: defaultWorkers, value: 'N', help: 'mutator workers (lanes)' },
  duration: { kind: 'number', min: 0.5, max: 86_400, default: 20, value: 'S', unit: 'seconds', help: 'seconds to run' },
  heap: { kind: 'int', min: 2, max: 4095, default: 64, value: 'MB', unit: 'MiB', help: 'initial heap size in MiB' },
  'max-heap': {
    kind: 'int', min: 2, max: 4095, value: 'MB', unit: 'MiB', defaultText: '512, or --heap if larger',
    help: 'maximum heap size in MiB, at least --heap',
  },
  churn: { kind: 'number', min: 0, max: 1, default: 0.6, value: 'F', help: '0..1, share of iterations that only make garbage' },
  'graph-size': { kind: 'int', min: 1, max: 1_000_000, default: 2000, value: 'N', help: 'largest graph, in nodes' },
  'replace-every': { kind: 'int', min: 0, max: 1_000_000_000, default: 1500, value: 'MS', unit: 'ms', help: 'kill and replace a random worker this often, 0 for never' },
  seed: { kind: 'int', min: 0, max: 2 ** 31 - 1, default: 1, value: 'N', help: 'random seed' },
  json: { kind: 'boolean', help: 'print the report as JSON' },
} as const;
export const stressCommand = defineCommand({
  name: 'stress',
  summary: 'workers share object graphs on one heap while workers are killed; every collection is verified',
  description: [
    'Several workers build, share, check and drop object graphs on one heap while random workers are',
    'killed and replaced; every collection verifies the heap inside its pause. Exits 1 on any violation.',
  ].join('\n'),
  options,
  async run(v) {
    const heapBytes = v.heap * MIB;
    if (v['max-heap'] !== undefined && v['max-heap'] < v.heap) {
      throw new UsageError(`--max-heap (${v['max-heap']} MiB) must be at least --heap (${v.heap} MiB)`);
    }
    const maxHeapBytes = (v['max-heap'] ?? Math.max(512, v.heap)) * MIB;
    const header = arenaLayout(Math.floor(maxHeapBytes / PAGE_BYTES)).headerBytes;
    const minMiB = Math.ceil((header + 16 * PAGE_BYTES) / MIB);
    if (heapBytes < minMiB * MIB) {
      throw new UsageError(`--heap ${v.heap} MiB is too small for a ${maxHeapBytes / MIB} MiB maximum: its header alone takes ${(header / MIB).toFixed(1)} MiB; use --heap ${minMiB} or more`);
    }

    const tty = process.stderr.isTTY === true;
    let ticks = 0;
    const report = await runStress({
      workers: v.workers,
      durationMs: v.duration * 1000,
      heapBytes,
      maxHeapBytes,
      churn: v.churn,
      graphSize: v['graph-size'],
      replaceEveryMs: v['replace-every'],
      seed: v.seed,
      safepointTimeoutMs: 10_000,
      workerUrl: new URL('../workers/mutator.js', import.meta.url),
      onProgress: (p) => {
        if (tty) process.stderr.write(`\r${bar(p)}\x1b[K`);
        else if (ticks++ % 10 === 0) process.stderr.write(`${bar(p)}\n`);
      },
    });
    if (tty) process.stderr.write('\n');
    console.log(v.json ? JSON.stringify(report, null, 2) : formatReport(report));
    return report.ok ? 0 : 1;
  },
});

function bar(p: StressProgress, width = 28): string {
  const f = Math.min(1, p.elapsedMs / p.durationMs);
  const filled = Math.round(f * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(p.elapsedMs / 1000).toFixed(1)}s ` +
    `${(p.allocatedObjects / 1e6).toFixed(1)}M objects, ${p.collections} GCs, ${p.graphsChecked} checks, ` +
    `${p.replaced} replaced, ${p.failures} failures`;
}

const fmt = (n: number, digits = 2): string => n.toFixed(digits);

export function formatReport(r: StressReport): string {
  const o = r.options;
  const lines = [
    '',
    `bibop stress: ${o.workers} workers, ${fmt(r.elapsedMs / 1000, 1)} s, heap ${o.heapBytes / MIB}–${o.maxHeapBytes / MIB} MiB, churn ${o.churn}, seed ${o.seed}`,
    '',
    'workers (objects allocated per second):',
    ...r.workers.map((w) => `  lane ${w.lane}  worker ${String(w.workerId).padStart(2)}  ${(w.objectsPerSecond / 1e6).toFixed(2).padStart(6)} M/s  ${(w.allocatedObjects / 1e6).toFixed(1).padStart(7)} M objects  ${w.ended}`),
    '',
    `collections        ${r.collections.major} major, ${r.collections.minor} minor (${r.collections.byWorkers} requested explicitly by workers)`,
    `pause              p50 ${fmt(r.pauseMs.p50)} ms  p99 ${fmt(r.pauseMs.p99)} ms  max ${fmt(r.pauseMs.max)} ms`,
    `time to rendezvous p50 ${fmt(r.rendezvousMs.p50, 3)} ms  p99 ${fmt(r.rendezvousMs.p99, 3)} ms  max ${fmt(r.rendezvousMs.max, 3)} ms  (${r.rendezvousMs.samples} pauses seen)`,
    `heap               ${fmt(r.heap.arenaBytes / MIB, 1)} MiB of at most ${fmt(r.heap.maxBytes / MIB, 0)} MiB; peak occupancy ${fmt(r.heap.peakOccupancy * 100, 1)}%; ${r.heap.liveBytesAtEnd} bytes live at the end`,
    `workers replaced   ${r.replaced} (graphs of dead workers found intact by their successors: ${r.adoptedGraphs}; orphan pages seen at once: ${r.heap.orphanPagesSeen})`,
    `graphs             ${r.graphsBuilt} built, ${r.graphsChecked} checked across workers`,
    `verify             ${r.verify.ok ? 'ok' : 'FAILED'} (${r.verify.checkedObjects} objects checked at the end; every collection verified in its pause)`,
  ];
  if (r.failures.length > 0) lines.push('', `FAILURES (${r.failures.length}):`, ...r.failures.slice(0, 20).map((f) => `  ${f}`));
  if (!r.verify.ok) lines.push('', 'verify errors:', ...r.verify.errors.slice(0, 20).map((e) => `  ${e}`));
  lines.push('', r.ok ? 'result: ok' : 'result: FAILED');
  return lines.join('\n');
}
