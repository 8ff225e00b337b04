// `declareDead` (registry.ts) as self-contained JS source, for the supervisor threads
// (supervisor.ts in Node, a blob Web Worker in browsers), which run code of their own
// rather than a bundle of this library.

import { G_ARRIVALS, G_DEATHS, G_EPOCH, W_GEN, W_STATE, WS_DEAD, WS_FREE, workerWord } from '../heap/layout.js';

export const DECLARE_DEAD_SOURCE = `
function declareDead(i32, slot, gen) {
  const w = ${workerWord(0)} + slot * ${workerWord(1) - workerWord(0)};
  for (;;) {
    if ((Atomics.load(i32, w + ${W_GEN}) & 0xffffff) !== (gen & 0xffffff)) return;
    const state = Atomics.load(i32, w + ${W_STATE});
    if (state === ${WS_FREE} || state === ${WS_DEAD}) return;
    if (Atomics.compareExchange(i32, w + ${W_STATE}, state, ${WS_DEAD}) === state) break;
  }
  Atomics.add(i32, ${G_DEATHS}, 1);
  Atomics.add(i32, ${G_ARRIVALS}, 1);
  Atomics.notify(i32, ${G_ARRIVALS});
  Atomics.notify(i32, ${G_EPOCH});
}
`;
