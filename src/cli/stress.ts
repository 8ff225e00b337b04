// `bibop stress`: the project's main job (`npm start`). Options, cross-checks between them,
// the progress line, and the report; the run itself is src/stress/run.ts.

import { availableParallelism } from 'node:os';
import { arenaLayout, PAGE_BYTES } from '../heap/layout.js';
import { runStress, type StressProgress, type StressReport } from '../stress/run.js';
import { END_OBJECT_PAGES } from '../stress/audit.js';
import { UsageError, defineCommand } from './command.js';
import { finalHeapFiles } from './stress-map.js';

const MIB = 2 ** 20;

function defaultWorkers(): number {
  return Math.max(3, Math.min(8, availableParallelism() + 1));
}

const options = {
  workers: { kind: 'int', min: 1, max: 60, default: defaultWorkers, value: 'N', help: 'mutator workers (lanes)' },
  duration: { kind: 'number', min: 0.5, max: 86_400, default: 20, value: 'S', unit: 'seconds', help: 'seconds to run' },
  heap: { kind: 'int', min: 2, max: 4095, default: 64, value: 'MB', unit: 'MiB', help: 'initial heap size in MiB' },
  'max-heap': {
    kind: 'int', min: 2, max: 4095, value: 'MB', unit: 'MiB', defaultText: '512, or --heap if larger; --heap with --faults',
    help: 'maximum heap size in MiB, at least --heap',
  },
  churn: { kind: 'number', min: 0, max: 1, default: 0.6, value: 'F', help: '0..1, share of iterations that only make garbage' },
  'graph-size': { kind: 'int', min: 1, max: 1_000_000, default: 2000, value: 'N', help: 'largest graph, in nodes' },
  'replace-every': {
    kind: 'int', min: 0, max: 1_000_000_000, value: 'MS', unit: 'ms', defaultText: '1500; not with --faults',
    help: 'kill and replace a random worker this often, 0 for never',
  },
  faults: {
    kind: 'boolean',
    help: 'fault injection on a fixed-size arena, ending with an audit that the heap is back at its baseline',
  },
  seed: { kind: 'int', min: 0, max: 2 ** 31 - 1, default: 1, value: 'N', help: 'random seed' },
  map: { kind: 'string', value: 'FILE.html', help: 'write the heap map when the workers stop (open it in a browser)' },
  snapshot: { kind: 'string', value: 'FILE', help: 'write a snapshot of the heap when the workers stop (for map, diff, export)' },
  json: { kind: 'boolean', help: 'print the report as JSON' },
} as const;

export const stressCommand = defineCommand({
  name: 'stress',
  summary: 'workers share object graphs on one heap while workers are killed; every collection is verified',
  description: [
    'Several workers build, share, check and drop object graphs on one heap while random workers are',
    'killed and replaced; every collection verifies the heap inside its pause. Exits 1 on any violation.',
    'With --faults: kills every 20-200 ms, the collector killed inside its pause, attach/detach churn, large,',
    'finalizable and weakly held objects, and an end-of-run audit. Soak: bibop stress --faults --workers 8 --duration 600',
  ].join('\n'),
  options,
  async run(v) {
    const heapBytes = v.heap * MIB;
    let maxHeapBytes: number;
    if (v.faults) {
      if (v['max-heap'] !== undefined && v['max-heap'] !== v.heap) {
        throw new UsageError(`--faults runs a fixed-size arena: --max-heap must equal --heap (${v.heap}) or be left out, got ${v['max-heap']}`);
      }
      if (v['replace-every'] !== undefined) throw new UsageError('--replace-every does not apply with --faults, which kills a worker every 20-200 ms');
      maxHeapBytes = heapBytes;
    } else {
      if (v['max-heap'] !== undefined && v['max-heap'] < v.heap) {
        throw new UsageError(`--max-heap (${v['max-heap']} MiB) must be at least --heap (${v.heap} MiB)`);
      }
      maxHeapBytes = (v['max-heap'] ?? Math.max(512, v.heap)) * MIB;
    }
    const header = arenaLayout(Math.floor(maxHeapBytes / PAGE_BYTES)).headerBytes;
    const minMiB = Math.ceil((header + 16 * PAGE_BYTES) / MIB);
    if (heapBytes < minMiB * MIB) {
      throw new UsageError(`--heap ${v.heap} MiB is too small for a ${maxHeapBytes / MIB} MiB maximum: its header alone takes ${(header / MIB).toFixed(1)} MiB; use --heap ${minMiB} or more`);
    }

    const tty = process.stderr.isTTY === true;
    let ticks = 0;
    const files = finalHeapFiles(v.map, v.snapshot);
    const report = await runStress({
      workers: v.workers,
      durationMs: v.duration * 1000,
      heapBytes,
      maxHeapBytes,
      churn: v.churn,
      graphSize: v['graph-size'],
      replaceEveryMs: v['replace-every'] ?? 1500,
      seed: v.seed,
      safepointTimeoutMs: 10_000,
      workerUrl: new URL('../workers/mutator.js', import.meta.url),
      ...(v.faults ? { faults: { churnerUrl: new URL('../workers/churner.js', import.meta.url) } } : {}),
      ...(files.onFinalHeap !== undefined ? { onFinalHeap: files.onFinalHeap } : {}),
      onProgress: (p) => {
        if (tty) process.stderr.write(`\r${bar(p)}\x1b[K`);
        else if (ticks++ % 10 === 0) process.stderr.write(`${bar(p)}\n`);
      },
    });
    if (tty) process.stderr.write('\n');
    console.log(v.json ? JSON.stringify({ ...report, files: files.written() }, null, 2) : formatReport(report, files.reportLines()));
    return report.ok ? 0 : 1;
  },
});

