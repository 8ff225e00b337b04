// The seam between the heap and the JS platform it runs on. The heap itself needs only
// SharedArrayBuffer and Atomics; starting workers, watching them die and naming threads
// differ between Node (worker_threads, platform-node.ts) and browsers (Web Workers,
// platform-browser.ts). Each entry point registers one: 'bibop-gc' for Node,
// 'bibop-gc/browser' for browsers.

/** What a spawned worker passes to `Heap.attach`: Node gives it as `workerData.heap`, a
 *  browser as `event.data.heap` of the worker's first message. */
export interface HeapInit {
  buffer: SharedArrayBuffer;
  slot: number;
  gen: number;
  /** Node: the worker's end of the channel the supervisor watches. */
  port?: unknown;
  /** Node: a line to the spawner's supervisor, for the watch requests of this worker's own spawns. */
  supervisor?: unknown;
}

export interface SpawnRequest {
  buffer: SharedArrayBuffer;
  slot: number;
  gen: number;
  headerWords: number;
  url: URL | string;
  options: Record<string, unknown>;
  /** Declares the slot dead: the platform calls it when the worker ends. */
  declareDead: () => void;
}

export interface Platform {
  readonly name: string;
  /** An id for the current thread, for error messages. */
  threadId(): number;
  /** Starts a worker that will attach with `slot`/`gen`, watched so that its end declares it dead. */
  spawn(request: SpawnRequest): unknown;
  /** Called by `Heap.attach` in a spawned worker with what `spawn` sent it. */
  adopt(init: HeapInit): void;
}

let current: Platform | undefined;

export function setPlatform(p: Platform): void {
  current = p;
}

export function platform(): Platform | undefined {
  return current;
}
