// Pause figures for every collection of a run, not only those whose events reached the
// main thread.
//
// A collection's GcEvent reaches the `onGC` listeners of the thread that collected, and
// nobody else. So every thread of a run (each worker, the main thread) records its events
// into one shared PauseLog as they happen; a worker killed later loses nothing it recorded.
// A collector killed between recording its event in the arena and calling its listeners
// (with verifyEachGC, its in-pause verify is that window) would still leave a gap, so an
// observer thread, which is not a mutator, also copies the arena's last-event words each
// time the epoch word is notified: at the end of every pause, and at every death notice
// (the supervisor notifies it), which is when a dead collector's event is still there to
// read. Entries are keyed by collection number, so the two sources never count one pause
// twice, and the report can say how many of the heap's pauses it covers.
//
// Log layout (Uint32Array): CAPACITY entries of ENTRY_WORDS words, entry = seq % CAPACITY:
//   word 0  seq            collection number (G_GC_STARTED value); written last (Atomics)
//   word 1  pause µs
//   word 2  rendezvous µs
//   word 3  collector slot + 1, with KIND_MAJOR set for a major collection
// The main thread drains the log into a map a few times a second, long before an entry
// could be overwritten by one CAPACITY collections later.

import { Worker } from 'node:worker_threads';
import type { GcEvent, Heap } from '../index.js';
import { G_EPOCH, G_EVENT_COLLECTOR, G_EVENT_KIND, G_EVENT_PAUSE_US, G_EVENT_RENDEZVOUS_US, G_EVENT_SEQ, GC_KIND_MAJOR } from '../heap/layout.js';

const CAPACITY = 1 << 14;
const ENTRY_WORDS = 4;
const E_SEQ = 0;
const E_PAUSE_US = 1;
const E_RENDEZVOUS_US = 2;
const E_COLLECTOR = 3;
const KIND_MAJOR = 0x80000000;

export function createPauseLog(): SharedArrayBuffer {
  return new SharedArrayBuffer(CAPACITY * ENTRY_WORDS * 4);
}

/** Records one collection's figures (idempotent per seq). */
export function recordPause(log: Uint32Array, seq: number, pauseUs: number, rendezvousUs: number, collector: number, major: boolean): void {
  const e = (seq % CAPACITY) * ENTRY_WORDS;
  if (seq === 0 || Atomics.load(log, e + E_SEQ) >= seq) return;
  log[e + E_PAUSE_US] = pauseUs;
  log[e + E_RENDEZVOUS_US] = rendezvousUs;
  log[e + E_COLLECTOR] = ((collector + 1) | (major ? KIND_MAJOR : 0)) >>> 0;
  Atomics.store(log, e + E_SEQ, seq);
}

/** Makes `heap` record every collection it runs into the log. */
export function recordPausesOf(heap: Heap, log: SharedArrayBuffer): () => void {
  const u32 = new Uint32Array(log);
  return heap.onGC((ev: GcEvent) => recordPause(u32, ev.seq, Math.round(ev.pauseMs * 1000), Math.round(ev.phases.rendezvousMs * 1000), ev.collector, ev.kind === 'major'));
}

// The observer: plain JS (it runs from source, in any bundle), reading the arena's globals only.
const OBSERVER_SOURCE = `
const { workerData } = require('node:worker_threads');
const g = new Int32Array(workerData.heap, 0, 64);
const log = new Uint32Array(workerData.log);
const CAPACITY = ${CAPACITY};
function record() {
  const seq = Atomics.load(g, ${G_EVENT_SEQ}) >>> 0;
  if (seq === 0) return;
  const pause = g[${G_EVENT_PAUSE_US}] >>> 0, rendezvous = g[${G_EVENT_RENDEZVOUS_US}] >>> 0, collector = g[${G_EVENT_COLLECTOR}] >>> 0;
  const major = (g[${G_EVENT_KIND}] >>> 0) === ${GC_KIND_MAJOR} ? ${KIND_MAJOR} : 0;
  // The words are written before the seq (an atomic store): a moved seq means a torn read.
  if ((Atomics.load(g, ${G_EVENT_SEQ}) >>> 0) !== seq) return;
  const e = (seq % CAPACITY) * ${ENTRY_WORDS};
  if (Atomics.load(log, e) >= seq) return;
  log[e + 1] = pause; log[e + 2] = rendezvous; log[e + 3] = ((collector + 1) | major) >>> 0;
  Atomics.store(log, e, seq);
}
for (;;) {
  const epoch = Atomics.load(g, ${G_EPOCH});
  record();
  Atomics.wait(g, ${G_EPOCH}, epoch, 50);
}
`;

export interface PauseFigures {
  /** Collection pauses the heap recorded (its pause count). */
  recorded: number;
  /** Of those, pauses whose figures the log holds. */
  covered: number;
  pauseMs: { p50: number; p99: number; max: number };
  rendezvousMs: { p50: number; p99: number; max: number };
  /** Pauses by kind: count and percentiles. */
  minor: { count: number; pauseMs: { p50: number; p99: number; max: number } };
  major: { count: number; pauseMs: { p50: number; p99: number; max: number } };
}

/** Collects the figures of every pause of one heap. */
export class PauseCollector {
  readonly log = createPauseLog();
  private readonly u32 = new Uint32Array(this.log);
  private readonly seen = new Map<number, { pauseUs: number; rendezvousUs: number; major: boolean }>();
  private observer: Worker | undefined;

  constructor(private readonly heap: Heap) {}

  /** Starts the observer thread and records the main thread's own collections. */
  start(): void {
    recordPausesOf(this.heap, this.log);
    this.observer = new Worker(OBSERVER_SOURCE, { eval: true, name: 'bibop-stress pause observer', workerData: { heap: this.heap.buffer, log: this.log } });
    this.observer.unref();
  }

  /** Moves new log entries into the map; call a few times a second. */
  drain(): void {
    for (let e = 0; e < CAPACITY * ENTRY_WORDS; e += ENTRY_WORDS) {
      const seq = Atomics.load(this.u32, e + E_SEQ);
      if (seq === 0 || this.seen.has(seq)) continue;
      this.seen.set(seq, { pauseUs: this.u32[e + E_PAUSE_US]!, rendezvousUs: this.u32[e + E_RENDEZVOUS_US]!, major: (this.u32[e + E_COLLECTOR]! & KIND_MAJOR) !== 0 });
    }
  }

  async stop(): Promise<void> {
    this.drain();
    await this.observer?.terminate();
    this.observer = undefined;
  }

  figures(): PauseFigures {
    this.drain();
    const pauses = [...this.seen.values()].map((p) => p.pauseUs / 1000).sort((a, b) => a - b);
    const rendezvous = [...this.seen.values()].map((p) => p.rendezvousUs / 1000).sort((a, b) => a - b);
    const of = (major: boolean): PauseFigures['minor'] => {
      const ms = [...this.seen.values()].filter((p) => p.major === major).map((p) => p.pauseUs / 1000).sort((a, b) => a - b);
      return { count: ms.length, pauseMs: percentiles(ms) };
    };
    return {
      recorded: this.heap.stats().pauseMs.count,
      covered: this.seen.size,
      pauseMs: percentiles(pauses),
      rendezvousMs: percentiles(rendezvous),
      minor: of(false),
      major: of(true),
    };
  }
}

/** p50, p99 and max of sorted values (nearest rank). */
export function percentiles(sorted: readonly number[]): { p50: number; p99: number; max: number } {
  if (sorted.length === 0) return { p50: 0, p99: 0, max: 0 };
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
}
