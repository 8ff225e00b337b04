// The write barrier's slow path. `Heap.setRef`/`setRefAt` store the ref, then test the
// old-generation flag of the page stored into (one load); only a store into an old object
// comes here. A store of a young ref into an old object sets the slot's dirty bit with an
// atomic OR (two workers may store into one span at once), so the next minor collection
// finds the old → young ref among the dirty slots.

import { PAGE_LOG, PI_OLD, PK_SMALL_HEAD, PK_SMALL_TAIL, S_DIRTY } from '../heap/layout.js';
import { infoKind, pageInfo, setBitAtomic, slotIndex, spanOf } from '../heap/spans.js';

export function barrierSlow(u32: Uint32Array, f32: Float32Array, ref: number, value: number): void {
  if (value === 0 || (pageInfo(u32, value >>> PAGE_LOG) & PI_OLD) !== 0) return;
  const base = spanOf(u32, ref);
  const kind = infoKind(pageInfo(u32, ref >>> PAGE_LOG));
  const slot = kind === PK_SMALL_HEAD || kind === PK_SMALL_TAIL ? slotIndex(f32, base, ref) : 0;
  setBitAtomic(u32, (base >>> 2) + S_DIRTY, slot);
}
