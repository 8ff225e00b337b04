// The object graph as whole-heap readers see it: the roots (persistent handles, the
// finalization queues, every live worker's root stack) and each object's outgoing refs,
// named by field or array index. Read-only: nothing here writes a mark bit or any other word,
// so it runs on a snapshot view as well as inside a pause.

import {
  BITMAP_WORDS, PAGE_BYTES, PK_LARGE_HEAD, PK_SMALL_HEAD, S_ALLOC, S_BLOCK_BYTES, S_SLOTS, SPAN_HEADER_BYTES,
  EK_REF, HANDLE_GEN_SHIFT, HANDLE_ID_GEN_FACTOR, HDR_TYPE_MASK, HK_FINAL, HK_MASK, HK_STRONG, H_META, H_OWNER, H_REF,
  MAX_WORKERS, TK_ARRAY, W_STATE, workerWord, G_COMMITTED_PAGES,
} from '../heap/layout.js';
import { RootChunkWalker } from '../heap/roots.js';
import { SpanWalker, WALK_SPAN, ctz } from '../heap/spans.js';
import { handleCapacity, handleWord } from '../heap/handles.js';
import type { HeapType, TypeCache } from '../heap/types.js';
import { isLiveState } from '../gc/recover.js';

/** What holds a root: a persistent handle, a worker's scopes, or a finalization queue entry. */
export type RootKind = 'handle' | 'scope' | 'finalization';

export interface Root {
  kind: RootKind;
  ref: number;
  /** Handles and finalization entries: the handle id (`heap.handle(id)` for a 'handle'). */
  handleId?: number;
  /** Scopes: the worker whose root stack holds it; finalization: the worker that runs it. */
  workerId?: number;
  /** Scopes: the root's position on its worker's stack, 0 at the bottom (the oldest). */
  position?: number;
}

/**
 * Every root, in the order a shortest-path search prefers them: persistent handles, then
 * finalization entries, then each live worker's root stack from the bottom. Null slots
 * (empty escape slots) are left out.
 */
export function listRoots(u32: Uint32Array): Root[] {
  const roots: Root[] = [];
  const capacity = handleCapacity(u32);
  const finals: Root[] = [];
  for (let h = 0; h < capacity; h++) {
    const w = handleWord(u32, h);
    const meta = u32[w + H_META]!;
    const kind = meta & HK_MASK;
    const ref = u32[w + H_REF]!;
    if (ref === 0 || (kind !== HK_STRONG && kind !== HK_FINAL)) continue;
    const handleId = (meta >>> HANDLE_GEN_SHIFT) * HANDLE_ID_GEN_FACTOR + h;
    if (kind === HK_STRONG) roots.push({ kind: 'handle', ref, handleId });
    else finals.push({ kind: 'finalization', ref, handleId, workerId: u32[w + H_OWNER]! });
  }
  roots.push(...finals);
  const walker = new RootChunkWalker();
  const committed = Atomics.load(u32, G_COMMITTED_PAGES);
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    const ctl = workerWord(slot);
    if (!isLiveState(Atomics.load(u32, ctl + W_STATE))) continue;
    // The walker goes from the top chunk down; positions count from the bottom.
    const chunks: [number, number][] = [];
    for (walker.reset(u32, ctl, committed); walker.next();) {
      if (walker.from <= walker.to && walker.to <= u32.length) chunks.push([walker.from, walker.to]);
    }
    let position = 0;
    for (let c = chunks.length - 1; c >= 0; c--) {
      const [from, to] = chunks[c]!;
      for (let r = from; r < to; r++, position++) {
        if (u32[r] !== 0) roots.push({ kind: 'scope', ref: u32[r]!, workerId: slot, position });
      }
    }
  }
  return roots;
}

/** Reads objects' outgoing refs through the type table. One per reader; caches per type. */
export class EdgeReader {
  private readonly refWords = new Map<number, { words: number[]; names: string[] } | null>();

  constructor(private readonly u32: Uint32Array, readonly types: TypeCache) {}

  /** The type of the object at `ref`, or undefined when its header names none. */
  typeOf(ref: number): HeapType | undefined {
    return this.types.get(this.u32[ref >>> 2]! & HDR_TYPE_MASK);
  }

  /**
   * Calls `visit(child, name)` for each non-null ref the object holds: `name` is the field
   * name of a struct, or the element index of an array of refs.
   */
  forEachRef(ref: number, visit: (child: number, name: string | number) => void): void {
    const t = this.typeOf(ref);
    if (t === undefined) return;
    const u32 = this.u32;
    const word = ref >>> 2;
    if (t.$kind === TK_ARRAY) {
      if (t.$elemKind !== EK_REF) return;
      const len = u32[word + 1]!;
      const end = Math.min(word + 2 + len, u32.length);
      for (let w = word + 2; w < end; w++) if (u32[w] !== 0) visit(u32[w]!, w - word - 2);
      return;
    }
    const layout = this.structRefs(t);
    if (layout === null) return;
    for (let i = 0; i < layout.words.length; i++) {
      const v = u32[word + layout.words[i]!]!;
      if (v !== 0) visit(v, layout.names[i]!);
    }
  }

  /** How the object at `parent` refers to `child`: a field name or an index, or null. */
  labelOf(parent: number, child: number): string | number | null {
    let label: string | number | null = null;
    this.forEachRef(parent, (c, name) => {
      if (label === null && c === child) label = name;
    });
    return label;
  }

  private structRefs(t: HeapType): { words: number[]; names: string[] } | null {
    let r = this.refWords.get(t.$id);
    if (r === undefined) {
      const words: number[] = [];
      const names: string[] = [];
      t.$wordKinds.forEach((k, w) => {
        if (k === EK_REF) { words.push(w); names.push(t.$wordNames[w]!); }
      });
      r = words.length === 0 ? null : { words, names };
      this.refWords.set(t.$id, r);
    }
    return r;
  }
}

/**
 * Calls `visit(ref, footprint)` for every allocated object, in address order: the slots whose
 * allocated bit is set in small spans, the object of each large span. `footprint` is its
 * block (small) or its span's bytes (large), as stats() counts allocatedBytes. Needs every
 * TLAB retired (inside a pause, or on a snapshot).
 */
export function forEachObject(u32: Uint32Array, headerPages: number, walker: SpanWalker, visit: (ref: number, footprint: number) => void): void {
  walker.reset(u32, headerPages);
  while (walker.next()) {
    if (walker.what !== WALK_SPAN) continue;
    const { base, kind } = walker;
    const bw = base >>> 2;
    if (kind === PK_LARGE_HEAD) {
      if ((u32[bw + S_ALLOC]! & 1) !== 0) visit(base + SPAN_HEADER_BYTES, walker.pages * PAGE_BYTES);
    } else if (kind === PK_SMALL_HEAD) {
      const block = u32[bw + S_BLOCK_BYTES]!;
      const slots = u32[bw + S_SLOTS]!;
      for (let w = 0; w < BITMAP_WORDS; w++) {
        let bits = u32[bw + S_ALLOC + w]!;
        while (bits !== 0) {
          const slot = (w << 5) + ctz(bits);
          bits &= bits - 1;
          if (slot < slots) visit(base + SPAN_HEADER_BYTES + slot * block, block);
        }
      }
    }
  }
}
