// A snapshot opened as a read-only heap (`Heap.fromSnapshot`).
//
// Opening checks the file (format.ts: SnapshotError for anything unexpected), then rebuilds
// the arena in a buffer of its own, every stored page at its address, so the readers of the
// live heap run on it unchanged: stats, verify, the page map, retainers, handles, types.
// Accessors always validate their refs (checked mode), whatever mode the heap had: a view is
// for looking, not for speed. Every write throws ReadOnlyHeapError.
//
// Concurrency contract: a view belongs to the thread that opened it; nothing else shares
// its buffer, so nothing it reads can change.

import { Arena } from '../heap/arena.js';
import {
  ARRAY_HEADER_BYTES, ARRAY_LENGTH_WORD, EK_F64, EK_I32, EK_REF, EK_U8, H_REF, HDR_TYPE_MASK, HK_STRONG, MAIN_SLOT,
  TK_ARRAY, TK_STRUCT, G_TYPE_COUNT,
} from '../heap/layout.js';
import { Thread } from '../heap/thread.js';
import {
  HeapType, arrayLayout, structLayout, type ArrayType, type ElementKind, type FieldKind, type StructType, type TypeOptions,
} from '../heap/types.js';
import { handleEntry, resolveHandle } from '../heap/handles.js';
import { NOT_TLAB_AWARE, REF_OK, REF_PROBLEMS, classifyRef, isStaleProblem } from '../heap/check.js';
import { SpanWalker } from '../heap/spans.js';
import { heapStats, type HeapStats } from '../gc/stats.js';
import { verifyHeap, type VerifyResult } from '../gc/verify.js';
import { HeapUsageError, InvalidRefError, ReadOnlyHeapError, ScopeError, StaleRefError } from '../errors.js';
import {
  captureSnapshot, checkSnapshot, restoreArena, sealSnapshot, type ProgressFn, type SnapshotGeometry,
} from './format.js';
import { heapMap, type HeapMap, type PageInfo } from './pages.js';
import { findRetainers, type RetainerPath } from './retainers.js';
import { listRoots, type Root } from './graph.js';
import { exportChrome, type ChromeExportStats } from './chrome.js';

export interface OpenOptions {
  /** Called as the checksum is verified and the arena rebuilt (large snapshots take a while). */
  onProgress?: ProgressFn;
}

/** A persistent handle of a snapshot: `get()` gives the ref it held when the snapshot was taken. */
export class SnapshotHandle {
  /** @internal */
  private readonly view: HeapView;
  readonly id: number;
  /** Made by `view.handle(id)`. */
  constructor(view: HeapView, id: number) {
    this.view = view;
    this.id = id;
  }
  get(): number {
    return this.view.handleRef(this.id);
  }
  release(): void {
    throw this.view.readOnly(`release() of handle ${this.id}`);
  }
}

const KIND_NAMES = ['', 'ref', 'i32', 'f64', 'u8'];

export class HeapView {
  /** When the snapshot was taken. */
  readonly takenAt: Date;
  /** The file's geometry: pages committed and stored, where each section lies. */
  readonly geometry: SnapshotGeometry;
  /** @internal */
  readonly arena: Arena;
  /** @internal */
  private readonly thread: Thread;
  /** @internal */
  private readonly walker = new SpanWalker();
  /** @internal */
  private depth = 0;

  /** @internal */
  private constructor(arena: Arena, geometry: SnapshotGeometry) {
    this.arena = arena;
    this.geometry = geometry;
    this.takenAt = new Date(geometry.takenAt);
    this.thread = new Thread(arena, MAIN_SLOT);
  }

  /** Checks a snapshot and opens it; a file that is not one throws SnapshotError. */
  static open(bytes: Uint8Array, options: OpenOptions = {}): HeapView {
    const checked = checkSnapshot(bytes, options.onProgress);
    const buffer = restoreArena(checked, options.onProgress);
    return new HeapView(new Arena(buffer), checked.geometry);
  }

  // ---------------------------------------------------------------------------------------
  // Whole-heap readers.

  stats(): HeapStats {
    return heapStats(this.arena, this.walker);
  }

  verify(): VerifyResult {
    return verifyHeap(this.arena, this.walker);
  }

  /** One entry per page (see src/inspect/pages.ts). */
  pages(): PageInfo[] {
    return this.heapMap().pages;
  }

  /** Pages, size classes, types and workers in one walk. */
  heapMap(): HeapMap {
    return heapMap(this.arena, this.thread.types, this.walker, 'pause');
  }

  /** A shortest path from a root to `ref`, or null when nothing reaches it. */
  retainers(ref: number): RetainerPath | null {
    return findRetainers(this.arena.u32, this.arena.f32, this.thread.types, ref);
  }

  /** Every root: persistent handles, finalization entries, root-stack slots. */
  roots(): Root[] {
    return listRoots(this.arena.u32);
  }

  /** The snapshot again, as heap.snapshot() would write it of this state. */
  snapshot(onProgress?: ProgressFn): Uint8Array {
    return sealSnapshot(captureSnapshot(this.arena, this.walker), onProgress);
  }

