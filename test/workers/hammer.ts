// Test worker: allocates as hard as it can until told to stop, as an adversarial user would.
// Each scope makes 64 objects; every 8th is an i32 array of 3000 elements (a 3-page large
// object). A share of the objects is kept alive through persistent handles, replaced at
// random, so the heap holds live data on every kind of page while the worker is killed.
//
// workerData: { heap, control: SharedArrayBuffer (Int32Array; word 0 = stop, word 1 = scopes
// done by all hammers), seed, mode: 'alloc' | 'collect' | 'attach' }
import { workerData } from 'node:worker_threads';
import { Heap } from '../../src/index.js';

const heap = Heap.attach(workerData.heap);
const control = new Int32Array(workerData.control as SharedArrayBuffer);
const Node = heap.defineStruct('hammer.Node', { next: 'ref', value: 'i32' });
const Big = heap.defineArray('hammer.Big', 'i32');
let seed = (workerData.seed as number) >>> 0 || 1;
const random = (): number => {
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const kept: ({ release(): void } | undefined)[] = new Array(16);

while (Atomics.load(control, 0) === 0) {
  heap.scope(() => {
    let prev = 0;
    for (let i = 0; i < 64; i++) {
      const r = i % 8 === 7 ? heap.allocArray(Big, 3000) : heap.alloc(Node);
      if (i % 8 !== 7) {
        heap.setRef(r, Node.next, prev);
        heap.setI32(r, Node.value, i);
        prev = r;
      }
      if (random() < (workerData.keep ?? 0.02)) {
        const k = (random() * kept.length) | 0;
        kept[k]?.release();
        kept[k] = heap.persist(r);
      }
    }
  });
  if (workerData.mode === 'collect') heap.collect();
  Atomics.add(control, 1, 1);
}
