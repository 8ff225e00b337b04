// util.inspect / console.log of the public objects: one short line each (src/inspect/summary.ts
// and HeapType's hook in src/heap/types.ts), never the arena's typed arrays.
import { format, inspect } from 'node:util';
import { afterEach, describe, expect, test } from 'vitest';
import { Heap } from '../../src/index.js';
import { formatBytes } from '../../src/inspect/summary.js';

const heaps: Heap[] = [];
function makeHeap(): Heap {
  const heap = Heap.create({ size: 8 << 20, maxSize: 128 << 20 });
  heaps.push(heap);
  return heap;
}
afterEach(() => {
  for (const h of heaps.splice(0)) h.detach();
});

const hex = (ref: number): string => `0x${ref.toString(16)}`;

describe('Heap', () => {
  test('prints worker, state, arena, objects, collections and workers on one line', () => {
    const heap = makeHeap();
    const Node = heap.defineStruct('Node', { next: 'ref', value: 'i32' });
    const kept = heap.scope(() => {
      let head = 0;
      for (let i = 0; i < 1000; i++) {
        const n = heap.alloc(Node);
        heap.setRef(n, Node.next, head);
        head = n;
      }
      return heap.persist(head);
    });
    heap.collect();
    const s = heap.stats();
    const line = inspect(heap);
    expect(line).toBe(
      `Heap { worker: 0, parked, arena: 8 MiB of 128 MiB, objects: ${s.allocatedObjects} (${formatBytes(s.allocatedBytes)}), collections: 1, workers: 1 }`,
    );
    expect(s.allocatedObjects, 'the list is counted').toBeGreaterThanOrEqual(1000);
    expect(format(heap), 'console.log prints the same').toBe(line);
    expect(inspect({ heap }, { breakLength: Infinity }), 'nested in another object').toBe(`{ heap: ${line} }`);
    kept.release();
  });

  test('says running inside a scope, and detached after detach()', () => {
    const heap = makeHeap();
    expect(heap.scope(() => inspect(heap))).toMatch(/^Heap \{ worker: 0, running, /);
    const other = Heap.attach(heap.buffer);
    expect(inspect(heap), 'two workers attached').toMatch(/, workers: 2 \}$/);
    other.detach();
    expect(inspect(other)).toMatch(/^Heap \{ worker: 1, detached, /);
    expect(inspect(heap), 'the dead worker is not counted').toMatch(/, workers: 1 \}$/);
  });
});

describe('handles', () => {
  test('a Persistent prints its id and ref with the type, then released', () => {
    const heap = makeHeap();
    const Node = heap.defineStruct('Node', { next: 'ref', value: 'i32' });
    const p = heap.scope(() => heap.persist(heap.alloc(Node)));
    expect(inspect(p)).toBe(`Persistent { id: ${p.id}, ref: ${hex(p.get())} (Node) }`);
    p.release();
    expect(inspect(p)).toBe(`Persistent { id: ${p.id}, released }`);
  });

  test('a WeakHandle prints its ref, null once collected, then released', () => {
    const heap = makeHeap();
    const Node = heap.defineStruct('Node', { next: 'ref', value: 'i32' });
    const kept = heap.scope(() => heap.persist(heap.alloc(Node)));
    const w = heap.weak(kept.get());
    expect(inspect(w)).toBe(`WeakHandle { id: ${w.id}, ref: ${hex(kept.get())} (Node) }`);
    kept.release();
    heap.collect();
    expect(inspect(w)).toBe(`WeakHandle { id: ${w.id}, ref: null (collected) }`);
    w.release();
    expect(inspect(w)).toBe(`WeakHandle { id: ${w.id}, released }`);
  });
});

describe('HeapType', () => {
  test('a struct prints its name, id, and fields with their byte offsets', () => {
    const heap = makeHeap();
    const Node = heap.defineStruct('Node', { left: 'ref', right: 'ref', value: 'i32', weight: 'f64' });
    const File = heap.defineStruct('File', { fd: 'i32' }, { finalize: true });
    const Empty = heap.defineStruct('Empty', {});
    const ids = heap.scope(() => [Node, File, Empty].map((t) => heap.typeOf(heap.alloc(t))));
    expect(ids).toEqual([Node, File, Empty]);
    expect(inspect(Node)).toBe(`HeapType 'Node' #1 { left: ref @${Node.left}, right: ref @${Node.right}, value: i32 @${Node.value}, weight: f64 @${Node.weight} }`);
    expect(Node.weight % 8, 'f64 fields are 8-aligned').toBe(0);
    expect(inspect(File)).toBe(`HeapType 'File' #2 { fd: i32 @4 } finalize`);
    expect(inspect(Empty)).toBe(`HeapType 'Empty' #3 {}`);
  });

  test('an array type prints its element kind', () => {
    const heap = makeHeap();
    expect(inspect(heap.defineArray('Bytes', 'u8'))).toBe(`HeapType 'Bytes' #1 u8[]`);
  });
});

describe('formatBytes', () => {
  test('binary units with at most one decimal', () => {
    expect([0, 512, 1024, 1536, 16_000, 64 << 20, 2 ** 31].map(formatBytes)).toEqual(['0 B', '512 B', '1 KiB', '1.5 KiB', '15.6 KiB', '64 MiB', '2 GiB']);
  });
});
