// bibop-gc: a garbage-collected heap in one SharedArrayBuffer, shared by every worker.
export { Heap, Persistent, WeakHandle, type HeapOptions, type HeapInit, type SpawnOptions } from './api.js';
export { HeapType, type ArrayType, type StructType, type FieldKind, type ElementKind, type TypeOptions } from './heap/types.js';
export type { GcEvent, GcKind } from './gc/collector.js';
export type { HeapStats } from './gc/stats.js';
export type { VerifyResult } from './gc/verify.js';
export {
  HeapError, InvalidRefError, StaleRefError, HeapOutOfMemoryError, SafepointTimeoutError, TypeDefinitionError,
  ScopeError, HeapUsageError, HeapCorruptionError, type StalledWorker,
} from './errors.js';
