// Hang detection for stress runs: every wait of the driver is bounded, and a hang fails
// with a diagnosis instead of blocking forever.
//
// Two layers. `withDeadline` bounds each promise the driver awaits (workers finishing,
// starting, answering); it runs on the event loop. A main thread blocked inside the heap
// (a collection or verify that never returns) has no event loop, so a watchdog thread also
// watches a heartbeat the driver bumps: if it stops for `hangMs`, the thread writes the
// diagnosis (the phase the driver was in, the collection and lock words, every worker
// slot) straight to stderr and kills the process, since nothing else could end it.

import { Worker } from 'node:worker_threads';
import {
  G_EPOCH, G_GC_OWNER, G_LOCK, MAX_WORKERS, W_STATE, WORKER_STATE_NAMES, workerWord,
} from '../heap/layout.js';

/** One line: the collection and lock words, and every worker slot that is not free. */
export function describeHeapState(buffer: SharedArrayBuffer): string {
  const i32 = new Int32Array(buffer, 0, workerWord(MAX_WORKERS));
  const slots: string[] = [];
  for (let s = 0; s < MAX_WORKERS; s++) {
    const state = Atomics.load(i32, workerWord(s) + W_STATE);
    if (state !== 0) slots.push(`${s}:${WORKER_STATE_NAMES[state] ?? state}`);
  }
  return `gc owner word ${Atomics.load(i32, G_GC_OWNER)}, epoch ${Atomics.load(i32, G_EPOCH)}, lock word ${Atomics.load(i32, G_LOCK)}; slots ${slots.join(' ')}`;
}

export class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
}

/** `p`, or a DeadlineError naming `what` and the heap's state if it takes longer than `ms`. */
export async function withDeadline<T>(p: Promise<T>, ms: number, what: string, buffer: SharedArrayBuffer): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`watchdog: ${what} took longer than ${ms} ms; ${describeHeapState(buffer)}`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `cond` on the event loop until it holds; throws a DeadlineError after `ms`. */
export async function pollUntil(cond: () => boolean, ms: number, what: string, buffer: SharedArrayBuffer): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new DeadlineError(`watchdog: ${what} did not happen within ${ms} ms; ${describeHeapState(buffer)}`);
    await new Promise((r) => setTimeout(r, 1));
  }
  return true;
}

const HB_BEAT = 0;
const HB_PHASE = 1;

const SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const hb = new Int32Array(workerData.heartbeat);
const heap = new Int32Array(workerData.heap, 0, ${workerWord(MAX_WORKERS)});
const names = ${JSON.stringify(WORKER_STATE_NAMES)};
let last = -1, since = Date.now();
setInterval(() => {
  const beat = Atomics.load(hb, ${HB_BEAT});
  if (beat !== last) { last = beat; since = Date.now(); return; }
  if (Date.now() - since < workerData.hangMs) return;
  const slots = [];
  for (let s = 0; s < ${MAX_WORKERS}; s++) {
    const st = Atomics.load(heap, ${workerWord(0)} + s * ${workerWord(1) - workerWord(0)} + ${W_STATE});
    if (st !== 0) slots.push(s + ':' + (names[st] ?? st));
  }
  const phase = workerData.phases[Atomics.load(hb, ${HB_PHASE})] ?? '?';
  writeSync(2, 'bibop stress: watchdog: the main thread made no progress for ' + (Date.now() - since) + ' ms while ' + phase +
    '; gc owner word ' + Atomics.load(heap, ${G_GC_OWNER}) + ', epoch ' + Atomics.load(heap, ${G_EPOCH}) + ', lock word ' +
    Atomics.load(heap, ${G_LOCK}) + '; slots ' + slots.join(' ') + '\\n');
  process.kill(process.pid, 'SIGKILL');
}, 250);
`;

/** The watchdog thread's side of the heartbeat. */
export class HangWatchdog<P extends string> {
  private readonly heartbeat = new Int32Array(new SharedArrayBuffer(8));
  private readonly worker: Worker;

  constructor(heap: SharedArrayBuffer, private readonly phases: readonly P[], hangMs: number) {
    this.worker = new Worker(SOURCE, { eval: true, name: 'bibop-stress watchdog', workerData: { heartbeat: this.heartbeat.buffer, heap, hangMs, phases } });
    this.worker.unref();
  }

  /** Says the driver is alive, and what it is doing. */
  beat(phase: P): void {
    Atomics.add(this.heartbeat, HB_BEAT, 1);
    Atomics.store(this.heartbeat, HB_PHASE, this.phases.indexOf(phase));
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}
