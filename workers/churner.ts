// A fault run's attach/detach churner: a plain thread (not spawned by the heap, so not
// watched) that attaches with Heap.attach(buffer), does a little work, and detaches, over and
// over, never collecting itself. Each cycle leaves behind what a short-lived thread leaves:
// a root stack, TLAB pages turned orphan, garbage finalizable objects, and weak refs to dead
// objects it never checks (the end-of-run audit does). It is never killed: a thread attached
// by buffer must detach before it ends, by the API's contract.
//
// workerData: { buffer, control, ledger, thread, seed, pauseLog }. Posts a ChurnerResult
// when C_STOP is set, or at its first failure.

import { parentPort, workerData } from 'node:worker_threads';
import { Heap } from '../src/index.js';
import { SHAPES, buildGraph, checkGraph, defineGraphTypes, rng } from '../src/stress/graphs.js';
import { countFinalizers, finalizableChurn, ledgerIds } from '../src/stress/faults.js';
import { L_ATTACH_CYCLES, Ledger } from '../src/stress/ledger.js';
import { recordPausesOf } from '../src/stress/pauses.js';
import { C_STOP, type ChurnerResult } from '../src/stress/protocol.js';

const { buffer, control, ledger: ledgerBuffer, thread, seed, pauseLog } = workerData as {
  buffer: SharedArrayBuffer; control: SharedArrayBuffer; ledger: SharedArrayBuffer; thread: number; seed: number; pauseLog: SharedArrayBuffer;
};
const stop = new Int32Array(control);
const ledger = new Ledger(ledgerBuffer);
const ids = ledgerIds(ledger);
const next = rng(seed);
const failures: string[] = [];
let cycles = 0;

while (Atomics.load(stop, C_STOP) === 0 && failures.length === 0) {
  let heap: Heap;
  try {
    heap = Heap.attach(buffer);
  } catch (e) {
    failures.push(`churner: Heap.attach failed after ${cycles} attach/detach cycles: ${(e as Error).message}`);
    break;
  }
  try {
    const t = defineGraphTypes(heap);
    countFinalizers(heap, t, ledger, thread);
    recordPausesOf(heap, pauseLog);
    const shape = (next() * SHAPES) | 0;
    const ok = heap.scope(() => {
      const root = buildGraph(heap, t, shape, 20 + ((next() * 60) | 0), (next() * 2 ** 31) | 0, -1);
      heap.weak(heap.alloc(t.Node)); // dies with the scope; left for the audit to find cleared
      const p = heap.persist(root);
      const intact = checkGraph(heap, t, p.get()) === true;
      p.release();
      return intact;
    });
    if (!ok) failures.push(`churner: a graph of shape ${shape} built in cycle ${cycles} fails its checksum`);
    finalizableChurn(heap, t, ids, 4);
  } catch (e) {
    failures.push(`churner: cycle ${cycles}: ${(e as Error).name}: ${(e as Error).message}`);
  } finally {
    try {
      heap.detach();
    } catch (e) {
      failures.push(`churner: detach in cycle ${cycles}: ${(e as Error).message}`);
    }
  }
  cycles++;
  ledger.add(L_ATTACH_CYCLES);
}

parentPort!.postMessage({ cycles, failures } satisfies ChurnerResult);
