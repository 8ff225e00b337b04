// Finalization after the pause. The collector queues dead objects of finalizable types on
// their owner's finalization list (handle entries of kind HK_FINAL, which are roots), with
// the object's "finalized" header bit set so it is never queued again. The owner runs them
// at its scope boundaries: each in a scope of its own, with the object rooted there, so the
// callback reads it (and all it reaches) and may allocate. Once the entry is freed, the next
// collection that finds the object unreachable frees it without a second finalization.
//
// Kill safety: an entry is taken off its queue, the object is named in W_FINALIZING, the
// entry is freed, the callback runs, W_FINALIZING is cleared. A thread killed before the free
// leaves an HK_FINAL entry on no queue, which recover.ts puts back (its callback never ran); one
// killed after it, with W_FINALIZING set, lost that finalization, and recovery counts it in
// G_FINAL_INTERRUPTED (stats().finalizersInterrupted). So a finalizer runs at most once, and a
// run that a death cut short is counted, never silent.

import type { Thread } from '../heap/thread.js';
import { G_FINAL_PENDING, H_NEXT, H_REF, HDR_TYPE_MASK, W_FINAL_HEAD, W_FINALIZING } from '../heap/layout.js';
import { freeHandle, handleEntry } from '../heap/handles.js';
import { FP_FINAL_UNLINKED, faultHook } from '../heap/faults.js';

/** What the runner needs from the facade: a scope to run each callback in. */
export interface ScopeRunner {
  scope<T>(fn: () => T): T;
  root(ref: number): number;
}

export class Finalizers {
  private readonly callbacks = new Map<number, (ref: number) => void>();
  private running = false;

  constructor(private readonly t: Thread) {}

  register(typeId: number, fn: (ref: number) => void): void {
    this.callbacks.set(typeId, fn);
  }

  /** Whether this thread has queued finalizers and is not already running them. */
  pending(): boolean {
    return !this.running && this.t.u32[this.t.ctl + W_FINAL_HEAD] !== 0;
  }

  /** Runs this thread's queued finalizers; the caller is inside a scope. Returns how many ran. */
  run(scopes: ScopeRunner): number {
    const t = this.t;
    this.running = true;
    let ran = 0;
    try {
      while (t.u32[t.ctl + W_FINAL_HEAD] !== 0) {
        scopes.scope(() => {
          const head = t.u32[t.ctl + W_FINAL_HEAD]!;
          const ref = t.u32[handleEntry(t, head - 1) + H_REF]!;
          scopes.root(ref);
          t.u32[t.ctl + W_FINAL_HEAD] = t.u32[handleEntry(t, head - 1) + H_NEXT]!;
          if (faultHook !== null) faultHook(FP_FINAL_UNLINKED);
          t.u32[t.ctl + W_FINALIZING] = ref;
          freeHandle(t, head - 1);
          Atomics.sub(t.u32, G_FINAL_PENDING, 1);
          if (ref >>> 2 >= t.viewWords) t.syncViews();
          const fn = this.callbacks.get(t.u32[ref >>> 2]! & HDR_TYPE_MASK);
          try {
            if (fn !== undefined) fn(ref);
          } finally {
            t.u32[t.ctl + W_FINALIZING] = 0;
          }
        });
        ran++;
      }
    } finally {
      this.running = false;
    }
    return ran;
  }
}
