// The pause driver: how one thread requests, holds and ends a stop-the-world pause.
//
//   1. Request: one CAS of G_GC_OWNER (rendezvous.ts). A thread that loses joins the other's
//      pause as a participant: a running one stops at its safepoint, a parked one waits for
//      the epoch to move. There is no local collection while others run.
//   2. Rendezvous: wait until no other worker is running (rendezvous.ts).
//   3. The work: a collection (collector.ts), a verification (verify.ts), or both.
//   4. Resume: every stopped worker runs again, the owner word is freed, the epoch moves.
//   5. This thread's onGC listeners run, after the pause and before collect() returns.
// A collector killed at any step leaves G_GC_OWNER naming a dead slot; the first waiter to
// notice takes the pause over (`collectorDied`) and runs it from step 2, which recover.ts
// makes safe from any point.
//
// Concurrency contract: one PauseDriver per thread; it is that thread's only way into a pause.

import type { Thread } from '../heap/thread.js';
import {
  G_EPOCH, G_EVENT_SEQ, G_GC_FLAGS, G_GC_OWNER, G_GC_STARTED, G_MAJOR_DUE, GC_FLAG_VERIFY, GC_KIND_MAJOR, GC_KIND_MINOR,
  MAX_WORKERS, W_SCOPES,
} from '../heap/layout.js';
import { SpanWalker } from '../heap/spans.js';
import { stopAtSafepoint, waitForPauseEnd, type PauseWaiter } from '../safepoint/registry.js';
import { requestPause, resumeTheWorld, stopTheWorld } from '../safepoint/rendezvous.js';
import { HeapCorruptionError, HeapUsageError } from '../errors.js';
import { collectInPause, readEvent, type CollectorState, type GcEvent } from './collector.js';
import { Sweeper } from './sweep.js';
import { Marker } from './mark.js';
import { needsRecovery, recover, retireEveryTlab } from './recover.js';
import { verifyHeap, type VerifyResult } from './verify.js';
import { describeObject, remark } from './sanity.js';

export class PauseDriver implements PauseWaiter {
  readonly walker = new SpanWalker();
  private readonly collector: CollectorState = {
    marker: new Marker(), walker: this.walker, sweeper: new Sweeper(), preVerify: undefined, rootSlots: new Uint8Array(MAX_WORKERS), deferredFinalizable: 0,
  };
  private readonly listeners: ((event: GcEvent) => void)[] = [];
  /** True while this thread holds a pause. */
  inPause = false;

  constructor(private readonly t: Thread) {}

  get i32(): Int32Array {
    return this.t.i32;
  }

  get slot(): number {
    return this.t.slot;
  }

  get canBlock(): boolean {
    return this.t.canBlock;
  }

  /**
   * Runs a collection of `kind` that begins after this call, on this thread or, if another
   * worker is collecting, as a participant in the next one (a major answers a minor, never the
   * other way round). Returns its event.
   */
  collect(kind: number): GcEvent {
    const t = this.t;
    if (this.inPause) throw new HeapUsageError(`worker ${t.slot}: collect() from inside a pause`, { workerId: t.slot });
    const startedBefore = Atomics.load(t.i32, G_GC_STARTED);
    for (;;) {
      if (requestPause(t.i32, t.slot)) return this.runPause(kind);
      this.waitForOtherCollector();
      // The event words are written by whichever thread holds the next pause: they are read
      // whole only if no pause is on and the sequence number did not move meanwhile.
      // A major asked for is not answered by another thread's minor; a minor is by a major.
      const event = readEvent(t.u32);
      const settled = Atomics.load(t.i32, G_GC_OWNER) === 0 && Atomics.load(t.u32, G_EVENT_SEQ) === event.seq;
      if (settled && event.seq > startedBefore && (kind === GC_KIND_MINOR || event.kind === 'major')) return event;
    }
  }

  /**
   * The allocator needs a collection (the pool is empty, the young budget is used up): run
   * it — a major instead of a minor when one is due — or take part in the one under way.
   */
  collectForAllocation(kind: number): void {
    if (!requestPause(this.t.i32, this.t.slot)) {
      this.waitForOtherCollector();
      return;
    }
    this.runPause(kind === GC_KIND_MINOR && this.t.u32[G_MAJOR_DUE] === 1 ? GC_KIND_MAJOR : kind);
  }

