// Heap inspection on a 256 MiB heap: snapshot, view (fromSnapshot) and Chrome export times,
// as ratios to copying the arena with a plain `Uint8Array.prototype.slice` of its buffer.
//
//   node dist/bench/inspect.js [--runs N] [--size MB]
//
// The heap: 256 MiB (the arena's `size`), filled to about three quarters with persisted
// binary trees of 16-byte nodes (1M objects), ref arrays of 500 elements (2 KiB class,
// 20,000) and 64 KiB byte arrays (large spans, 1,500). Each operation runs N times
// (default 3), interleaved with the copy it is compared to; medians are reported. The
// export writes to a sink that drops the text (the exporter's cost, not the disk's).

import { performance } from 'node:perf_hooks';
import { Heap } from '../src/index.js';
import { fullV8Gc, median, parseArgs } from './lib/util.js';

const args = parseArgs(process.argv.slice(2));
const runs = Number(args.get('runs') ?? 3);
const sizeMiB = Number(args.get('size') ?? 256);

function fill(heap: Heap): void {
  const Node = heap.defineStruct('bench.TreeNode', { left: 'ref', right: 'ref' });
  const Refs = heap.defineArray('bench.Refs', 'ref');
  const Bytes = heap.defineArray('bench.Bytes', 'u8');
  const tree = (d: number): number => {
    const n = heap.alloc(Node);
    if (d > 0) {
      heap.setRef(n, Node.left, tree(d - 1));
      heap.setRef(n, Node.right, tree(d - 1));
    }
    return n;
  };
  const scale = sizeMiB / 256;
  for (let t = 0; t < Math.round(8 * scale); t++) heap.scope(() => heap.persist(tree(16)));
  for (let i = 0; i < Math.round(20 * scale); i++) {
    heap.scope(() => {
      const holder = heap.allocArray(Refs, 1000);
      for (let j = 0; j < 1000; j++) heap.setRefAt(holder, j, heap.allocArray(Refs, 500));
      heap.persist(holder);
    });
  }
  heap.scope(() => {
    const holder = heap.allocArray(Refs, Math.round(1500 * scale));
    for (let j = 0; j < heap.length(holder); j++) heap.setRefAt(holder, j, heap.allocArray(Bytes, 64 * 1024));
    heap.persist(holder);
  });
}

function time<T>(fn: () => T): [number, T] {
  const start = performance.now();
  const r = fn();
  return [performance.now() - start, r];
}

const heap = Heap.create({ size: sizeMiB << 20, maxSize: 2 * sizeMiB << 20 });
const [fillMs] = time(() => fill(heap));
const stats = heap.stats();
console.log(`heap: ${stats.arenaBytes >> 20} MiB arena, ${stats.allocatedObjects} objects, ${(stats.allocatedBytes / 2 ** 20).toFixed(1)} MiB allocated (filled in ${fillMs.toFixed(0)} ms)`);

const copyMs: number[] = [];
const snapshotMs: number[] = [];
const viewMs: number[] = [];
const exportMs: number[] = [];
let snapshotBytes = 0;
let exportBytes = 0;
for (let r = 0; r < runs; r++) {
  fullV8Gc();
  copyMs.push(time(() => new Uint8Array(heap.buffer).slice())[0]);
  fullV8Gc();
  const [s, bytes] = time(() => heap.snapshot());
  snapshotMs.push(s);
  snapshotBytes = bytes.byteLength;
  fullV8Gc();
  const [v, view] = time(() => Heap.fromSnapshot(bytes));
  viewMs.push(v);
  const [e, out] = time(() => view.exportChrome(() => {}));
  exportMs.push(e);
  exportBytes = out.bytesWritten;
}
const base = median(copyMs);
const row = (name: string, xs: number[], note: string): string =>
  `${name.padEnd(28)} ${median(xs).toFixed(0).padStart(7)} ms  ${(median(xs) / base).toFixed(2).padStart(6)}x  ${note}`;
console.log(`medians of ${runs} runs; ratio = time / time of Uint8Array.prototype.slice of the arena`);
console.log(row('copy (slice of the buffer)', copyMs, `${stats.arenaBytes >> 20} MiB`));
console.log(row('heap.snapshot()', snapshotMs, `${(snapshotBytes / 2 ** 20).toFixed(1)} MiB file (pause + checksum)`));
console.log(row('Heap.fromSnapshot()', viewMs, 'checksum, checks, arena rebuilt'));
console.log(row('exportChrome (view)', exportMs, `${(exportBytes / 2 ** 20).toFixed(1)} MiB of JSON`));
console.log(`runs (ms): copy ${copyMs.map((x) => x.toFixed(0)).join(' ')}; snapshot ${snapshotMs.map((x) => x.toFixed(0)).join(' ')}; ` +
  `view ${viewMs.map((x) => x.toFixed(0)).join(' ')}; export ${exportMs.map((x) => x.toFixed(0)).join(' ')}`);
