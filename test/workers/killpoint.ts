// Test worker: runs one workload until it passes fault point `point` for the `skip + 1`-th
// time, then parks there (announcing it on `sync[0]`) until the test terminate()s it, so
// the kill lands exactly at that step of the protocol (src/heap/faults.ts).
//
// workerData: { heap, sync: SharedArrayBuffer (Int32Array[3]: parked flag, never set, own slot + 1),
// point, skip, action }
import { workerData } from 'node:worker_threads';
import { Heap } from '../../src/index.js';
import { setFaultHook } from '../../src/heap/faults.js';

const heap = Heap.attach(workerData.heap);
const sync = new Int32Array(workerData.sync as SharedArrayBuffer);
const point = workerData.point as number;
let skip = workerData.skip as number;
Atomics.store(sync, 2, heap.workerId + 1);

const Node = heap.defineStruct('kp.Node', { next: 'ref', value: 'i32' });
const Big = heap.defineArray('kp.Big', 'i32');
const File = heap.defineStruct('kp.File', { fd: 'i32', next: 'ref' }, { finalize: true });
/** Announces that this thread is parked where the test wants it, and waits to be killed. */
function park(): void {
  Atomics.store(sync, 0, 1);
  Atomics.notify(sync, 0);
  // Parked until terminated; the bound only keeps a test that forgot us from hanging forever.
  Atomics.wait(sync, 1, 0, 120_000);
}

// Action 'in-finalizer' parks inside the callback itself (point 0: no fault point).
heap.onFinalize(File, () => {
  if (workerData.action === 'in-finalizer' && skip-- <= 0) park();
});

setFaultHook((p) => {
  if (p !== point || skip-- > 0) return;
  park();
});

const kept: { release(): void }[] = [];
const AnchorArray = heap.defineArray('kp.Anchors', 'ref');
let anchors: { get(): number } | undefined;
function garbage(n: number, large: boolean, finalizable: boolean): void {
  heap.scope(() => {
    let prev = 0;
    for (let i = 0; i < n; i++) {
      if (large && i % 8 === 7) heap.allocArray(Big, 3000);
      if (finalizable && i % 4 === 0) {
        heap.setRef(heap.alloc(File), File.next, prev);
        continue;
      }
      const r = heap.alloc(Node);
      heap.setRef(r, Node.next, prev);
      prev = r;
    }
    if (kept.length < 64) kept.push(heap.persist(prev));
    else kept.shift()!.release();
  });
}

for (let round = 0; ; round++) {
  switch (workerData.action as string) {
    case 'alloc': garbage(256, true, false); break;
    case 'collect': garbage(256, true, true); heap.collect(); break;
    case 'minor':
      // 200 anchors side by side (a dense span, promoted after three collections), each
      // pointed at a fresh young object before every minor: once promoted, they hold young refs.
      anchors ??= heap.scope(() => heap.persist(heap.escape(heap.allocArray(AnchorArray, 200))));
      heap.scope(() => {
        const a = anchors!.get();
        if (round === 0) for (let i = 0; i < 200; i++) heap.setRefAt(a, i, heap.alloc(Node));
        for (let i = 0; i < 200; i++) heap.setRef(heap.getRefAt(a, i), Node.next, heap.alloc(Node));
      });
      garbage(256, true, false);
      heap.collect('minor');
      break;
    case 'handles':
      // 1200 more handles a round: a new handle chunk about every round.
      heap.scope(() => { const r = heap.alloc(Node); for (let i = 0; i < 1200; i++) heap.persist(r); });
      break;
    case 'roots': heap.scope(() => { for (let i = 0; i < 5000; i++) heap.alloc(Node); }); break;
    case 'finalize':
    case 'in-finalizer': garbage(64, false, true); heap.collect(); heap.runFinalizers(); break;
    case 'detach': garbage(512, true, false); heap.detach(); process.exit(0); break;
    // Spawns a worker that never attaches and ends at once (its death frees the slot).
    case 'spawn': garbage(64, false, false); heap.spawn(new URL('./never-attaches.mjs', import.meta.url)); break;
    default: throw new Error(`unknown action ${String(workerData.action)}`);
  }
}