function bar(p: StressProgress, width = 28): string {
  const f = Math.min(1, p.elapsedMs / p.durationMs);
  const filled = Math.round(f * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(p.elapsedMs / 1000).toFixed(1)}s ` +
    `${(p.allocatedObjects / 1e6).toFixed(1)}M objects, ${p.collections} GCs, ${p.graphsChecked} checks, ` +
    `${p.replaced} killed, ${p.failures} failures`;
}

const fmt = (n: number, digits = 2): string => n.toFixed(digits);

/** "every one of 55 pauses", or how many the figures cover and why the rest are missing. */
function coverage(covered: number, recorded: number): string {
  if (covered === recorded) return `every one of ${recorded} pauses`;
  return `${covered} of ${recorded} pauses; the rest were lost with collectors killed before they could report`;
}

type WorkerRecord = StressReport['workers'][number];

function workerLine(w: WorkerRecord): string {
  const life = w.ended === 'never started' ? '' : `after ${fmt(w.lifetimeMs / 1000, 1).padStart(5)} s`;
  const rate = w.role === 'mutator' && w.ended !== 'never started'
    ? `  ${fmt(w.objectsPerSecond / 1e6).padStart(6)} M objects/s  ${fmt(w.allocatedObjects / 1e6, 1).padStart(7)} M objects` : '';
  return `  ${w.name.padEnd(13)} slot ${String(w.slot).padStart(2)}  ${w.ended.padEnd(8)} ${life}${rate}`;
}

/** Every incarnation when there are few; else one line per lane, and each one that failed. */
function formatWorkers(workers: readonly WorkerRecord[]): string[] {
  if (workers.length <= 24) return workers.map(workerLine);
  const groups = new Map<string, WorkerRecord[]>();
  for (const w of workers) {
    const key = w.role === 'mutator' ? `lane ${w.lane}` : 'collector';
    groups.set(key, [...(groups.get(key) ?? []), w]);
  }
  const lines: string[] = [];
  for (const [key, ws] of groups) {
    const by = (e: WorkerRecord['ended']): number => ws.filter((w) => w.ended === e).length;
    const objects = ws.reduce((a, w) => a + w.allocatedObjects, 0);
    const seconds = ws.reduce((a, w) => a + w.lifetimeMs, 0) / 1000;
    const rate = key === 'collector' ? '' : `; ${fmt(objects / 1e6, 1)} M objects, ${fmt(objects / 1e6 / Math.max(0.001, seconds))} M objects/s`;
    lines.push(`  ${key.padEnd(10)} ${ws.length} workers (#0–#${ws.length - 1}): ${by('killed')} killed, ${by('finished')} finished, ${by('failed')} failed, ${by('never started')} never started${rate}`);
  }
  const odd = workers.filter((w) => w.ended === 'failed' || w.ended === 'never started');
  if (odd.length > 0) lines.push('  of which:', ...odd.map(workerLine));
  return lines;
}

