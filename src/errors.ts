// Errors carry the ref, the type and the worker involved, as fields and in the message.

export class HeapError extends Error {
  /** The ref involved, if any. */
  readonly ref: number | undefined;
  /** Name of the type involved, if any. */
  readonly typeName: string | undefined;
  /** Slot of the worker that raised the error. */
  readonly workerId: number | undefined;

  constructor(message: string, details: { ref?: number; typeName?: string; workerId?: number } = {}) {
    super(message);
    this.name = new.target.name;
    this.ref = details.ref;
    this.typeName = details.typeName;
    this.workerId = details.workerId;
  }
}

/** A ref that is not (or no longer) an allocated object, or the wrong type for an access. */
export class InvalidRefError extends HeapError {}

/** A ref to an object that has been collected (its slot or page is free). */
export class StaleRefError extends InvalidRefError {}

/** The arena is full even after a full collection and at its maximum size. */
export class HeapOutOfMemoryError extends HeapError {
  readonly requestedBytes: number;
  constructor(message: string, requestedBytes: number, workerId: number) {
    super(message, { workerId });
    this.requestedBytes = requestedBytes;
  }
}

export interface StalledWorker {
  /** The worker's slot. */
  id: number;
  /** Its state name ('running', …). */
  state: string;
  /** Milliseconds it has run without passing a safepoint, at least (the collector's wait). */
  msSinceSafepoint: number;
  /** Its thread id, when known. */
  threadId: number;
}

/** A collection gave up waiting for workers to reach a safepoint. The heap is unchanged. */
export class SafepointTimeoutError extends HeapError {
  readonly workers: StalledWorker[];
  constructor(message: string, workers: StalledWorker[], workerId: number) {
    super(message, { workerId });
    this.workers = workers;
  }
}

/** A type redefined with another layout, or a definition that is not valid. */
export class TypeDefinitionError extends HeapError {
  constructor(message: string, typeName: string) {
    super(message, { typeName });
  }
}

/** Allocation or a ref store outside any scope, or a scope used wrongly. */
export class ScopeError extends HeapError {}

/** Invalid options or arguments, a released handle id, a buffer that is not a heap, a detached heap. */
export class HeapUsageError extends HeapError {}

/** An array length or index out of range (a HeapUsageError, with the array and the bound). */
export class HeapRangeError extends HeapUsageError {}

/** `verify()` found a broken invariant inside a pause (options.verifyEachGC). */
export class HeapCorruptionError extends HeapError {
  readonly errors: string[];
  constructor(errors: string[], workerId: number) {
    super(`heap verification failed after a collection: ${errors.length} error(s); first: ${errors[0]}`, { workerId });
    this.errors = errors;
  }
}

/**
 * A snapshot that cannot be read: not a snapshot, truncated, corrupt, of a newer format, or
 * written with another arena layout. `offset` is the byte of the file where the reader
 * found what it did not expect.
 */
export class SnapshotError extends HeapError {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

/** A write (alloc, a set… accessor, persist, collect) on a read-only heap: a snapshot view. */
export class ReadOnlyHeapError extends HeapUsageError {}
