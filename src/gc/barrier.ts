// The write barrier's slow path. `Heap.setRef`/`setRefAt` test the old-generation flag of
// the page stored into (one load), then store; only a store into an old object comes here,
// before the store itself, so that a kill between the two cannot leave an uncovered ref. A store of a young ref into an old object records the slot: the dirty bit of
// the object's slot (for a large object, of the card holding the stored word), set with an
// atomic OR because two workers may store into one span at once, and before it the span's bit
// in the remembered set, so the next minor collection finds the old → young ref without
// looking at old space. A bit already set costs one plain load.

import { PAGE_LOG, PI_OLD, PK_SMALL_HEAD, PK_SMALL_TAIL, SPAN_HEADER_BYTES, S_BLOCK_BYTES, S_DIRTY } from '../heap/layout.js';
import { cardShift, infoKind, pageInfo, remsetAddAtomic, remsetTest, slotIndex, spanOf } from '../heap/spans.js';

/** `word` is the word index the ref was stored at, inside the object at `ref`. */
export function barrierSlow(u32: Uint32Array, f32: Float32Array, remsetWord: number, ref: number, word: number, value: number): void {
  if (value === 0 || (pageInfo(u32, value >>> PAGE_LOG) & PI_OLD) !== 0) return;
  const base = spanOf(u32, ref);
  const kind = infoKind(pageInfo(u32, ref >>> PAGE_LOG));
  const slot = kind === PK_SMALL_HEAD || kind === PK_SMALL_TAIL
    ? slotIndex(f32, base, ref)
    : (word - ((base + SPAN_HEADER_BYTES) >>> 2)) >>> cardShift(u32[(base >>> 2) + S_BLOCK_BYTES]!);
  const w = (base >>> 2) + S_DIRTY + (slot >>> 5);
  const bit = 1 << (slot & 31);
  if ((u32[w]! & bit) !== 0) return;
  // The span's remset bit first: a thread killed in between leaves a remembered span with no
  // dirty slot (the next collection drops it), never a dirty slot no minor looks at.
  const page = base >>> PAGE_LOG;
  if (!remsetTest(u32, remsetWord, page)) remsetAddAtomic(u32, remsetWord, page);
  Atomics.or(u32, w, bit);
}