export function formatReport(r: StressReport, fileLines: readonly string[] = []): string {
  const o = r.options;
  const p = r.pauses;
  const lines = [
    '',
    `bibop stress${o.faults ? ' --faults' : ''}: ${o.workers} workers, ${fmt(r.elapsedMs / 1000, 1)} s, heap ${o.heapBytes / MIB}–${o.maxHeapBytes / MIB} MiB${o.faults ? ' (fixed)' : ''}, churn ${o.churn}, seed ${o.seed}`,
    '',
    'workers (lane L #N is the N-th worker to run lane L; slots are reused across lanes):',
    ...formatWorkers(r.workers),
    '',
    `collections        ${r.collections.major} major, ${r.collections.minor} minor (${r.collections.byWorkers} requested explicitly by mutators)`,
    `pause              p50 ${fmt(p.pauseMs.p50)} ms  p99 ${fmt(p.pauseMs.p99)} ms  max ${fmt(p.pauseMs.max)} ms  (${coverage(p.covered, p.recorded)})`,
    `  minor pauses     ${String(p.minor.count).padStart(5)}: p50 ${fmt(p.minor.pauseMs.p50)} ms  p99 ${fmt(p.minor.pauseMs.p99)} ms  max ${fmt(p.minor.pauseMs.max)} ms`,
    `  major pauses     ${String(p.major.count).padStart(5)}: p50 ${fmt(p.major.pauseMs.p50)} ms  p99 ${fmt(p.major.pauseMs.p99)} ms  max ${fmt(p.major.pauseMs.max)} ms`,
    `time to rendezvous p50 ${fmt(p.rendezvousMs.p50, 3)} ms  p99 ${fmt(p.rendezvousMs.p99, 3)} ms  max ${fmt(p.rendezvousMs.max, 3)} ms  (${coverage(p.covered, p.recorded)})`,
    `heap               ${fmt(r.heap.arenaBytes / MIB, 1)} MiB of at most ${fmt(r.heap.maxBytes / MIB, 0)} MiB; peak occupancy ${fmt(r.heap.peakOccupancy * 100, 1)}%; ${r.heap.liveBytesAtEnd} bytes live at the end`,
    `workers killed     ${r.replaced} (graphs of dead workers found intact by their successors: ${r.adoptedGraphs}; most orphan pages at once: ${r.heap.orphanPagesSeen})`,
    `graphs             ${r.graphsBuilt} built, ${r.graphsChecked} checked across workers`,
    `verify             ${r.verify.ok ? 'ok' : 'FAILED'} (${r.verify.checkedObjects} objects checked at the end; every collection verified in its pause)`,
    ...fileLines,
  ];
  if (r.faults !== undefined) lines.push(...formatFaults(r.faults));
  if (r.failures.length > 0) lines.push('', `FAILURES (${r.failures.length}):`, ...r.failures.slice(0, 20).map((f) => `  ${f}`));
  if (!r.verify.ok) lines.push('', 'verify errors:', ...r.verify.errors.slice(0, 20).map((e) => `  ${e}`));
  lines.push('', r.ok ? 'result: ok' : 'result: FAILED');
  return lines.join('\n');
}

function formatFaults(f: NonNullable<StressReport['faults']>): string[] {
  const k = f.kills;
  const a = f.audit;
  const fin = a.finalizers;
  const exact = fin.missing - fin.forgiven <= 0 && fin.repeated === 0;
  return [
    '',
    'faults',
    `  kills            ${k.total}: ${k.mutators} mutators, ${k.collectorAttempts} aimed at the collector (${k.collectorMidPause} inside its pause); ${k.duringPublish} inside a publish, ${k.insideFinalizer} inside a finalizer`,
    `  collections      ${f.verifies.inPause}, each verified in its pause (${f.collectorCollections} by the collector lane); ${f.collectionsCutShort} cut short by a kill and redone`,
    `  verify()         right after ${f.verifies.afterKills} kills: ${f.verifies.afterKills - f.verifies.afterKillsFailed} ok, ${f.verifies.afterKillsFailed} failed`,
    `  attach/detach    ${f.attachDetachCycles} cycles, none collecting`,
    `  large objects    ${f.largeObjects} garbage i32 arrays of 3 pages, and 2 in every bundle published`,
    `  finalizers       ${fin.made} finalizable objects made, ${fin.ran} finalizer runs: ${exact ? 'each exactly once' : `${fin.missing} never ran, ${fin.repeated} ran twice or more`}${fin.forgiven > 0 ? ` (${fin.forgiven} lost to kills inside their callback)` : ''}${f.finalizableIdsExhausted > 0 ? `; ${f.finalizableIdsExhausted} not made (ledger full)` : ''}`,
    `  weak refs        ${f.weakRefs.clearedWhenDead} read null after their target died, ${f.weakRefs.intactWhileLive} intact while it lived; ${a.handles.weak} left at the end, ${a.handles.weakUncleared} not cleared`,
    `  pages at the end ${a.pages.objectPages} holding objects (small ${a.pages.small}, large ${a.pages.large}, orphan ${a.pages.orphan}; at most ${END_OBJECT_PAGES}), ${a.pages.system} system (at most ${a.pages.systemBound}), ${a.pages.free} free`,
    `  handles          ${a.handles.strongLeft} persistent and ${a.handles.final} finalization entries left; ${a.strandedHandles} stranded by kills inside a publish, released`,
    `  worker slots     ${a.workerSlotsInUse} in use at the end${a.workerSlotsInUse === 1 ? " (the main thread's)" : ''}`,
  ];
}
