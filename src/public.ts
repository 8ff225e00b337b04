// The public API, shared by the Node entry (index.ts) and the browser entry (browser.ts).
export { Heap, Persistent, WeakHandle, type HeapOptions, type SpawnOptions, type SpawnedWorker } from './api.js';
export type { HeapInit } from './safepoint/platform.js';
export { HeapType, type ArrayType, type StructType, type FieldKind, type ElementKind, type TypeOptions } from './heap/types.js';
export type { GcEvent, GcKind } from './gc/collector.js';
export type { HeapStats } from './gc/stats.js';
export type { VerifyResult } from './gc/verify.js';
export {
  HeapError, InvalidRefError, StaleRefError, HeapOutOfMemoryError, SafepointTimeoutError, TypeDefinitionError,
  ScopeError, HeapUsageError, HeapRangeError, HeapCorruptionError, SnapshotError, ReadOnlyHeapError, type StalledWorker,
} from './errors.js';
export { HeapView, SnapshotHandle, type OpenOptions } from './inspect/view.js';
export type { PageInfo, PageKind, HeapMap, ClassSummary, TypeSummary, WorkerSummary, ReadMode } from './inspect/pages.js';
export { formatRetainers, type RetainerPath, type RetainerStep } from './inspect/retainers.js';
export type { Root, RootKind } from './inspect/graph.js';
export type { ProgressFn } from './inspect/format.js';