  /** Writes the heap as a Chrome .heapsnapshot to `sink`, in chunks (src/inspect/chrome.ts). */
  exportChrome(sink: (chunk: string) => void, onProgress?: ProgressFn): ChromeExportStats {
    return exportChrome(this.arena, this.thread.types, sink, onProgress);
  }

  // ---------------------------------------------------------------------------------------
  // Types.

  /** Every type defined in the snapshot, by id. */
  typeList(): HeapType[] {
    const out: HeapType[] = [];
    const count = Atomics.load(this.arena.u32, G_TYPE_COUNT);
    for (let id = 1; id <= count; id++) {
      const t = this.thread.types.get(id);
      if (t !== undefined) out.push(t);
    }
    return out;
  }

  /** The type named `name`, or undefined. */
  typeByName(name: string): HeapType | undefined {
    return this.typeList().find((t) => t.$name === name);
  }

  /** The snapshot's type of this name and layout (field offsets as on the live heap); a type it lacks throws. */
  defineStruct<F extends Record<string, FieldKind>>(name: string, fields: F, options: TypeOptions = {}): StructType<F> {
    return this.existing(structLayout(name, fields, options), name) as StructType<F>;
  }

  defineArray(name: string, element: ElementKind, options: TypeOptions = {}): ArrayType {
    return this.existing(arrayLayout(name, element, options), name);
  }

  /** @internal */
  private existing(layout: string, name: string): HeapType {
    const t = this.typeByName(name);
    if (t === undefined) throw this.readOnly(`defining type '${name}' (the snapshot has no such type)`);
    if (t.$layout !== layout) throw new HeapUsageError(`type '${name}' is defined in the snapshot with another layout: ${t.describe()}; asked for ${layout}`, { typeName: name });
    return t;
  }

  typeOf(ref: number): HeapType {
    this.checkObject(ref, 'typeOf');
    return this.thread.types.get(this.arena.u32[ref >>> 2]! & HDR_TYPE_MASK)!;
  }

  // ---------------------------------------------------------------------------------------
  // Handles and scopes: reads work as on a heap, writes throw.

  handle(id: number): SnapshotHandle {
    if (resolveHandle(this.thread, id, HK_STRONG) < 0) throw new HeapUsageError(`no persistent handle with id ${id} in the snapshot: it was released or never made`);
    return new SnapshotHandle(this, id);
  }

  /** @internal */
  handleRef(id: number): number {
    const index = resolveHandle(this.thread, id, HK_STRONG);
    if (index < 0) throw new HeapUsageError(`no persistent handle with id ${id} in the snapshot`);
    return this.arena.u32[handleEntry(this.thread, index) + H_REF]!;
  }

