// The arena: one SharedArrayBuffer and this thread's fixed-length views of it.
//
// The buffer is reserved at the arena's maximum by default (api.ts makeArenaBuffer): it never
// grows, so the views made here cover every page there will be and are never re-made. A
// growable buffer (`reserve: false`, or a system that refused the reservation) gets
// fixed-length views too, on purpose: a length-tracking view of a growable buffer is ~30x
// slower to index. After any thread grows such a buffer, every other thread re-makes its
// views the next time it meets a ref past their end (`refresh()`).

import {
  G_COMMITTED_PAGES, G_HEADER_BYTES, G_MAGIC, G_MAX_PAGES, G_VERSION, LAYOUT_VERSION, MAGIC,
  MIN_ARENA_BYTES, PAGE_BYTES, arenaLayout, type ArenaLayout,
} from './layout.js';
import { HeapUsageError } from '../errors.js';

export class Arena {
  readonly buffer: SharedArrayBuffer;
  readonly layout: ArenaLayout;
  u8!: Uint8Array;
  u32!: Uint32Array;
  i32!: Int32Array;
  f32!: Float32Array;
  f64!: Float64Array;
  /** Bytes this thread's views cover. */
  viewBytes = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    if (buffer.byteLength < MIN_ARENA_BYTES) {
      throw new HeapUsageError(`Heap.attach: a buffer of ${buffer.byteLength} bytes is not a bibop-gc arena (an arena has at least ${MIN_ARENA_BYTES})`);
    }
    const probe = new Int32Array(buffer, 0, 8);
    if (probe[G_MAGIC] !== MAGIC) throw new HeapUsageError(`Heap.attach: the buffer is not a bibop-gc arena (word 0 is 0x${(probe[G_MAGIC]! >>> 0).toString(16)}, not the magic 0x${MAGIC.toString(16)})`);
    if (probe[G_VERSION] !== LAYOUT_VERSION) {
      throw new HeapUsageError(`Heap.attach: arena layout version ${probe[G_VERSION]}, this library reads ${LAYOUT_VERSION}`);
    }
    this.layout = arenaLayout(probe[G_MAX_PAGES]!);
    if (probe[G_HEADER_BYTES] !== this.layout.headerBytes) throw new HeapUsageError('Heap.attach: the arena header size does not match its page count: not an arena of this library');
    this.refresh();
  }

  /** Re-makes the views over the buffer's current length. */
  refresh(): void {
    const bytes = this.buffer.byteLength;
    this.viewBytes = bytes;
    this.u8 = new Uint8Array(this.buffer, 0, bytes);
    this.u32 = new Uint32Array(this.buffer, 0, bytes >>> 2);
    this.i32 = new Int32Array(this.buffer, 0, bytes >>> 2);
    this.f32 = new Float32Array(this.buffer, 0, bytes >>> 2);
    this.f64 = new Float64Array(this.buffer, 0, bytes >>> 3);
  }

  /** Pages the buffer holds now, per the shared count (may be ahead of this thread's views). */
  committedPages(): number {
    return Atomics.load(this.i32, G_COMMITTED_PAGES);
  }

  /** Makes sure this thread sees every committed page. */
  ensureViews(): void {
    if (this.viewBytes < this.committedPages() * PAGE_BYTES || this.viewBytes < this.buffer.byteLength) this.refresh();
  }
}
