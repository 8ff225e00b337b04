// One-line summaries of the public objects, for `util.inspect` and `console.log`: without
// them, printing a Heap dumps its typed-array views over the whole arena. The classes hook
// them in under Symbol.for('nodejs.util.inspect.custom'), a registered symbol that Node's
// inspect looks up and that needs no node: import, so the browser bundle has it too.
//
// Summaries read through the public API (and a type's name), and never throw: a summary of a
// heap in a strange state still prints, with what could not be read said in words. HeapType
// has its own, in heap/types.ts, below this layer.

import type { Heap, Persistent, WeakHandle } from '../api.js';

/** The registered symbol Node's util.inspect calls. */
export const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** `Heap { worker: 0, parked, arena: 8 MiB of 128 MiB, objects: 1000 (15.6 KiB), collections: 1, workers: 2 }` */
export function summarizeHeap(heap: Heap, detached: boolean): string {
  const parts = [`worker: ${heap.workerId}`];
  if (detached) parts.push('detached');
  else parts.push(heap.running ? 'running' : 'parked');
  try {
    const s = heap.stats();
    const workers = Object.entries(s.workers).filter(([state]) => state !== 'dead').reduce((n, [, count]) => n + count, 0);
    parts.push(
      `arena: ${formatBytes(s.arenaBytes)} of ${formatBytes(s.maxBytes)}`,
      `objects: ${s.allocatedObjects} (${formatBytes(s.allocatedBytes)})`,
      `collections: ${s.collections.major + s.collections.minor}`,
      `workers: ${workers}`,
    );
  } catch (err) {
    parts.push(`stats unreadable: ${err instanceof Error ? err.message : String(err)}`);
  }
  return `Heap { ${parts.join(', ')} }`;
}

/** `Persistent { id: 3, ref: 0x10a48 (Node) }`, or `Persistent { id: 3, released }` */
export function summarizePersistent(heap: Heap, handle: Persistent): string {
  let ref: number;
  try {
    ref = handle.get();
  } catch {
    return `Persistent { id: ${handle.id}, released }`;
  }
  return `Persistent { id: ${handle.id}, ref: ${formatRef(heap, ref)} }`;
}

/** `WeakHandle { id: 4, ref: 0x10a48 (Node) }`, `… ref: null (collected)`, or `… released` */
export function summarizeWeak(heap: Heap, handle: WeakHandle): string {
  let ref: number | null;
  try {
    ref = handle.get();
  } catch {
    return `WeakHandle { id: ${handle.id}, released }`;
  }
  return `WeakHandle { id: ${handle.id}, ref: ${ref === null ? 'null (collected)' : formatRef(heap, ref)} }`;
}

function formatRef(heap: Heap, ref: number): string {
  if (ref === 0) return '0 (nil)';
  const hex = `0x${ref.toString(16)}`;
  try {
    return `${hex} (${heap.typeOf(ref).$name})`;
  } catch {
    return `${hex} (not an object)`;
  }
}

/** 64 MiB, 15.6 KiB, 512 B: binary units, at most one decimal. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 || Number.isInteger(value) ? String(value) : value.toFixed(1).replace(/\.0$/, '');
  return `${text} ${units[unit]}`;
}