  /** At a safepoint, while a collection is requested: stop until the pause ends. */
  safepointSlow(): void {
    const t = this.t;
    t.u32[t.ctl + W_SCOPES] = t.u32[t.ctl + W_SCOPES]! + 1;
    stopAtSafepoint(this);
    t.syncViews();
  }

  /** Waits out another thread's pause: stopped if this thread runs, else as a parked waiter. */
  waitForOtherCollector(): void {
    const t = this.t;
    if (t.depth > 0) {
      this.safepointSlow();
      return;
    }
    const epoch = Atomics.load(t.i32, G_EPOCH);
    if (Atomics.load(t.i32, G_GC_OWNER) !== 0) waitForPauseEnd(this, epoch);
    t.syncViews();
  }

  /** The collector whose pause this thread waits for died: take the pause over. */
  collectorDied(owner: number): void {
    if (Atomics.compareExchange(this.t.i32, G_GC_OWNER, owner, this.t.slot + 1) !== owner) return;
    this.runPause(GC_KIND_MAJOR);
  }

  /**
   * Runs `work` inside a pause of its own, with every other worker stopped or parked and the
   * heap in a state that meets every invariant: if a worker died since the last pause, what
   * it left half done is recovered first (as a collection would), and every TLAB is retired.
   * For readers of the whole heap (verify, snapshots); `work` must not allocate.
   */
  exclusive<T>(work: () => T): T {
    const t = this.t;
    if (this.inPause) throw new HeapUsageError(`worker ${t.slot}: a pause requested from inside a pause`, { workerId: t.slot });
    for (;;) {
      if (requestPause(t.i32, t.slot)) {
        this.inPause = true;
        try {
          stopTheWorld(t);
          try {
            t.syncViews();
            if (needsRecovery(t.u32)) recover(t, this.walker);
            else retireEveryTlab(t);
            return work();
          } finally {
            resumeTheWorld(t);
          }
        } finally {
          this.inPause = false;
        }
      }
      this.waitForOtherCollector();
    }
  }

  /**
   * Checks every invariant inside a pause of its own (see `exclusive`); with `remark`, also
   * marks the heap again from scratch and reports what it found (sanity.ts).
   */
  verify(remarkToo = false): VerifyResult {
    return this.exclusive(() => {
      const v = verifyHeap(this.t.arena, this.walker);
      if (remarkToo && v.ok) v.remark = remark(this.t.arena, this.walker, this.collector.marker);
      return v;
    });
  }

  onGC(listener: (event: GcEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * verifyEachGC: every invariant, then the sanity re-mark: right after a collection no young
   * object may be left that neither the roots nor an old object reach.
   */
  private checkAfterCollection(): VerifyResult {
    const v = verifyHeap(this.t.arena, this.walker);
    if (!v.ok) return v;
    v.remark = remark(this.t.arena, this.walker, this.collector.marker, this.collector.rootSlots, this.collector.deferredFinalizable > 0);
    if (v.remark.unreachableYoungObjects > 0) {
      v.errors.push(`sanity re-mark: ${v.remark.unreachableYoungObjects} young objects survived the collection though neither the roots nor any old object reach them; the first: ${describeObject(this.t.u32, v.remark.firstUnreachableYoung)}; the collection deferred ${this.collector.deferredFinalizable} finalizable objects`);
      v.ok = false;
    }
    return v;
  }

  /** Holds the pause (G_GC_OWNER is ours): rendezvous, collect, resume, notify listeners. */
  private runPause(kind: number): GcEvent {
    const t = this.t;
    const start = t.clockMs();
    let event: GcEvent;
    let verified: VerifyResult | undefined;
    this.inPause = true;
    try {
      const rendezvousMs = stopTheWorld(t);
      try {
        event = collectInPause(t, this.collector, kind, rendezvousMs, start);
        if ((t.u32[G_GC_FLAGS]! & GC_FLAG_VERIFY) !== 0) verified = this.checkAfterCollection();
      } finally {
        resumeTheWorld(t);
      }
    } finally {
      this.inPause = false;
    }
    t.syncViews();
    for (const listener of this.listeners.slice()) listener(event);
    const before = this.collector.preVerify;
    if (before !== undefined && !before.ok) throw new HeapCorruptionError(before.errors.map((e) => `at the start of a minor collection: ${e}`), t.slot);
    if (verified !== undefined && !verified.ok) throw new HeapCorruptionError(verified.errors, t.slot);
    return event;
  }
}
