// The ledger of a fault run: what every thread did that the end-of-run audit must account
// for, in shared memory so that a thread killed at any instruction leaves a true record.
//
//  Int32 words 0‥63: counters (L_*), bumped with Atomics by any thread
//  Int32 words 64‥: THREAD_WORDS per thread index (lanes 0‥L-1, then the collector, the
//                   attach/detach churner and the main thread: see threadIndex()):
//     +0 T_IN_FINALIZER   finalizable id + 1 while this thread runs a finalizer callback
//     +1 T_HANDLE_OP      OP_PUBLISH while it persists a graph and stores it in the exchange,
//                         OP_RELEASE while it releases the graph that one replaced: a kill
//                         in either step may strand one persistent handle
//  Uint8 per object id:   FINAL_MADE bit once the finalizable object with this id exists,
//                         low bits: how many times its finalizer ran
//
// A finalizer's run is counted by its first statement, so a kill can lose a run only while
// T_IN_FINALIZER names it; the audit forgives exactly those.

export const L_NEXT_ID = 0; // next finalizable object id (ids start at 1; 0 = id not written yet)
export const L_FINAL_RUNS = 1; // finalizer callbacks run
export const L_FINAL_UNSET = 2; // callbacks on objects killed before their id was written
export const L_WEAK_CLEARED = 3; // weak refs to dead objects found cleared
export const L_WEAK_ALIVE = 4; // weak refs to live objects found intact
export const L_ATTACH_CYCLES = 5; // attach → work → detach cycles completed
export const L_LARGE = 6; // large objects allocated
export const L_COLLECTOR_COLLECTS = 7; // collections run by the collector lane
export const L_IDS_EXHAUSTED = 8; // finalizable objects not made because the id space ran out
const COUNTER_WORDS = 64;

export const T_IN_FINALIZER = 0;
export const T_HANDLE_OP = 1;
const THREAD_WORDS = 2;
export const MAX_THREADS = 64;
export const OP_PUBLISH = 1;
export const OP_RELEASE = 2;

/** Finalizable object ids per run; past it, no more finalizable objects are made. */
export const LEDGER_IDS = 1 << 22;
export const FINAL_MADE = 0x80;
export const FINAL_RUNS_MASK = 0x7f;

const I32_WORDS = COUNTER_WORDS + MAX_THREADS * THREAD_WORDS;
const IDS_OFFSET = I32_WORDS * 4;

export function createLedger(): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(IDS_OFFSET + LEDGER_IDS);
  new Int32Array(buffer)[L_NEXT_ID] = 1;
  return buffer;
}

/** Typed views of a ledger buffer. */
export class Ledger {
  readonly i32: Int32Array;
  readonly ids: Uint8Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer, 0, I32_WORDS);
    this.ids = new Uint8Array(buffer, IDS_OFFSET, LEDGER_IDS);
  }

  count(counter: number): number {
    return Atomics.load(this.i32, counter);
  }

  add(counter: number, n = 1): void {
    Atomics.add(this.i32, counter, n);
  }

  threadWord(thread: number, word: number): number {
    return COUNTER_WORDS + thread * THREAD_WORDS + word;
  }

  /** A new finalizable object id, or 0 once the id space is used up. */
  nextId(): number {
    const id = Atomics.add(this.i32, L_NEXT_ID, 1);
    if (id < LEDGER_IDS) return id;
    Atomics.add(this.i32, L_IDS_EXHAUSTED, 1);
    return 0;
  }
}

/** Ledger thread index of each role, for a run with `lanes` mutator lanes. */
export function threadIndex(lanes: number, role: 'collector' | 'churner' | 'main'): number {
  return lanes + (role === 'collector' ? 0 : role === 'churner' ? 1 : 2);
}
