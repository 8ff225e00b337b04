// `bibop stress --map FILE.html [--snapshot FILE]`: the heap as the stress run left it when
// its workers stopped (before the final checks release their graphs), as an HTML map and as
// a snapshot file for `bibop map`, `diff` and `export`.

import { writeFileSync } from 'node:fs';
import type { Heap } from '../api.js';
import { renderHtmlMap } from '../inspect/html-map.js';
import { progressLine } from './progress.js';

export interface FinalHeapFiles {
  onFinalHeap: ((heap: Heap) => void) | undefined;
  /** Lines for the report: the files written. */
  reportLines(): string[];
  /** The files written, for --json. */
  written(): { map?: string; snapshot?: string };
}

export function finalHeapFiles(mapFile: string | undefined, snapshotFile: string | undefined): FinalHeapFiles {
  const written: string[] = [];
  const files: { map?: string; snapshot?: string } = {};
  if (mapFile === undefined && snapshotFile === undefined) return { onFinalHeap: undefined, reportLines: () => [], written: () => files };
  return {
    onFinalHeap: (heap) => {
      if (snapshotFile !== undefined) {
        const progress = progressLine(`snapshot ${snapshotFile}`);
        writeFileSync(snapshotFile, heap.snapshot({ onProgress: progress.report }));
        progress.done();
        written.push(`snapshot           ${snapshotFile} (bibop map, diff, export read it)`);
        files.snapshot = snapshotFile;
      }
      if (mapFile !== undefined) {
        writeFileSync(mapFile, renderHtmlMap(heap.heapMap(), 'bibop stress: the heap when the workers stopped', new Date().toISOString()));
        written.push(`heap map           ${mapFile} (open it in a browser)`);
        files.map = mapFile;
      }
    },
    reportLines: () => written,
    written: () => files,
  };
}