  /** Runs `fn`: reads inside work as anywhere; allocation inside throws ReadOnlyHeapError. */
  scope<T>(fn: () => T): T {
    this.depth++;
    try {
      const result = fn();
      if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
        throw new ScopeError('a scope callback returned a promise; scopes are synchronous');
      }
      return result;
    } finally {
      this.depth--;
    }
  }

  escape(ref: number): number {
    if (this.depth === 0) throw new ScopeError('escape() outside any scope', { ref });
    if (ref !== 0) this.checkObject(ref, 'escape');
    return ref;
  }

  root(ref: number): number {
    if (this.depth === 0) throw new ScopeError('root() outside any scope', { ref });
    if (ref !== 0) this.checkObject(ref, 'root');
    return ref;
  }

  safepoint(): void {}
  detach(): void {}
  runFinalizers(): number {
    return 0;
  }

  /** A view never collects: the listener is never called. */
  onGC(_listener: (event: unknown) => void): () => void {
    return () => {};
  }

  alloc(type: HeapType): number {
    throw this.readOnly(`alloc(${type?.$name})`);
  }
  allocArray(type: HeapType, length: number): number {
    throw this.readOnly(`allocArray(${type?.$name}, ${length})`);
  }
  persist(ref: number): never {
    throw this.readOnly(`persist(${fmtRef(ref)})`);
  }
  weak(ref: number): never {
    throw this.readOnly(`weak(${fmtRef(ref)})`);
  }
  collect(_kind?: string): never {
    throw this.readOnly('collect()');
  }
  onFinalize(type: HeapType, _fn: (ref: number) => void): never {
    throw this.readOnly(`onFinalize(${type?.$name})`);
  }
  spawn(_url: URL | string): never {
    throw this.readOnly('spawn()');
  }

  /** @internal */
  readOnly(what: string): ReadOnlyHeapError {
    return new ReadOnlyHeapError(`${what}: this heap is a snapshot view (Heap.fromSnapshot), which is read-only`);
  }

  // ---------------------------------------------------------------------------------------
  // Accessors: the getters of Heap, always checked; the setters throw.

  getRef(ref: number, offset: number): number {
    this.checkField(ref, offset, EK_REF);
    return this.arena.u32[(ref + offset) >>> 2]!;
  }
  getI32(ref: number, offset: number): number {
    this.checkField(ref, offset, EK_I32);
    return this.arena.i32[(ref + offset) >>> 2]!;
  }
  getF64(ref: number, offset: number): number {
    this.checkField(ref, offset, EK_F64);
    return this.arena.f64[(ref + offset) >>> 3]!;
  }
  length(ref: number): number {
    this.checkArray(ref, 0, 'length');
    return this.arena.u32[(ref >>> 2) + ARRAY_LENGTH_WORD]!;
  }
  getRefAt(ref: number, index: number): number {
    this.checkIndex(ref, index, EK_REF);
    return this.arena.u32[(ref >>> 2) + 2 + index]!;
  }
  getI32At(ref: number, index: number): number {
    this.checkIndex(ref, index, EK_I32);
    return this.arena.i32[(ref >>> 2) + 2 + index]!;
  }
  getF64At(ref: number, index: number): number {
    this.checkIndex(ref, index, EK_F64);
    return this.arena.f64[(ref >>> 3) + 1 + index]!;
  }
  getU8At(ref: number, index: number): number {
    this.checkIndex(ref, index, EK_U8);
    return this.arena.u8[ref + ARRAY_HEADER_BYTES + index]!;
  }

  setRef(ref: number, offset: number, _value: number): void {
    throw this.readOnly(`setRef(${fmtRef(ref)}, ${offset})`);
  }
  setI32(ref: number, offset: number, _value: number): void {
    throw this.readOnly(`setI32(${fmtRef(ref)}, ${offset})`);
  }
  setF64(ref: number, offset: number, _value: number): void {
    throw this.readOnly(`setF64(${fmtRef(ref)}, ${offset})`);
  }
  setRefAt(ref: number, index: number, _value: number): void {
    throw this.readOnly(`setRefAt(${fmtRef(ref)}, ${index})`);
  }
  setI32At(ref: number, index: number, _value: number): void {
    throw this.readOnly(`setI32At(${fmtRef(ref)}, ${index})`);
  }
  setF64At(ref: number, index: number, _value: number): void {
    throw this.readOnly(`setF64At(${fmtRef(ref)}, ${index})`);
  }
  setU8At(ref: number, index: number, _value: number): void {
    throw this.readOnly(`setU8At(${fmtRef(ref)}, ${index})`);
  }

  /** @internal */
  private checkObject(ref: number, what: string): void {
    const c = classifyRef(this.arena.u32, this.arena.f32, ref, NOT_TLAB_AWARE);
    if (c === REF_OK) return;
    const msg = `${what}: ref ${fmtRef(ref)} is ${REF_PROBLEMS[c]} in the snapshot`;
    throw isStaleProblem(c) ? new StaleRefError(msg, { ref }) : new InvalidRefError(msg, { ref });
  }

  /** @internal */
  private typeAt(ref: number): HeapType {
    const t = this.thread.types.get(this.arena.u32[ref >>> 2]! & HDR_TYPE_MASK);
    if (t === undefined) throw new InvalidRefError(`object ${fmtRef(ref)} has header ${this.arena.u32[ref >>> 2]}, which names no type`, { ref });
    return t;
  }

  /** @internal */
  private checkField(ref: number, offset: number, kind: number): void {
    this.checkObject(ref, 'field access');
    const type = this.typeAt(ref);
    if (type.$kind !== TK_STRUCT) {
      throw new InvalidRefError(`field access on ${fmtRef(ref)}: it is an array of type '${type.$name}'; use the …At accessors`, { ref, typeName: type.$name });
    }
    const align = kind === EK_F64 ? 7 : 3;
    const inside = typeof offset === 'number' && Number.isInteger(offset) && offset >= 0 && offset < type.$bytes;
    const word = inside ? offset >>> 2 : 0;
    if (!inside || (offset & align) !== 0 || type.$wordKinds[word] !== kind) {
      throw new InvalidRefError(`type '${type.$name}' has no ${KIND_NAMES[kind]} field at byte offset ${String(offset)}; object ${fmtRef(ref)}`, { ref, typeName: type.$name });
    }
  }

  /** @internal */
  private checkArray(ref: number, kind: number, what: string): HeapType {
    this.checkObject(ref, what);
    const type = this.typeAt(ref);
    if (type.$kind !== TK_ARRAY || (kind !== 0 && type.$elemKind !== kind)) {
      const is = type.$kind === TK_ARRAY ? `an array of ${KIND_NAMES[type.$elemKind]}` : 'a struct';
      throw new InvalidRefError(`${what}: object ${fmtRef(ref)} of type '${type.$name}' is ${is}${kind ? `, not an array of ${KIND_NAMES[kind]}` : ''}`, { ref, typeName: type.$name });
    }
    return type;
  }

  /** @internal */
  private checkIndex(ref: number, index: number, kind: number): void {
    const type = this.checkArray(ref, kind, 'element access');
    const length = this.arena.u32[(ref >>> 2) + ARRAY_LENGTH_WORD]!;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= length) {
      throw new RangeError(`index ${String(index)} is out of bounds for array ${fmtRef(ref)} of type '${type.$name}' with length ${length}`);
    }
  }
}

function fmtRef(ref: unknown): string {
  return typeof ref === 'number' && Number.isInteger(ref) && ref >= 0 ? `0x${ref.toString(16)}` : String(ref);
}
