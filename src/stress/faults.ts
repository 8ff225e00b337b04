// The workload pieces a fault run adds to the stress loop, run on any thread that holds a
// Heap: finalizable objects counted in the ledger, large objects, weak refs checked both
// ways (cleared once their target is dead, intact while it lives), and the attach → work →
// detach cycle of the churner threads. The driver and the end-of-run audit are in run.ts
// and audit.ts.

import type { Heap } from '../index.js';
import { G_EVENT_SEQ, G_GC_STARTED } from '../heap/layout.js';
import { FINAL_MADE, L_FINAL_RUNS, L_FINAL_UNSET, L_LARGE, L_WEAK_ALIVE, L_WEAK_CLEARED, T_IN_FINALIZER, type Ledger } from './ledger.js';
import { LARGE_ELEMENTS, finalizable, largeArray, type FinalIds, type GraphTypes } from './graphs.js';

/** Marker of a thread that entered a finalizer callback but has not read the object's id yet. */
export const IN_FINALIZER_UNKNOWN = -1;

/**
 * Registers on `heap` the finalizer that counts each run in the ledger. The marker is set
 * first, so a thread killed anywhere inside the callback is known to have lost at most the
 * run it names.
 */
export function countFinalizers(heap: Heap, t: GraphTypes, ledger: Ledger, thread: number): void {
  const marker = ledger.threadWord(thread, T_IN_FINALIZER);
  heap.onFinalize(t.Final, (ref) => {
    Atomics.store(ledger.i32, marker, IN_FINALIZER_UNKNOWN);
    const id = heap.getI32(ref, t.Final.id);
    Atomics.store(ledger.i32, marker, id + 1);
    if (id > 0) Atomics.add(ledger.ids, id, 1);
    else ledger.add(L_FINAL_UNSET);
    ledger.add(L_FINAL_RUNS);
    Atomics.store(ledger.i32, marker, 0);
  });
}

/** Ids for finalizable objects, recorded as made once written into their object. */
export function ledgerIds(ledger: Ledger): FinalIds {
  return {
    next: () => ledger.nextId(),
    made: (id) => {
      if (id > 0) Atomics.or(ledger.ids, id, FINAL_MADE);
    },
  };
}

/** Garbage finalizable objects: each must be finalized exactly once after it dies. */
export function finalizableChurn(heap: Heap, t: GraphTypes, ids: FinalIds, n: number): void {
  heap.scope(() => {
    let prev = 0;
    for (let i = 0; i < n; i++) {
      const id = ids.next();
      if (id === 0) return;
      const f = finalizable(heap, t, id);
      ids.made(id);
      heap.setRef(f, t.Final.next, prev); // a chain: a finalizer runs with what it reaches still readable
      prev = f;
    }
  });
}

/** Large garbage objects, written and read back while more are allocated. Returns false on a mismatch. */
export function largeChurn(heap: Heap, t: GraphTypes, ledger: Ledger, next: () => number): boolean {
  return heap.scope(() => {
    const a = largeArray(heap, t, next);
    const b = largeArray(heap, t, next);
    ledger.add(L_LARGE, 2);
    const base = heap.getI32At(a, 0);
    for (let i = 0; i < LARGE_ELEMENTS; i += 61) if (heap.getI32At(a, i) !== base + i) return false;
    return heap.length(b) === LARGE_ELEMENTS;
  });
}

interface PendingWeak {
  handle: ReturnType<Heap['weak']>;
  /** G_GC_STARTED once the target was unreachable: a collection numbered above it must clear it. */
  after: number;
}

/**
 * Weak refs to objects that die at once, checked once a collection that began after their
 * death has ended: each must read null by then.
 */
export class WeakChecks {
  private readonly pending: PendingWeak[] = [];

  constructor(private readonly heap: Heap, private readonly t: GraphTypes, private readonly ledger: Ledger, private readonly fail: (msg: string) => void) {}

  /** Makes a weak ref to a new object that nothing else holds. */
  addDead(): void {
    if (this.pending.length >= 32) return;
    const heap = this.heap;
    const handle = heap.scope(() => heap.weak(heap.alloc(this.t.Node)));
    this.pending.push({ handle, after: Atomics.load(heap.i32, G_GC_STARTED) });
  }

  /** Checks the weak refs whose clearing collection has ended. */
  check(): void {
    const done = Atomics.load(this.heap.i32, G_EVENT_SEQ);
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i]!;
      if (done <= p.after) continue;
      const ref = p.handle.get();
      if (ref === null) this.ledger.add(L_WEAK_CLEARED);
      else this.fail(`weak ref ${p.handle.id} still reads ${ref} after collection ${done}, which began after its target died`);
      p.handle.release();
      this.pending.splice(i, 1);
    }
  }

  /**
   * A weak ref to a rooted object must stay intact across collections: allocates garbage
   * (so that this thread meets safepoints) until a collection that began after the weak ref
   * was made has ended, or a bound is reached (then there is nothing to check).
   */
  liveAcrossCollection(): void {
    const heap = this.heap;
    heap.scope(() => {
      const target = heap.alloc(this.t.Node);
      heap.setI32(target, this.t.Node.val, 11);
      const w = heap.weak(target);
      const after = Atomics.load(heap.i32, G_GC_STARTED);
      for (let i = 0; i < 400 && Atomics.load(heap.i32, G_EVENT_SEQ) <= after; i++) {
        heap.scope(() => {
          for (let k = 0; k < 32; k++) heap.alloc(this.t.Node);
        });
      }
      if (Atomics.load(heap.i32, G_EVENT_SEQ) > after) {
        if (w.get() === target && heap.getI32(target, this.t.Node.val) === 11) this.ledger.add(L_WEAK_ALIVE);
        else this.fail(`weak ref ${w.id} to a rooted object reads ${w.get()} after a collection, not ${target}`);
      }
      w.release();
    });
  }

  /** Inside a scope: a collection must leave a weak ref to a rooted object intact. */
  collectWithLiveTarget(): void {
    const heap = this.heap;
    heap.scope(() => {
      const target = heap.alloc(this.t.Node);
      heap.setI32(target, this.t.Node.val, 7);
      const w = heap.weak(target);
      heap.collect();
      if (w.get() === target && heap.getI32(target, this.t.Node.val) === 7) this.ledger.add(L_WEAK_ALIVE);
      else this.fail(`weak ref ${w.id} to a rooted object reads ${w.get()} after a collection, not ${target}`);
      w.release();
    });
  }
}
