// Fault points: named steps inside the protocols a kill can interrupt. A test installs a
// hook that parks its thread at the n-th passage of one point, then terminate()s it there,
// so every half-done state the protocols allow is produced on purpose rather than by luck
// (test/multi/killpoints.test.ts). With no hook installed each point costs one load and a
// compare; none lies on a fast path.
//
//  point                 where                                      what a kill there leaves
//  --------------------  -----------------------------------------  -----------------------------------
//  FP_CLAIM_CLEARED      claimSpan: bitmap cleared, span unwritten  free pages missing from the bitmap
//  FP_PUBLISH_TAILS      publishSpan: tails written, head not yet   stray tails
//  FP_RETIRE_HEAD        releasePages: head retired, tails not yet  stray tails (collector killed)
//  FP_SWEEP_SPAN         sweepSpans: between two spans              a half-swept heap, marks set
//  FP_MARKED             collectInPause: marking done               marks set, nothing swept
//  FP_HANDLE_CHUNK       addChunk: chunk span claimed, not linked   a handle chunk no directory names
//  FP_FINAL_ENTRY        collector: final entry made, not queued    an entry on no queue
//  FP_ROOT_CHUNK         pushRootChunk: chunk claimed, not current  a root chunk nobody names
//  FP_TLAB_START         takeRun: TLAB start written, limit not     a half-made TLAB
//  FP_POPPED             popCentral: span popped, not adopted       a span off every list
//  FP_FINAL_UNLINKED     finalizer run: entry unlinked, not freed   an entry on no queue
//  FP_DETACH             detach: some spans orphaned, slot held     a slot half handed back
//  FP_PROMOTED           sweep: a span turned old, dirty bits not   old objects with uncovered young refs
//  FP_REMARK             sanity re-mark: roots marked, not drained  marked objects whose children are not
//  FP_LARGE_CLAIMED      allocLarge: span published, object not     a large span holding no object
//  FP_HAND_BACK          detach: slot dead, not yet free            a dead slot holding nothing
//  FP_SPAWN              spawn: slot reserved, worker not started   a reserved slot no death watch covers

export const FP_CLAIM_CLEARED = 1;
export const FP_PUBLISH_TAILS = 2;
export const FP_RETIRE_HEAD = 3;
export const FP_SWEEP_SPAN = 4;
export const FP_MARKED = 5;
export const FP_HANDLE_CHUNK = 6;
export const FP_FINAL_ENTRY = 7;
export const FP_ROOT_CHUNK = 8;
export const FP_TLAB_START = 9;
export const FP_POPPED = 10;
export const FP_FINAL_UNLINKED = 11;
export const FP_DETACH = 12;
export const FP_PROMOTED = 13;
export const FP_REMARK = 14;
export const FP_LARGE_CLAIMED = 15;
export const FP_HAND_BACK = 16;
export const FP_SPAWN = 17;

export const FAULT_POINT_NAMES: Record<number, string> = {
  [FP_CLAIM_CLEARED]: 'claim-cleared', [FP_PUBLISH_TAILS]: 'publish-tails', [FP_RETIRE_HEAD]: 'retire-head',
  [FP_SWEEP_SPAN]: 'sweep-span', [FP_MARKED]: 'marked', [FP_HANDLE_CHUNK]: 'handle-chunk', [FP_FINAL_ENTRY]: 'final-entry',
  [FP_ROOT_CHUNK]: 'root-chunk', [FP_TLAB_START]: 'tlab-start', [FP_POPPED]: 'popped',
  [FP_FINAL_UNLINKED]: 'final-unlinked', [FP_DETACH]: 'detach', [FP_PROMOTED]: 'promoted', [FP_REMARK]: 'remark',
  [FP_LARGE_CLAIMED]: 'large-claimed', [FP_HAND_BACK]: 'hand-back', [FP_SPAWN]: 'spawn',
};

/** Installed by tests only; called with the point's id on every passage. */
export let faultHook: ((point: number) => void) | null = null;

export function setFaultHook(hook: ((point: number) => void) | null): void {
  faultHook = hook;
}
