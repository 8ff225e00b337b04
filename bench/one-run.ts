// One run of one workload in a process of its own (bench/whole-process.ts starts these):
//
//   node dist/bench/one-run.js --workload bt|gcbench|splay --impl v8|v8-literal|bibop
//        [--depth 18] [--heap-opts '{"youngBytes":0}'] [--splay '{"keys":8000,"batches":2000}']
//
//   v8          V8 objects made by constructors: V8 at its best, the baseline
//   v8-literal  the same program with object literals (V8 pretenures them in most processes)
//   bibop       a bibop-gc heap: the workload's default options (MACRO_HEAP_OPTIONS or
//               SPLAY_HEAP_OPTIONS) with --heap-opts merged over them, passed to Heap.create
//
// Prints one JSON line (RunRecord). `ms` covers creating the heap (bibop) and the workload,
// not Node's start-up. Pauses are recorded in this process: bibop's from heap.onGC (which
// sees the collections this thread runs: all of them, as the workloads are single-threaded),
// V8's from perf_hooks 'gc' entries, both split by kind. Heap options that Heap.create
// rejects end the process with exit code 3 and the library's message on stderr.

import { parseArgs } from 'node:util';
import { Heap, type GcEvent } from '../src/index.js';
import {
  binaryTreesHeap, binaryTreesV8, binaryTreesV8Literal, gcBenchHeap, gcBenchV8, gcBenchV8Literal,
} from './lib/workloads.js';
import { splayHeap, splayParams, splayV8, type SplayResult } from './lib/splay.js';
import { parseJsonObject, percentile, recordV8Pauses, summarizePauses } from './lib/util.js';
import {
  EXIT_HEAP_OPTIONS, IMPLS, WORKLOADS, defaultHeapOptions, type ImplName, type RunRecord, type WorkloadName,
} from './lib/run-record.js';

const round = (xs: number[]): number[] => xs.map((x) => Math.round(x * 1e4) / 1e4);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workload: { type: 'string', default: 'bt' },
      impl: { type: 'string', default: 'v8' },
      depth: { type: 'string', default: '18' },
      'heap-opts': { type: 'string' },
      splay: { type: 'string' },
    },
  });
  const workload = values.workload as WorkloadName;
  const impl = values.impl as ImplName;
  if (!WORKLOADS.includes(workload)) throw new Error(`--workload: one of ${WORKLOADS.join(', ')}, got '${workload}'`);
  if (!IMPLS.includes(impl)) throw new Error(`--impl: one of ${IMPLS.join(', ')}, got '${impl}'`);
  if (workload === 'splay' && impl === 'v8-literal') throw new Error('Splay has no object-literal version (its V8 version is class-based)');
  const depth = Number(values.depth);
  const splay = splayParams(values.splay === undefined ? {} : parseJsonObject(values.splay, '--splay'));
  const heapOptions = { ...defaultHeapOptions(workload), ...(values['heap-opts'] === undefined ? {} : parseJsonObject(values['heap-opts'], '--heap-opts')) };

  const v8Pauses = recordV8Pauses();
  const bibopPauses = { minor: [] as number[], major: [] as number[] };
  let heap: Heap | undefined;
  let splayResult: SplayResult | undefined;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let checksum: number;
  if (impl === 'bibop') {
    try {
      heap = Heap.create(heapOptions);
    } catch (err) {
      process.stderr.write(`Heap.create rejected the heap options ${JSON.stringify(heapOptions)}: ${(err as Error).message}\n`);
      process.exit(EXIT_HEAP_OPTIONS);
    }
    const h = heap;
    h.onGC((e: GcEvent) => bibopPauses[e.kind].push(e.pauseMs));
    if (workload === 'bt') checksum = binaryTreesHeap(h, depth);
    else if (workload === 'gcbench') checksum = gcBenchHeap(h);
    else checksum = (splayResult = splayHeap(h, splay)).checksum;
  } else if (workload === 'bt') {
    checksum = impl === 'v8' ? binaryTreesV8(depth) : binaryTreesV8Literal(depth);
  } else if (workload === 'gcbench') {
    checksum = impl === 'v8' ? gcBenchV8() : gcBenchV8Literal();
  } else {
    checksum = (splayResult = splayV8(splay)).checksum;
  }
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  const v8 = await v8Pauses.stop();

  const record: RunRecord = {
    workload,
    impl,
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    checksum,
    ...(impl === 'bibop' ? {
      heapOptions,
      bibopGc: {
        minor: summarizePauses(bibopPauses.minor),
        major: summarizePauses(bibopPauses.major),
        maxPauseMs: Math.max(summarizePauses(bibopPauses.minor).maxMs, summarizePauses(bibopPauses.major).maxMs),
        arenaMiB: (heap?.stats().arenaBytes ?? 0) / 2 ** 20,
      },
    } : {}),
    v8Gc: { minor: summarizePauses(v8.minor), major: summarizePauses(v8.major), other: summarizePauses(v8.other) },
    ...(splayResult === undefined ? {} : {
      splay: {
        setupMs: splayResult.setupMs,
        batches: splayResult.batchMs.length,
        worstBatchMs: percentile(splayResult.batchMs, 100),
        p50BatchMs: percentile(splayResult.batchMs, 50),
        p99BatchMs: percentile(splayResult.batchMs, 99),
      },
    }),
    pausesMs: {
      v8: { minor: round(v8.minor), major: round(v8.major), other: round(v8.other) },
      ...(impl === 'bibop' ? { bibop: { minor: round(bibopPauses.minor), major: round(bibopPauses.major) } } : {}),
    },
  };
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
