// Reading a snapshot file for a command: the bytes, then the view, with progress.

import { readFileSync } from 'node:fs';
import { HeapView } from '../inspect/view.js';
import { UsageError } from './command.js';
import { progressLine } from './progress.js';

export function openSnapshotFile(path: string | undefined, what = 'SNAPSHOT'): HeapView {
  if (path === undefined) throw new UsageError(`missing ${what} (a file written from heap.snapshot())`);
  const bytes = readFileSync(path);
  const progress = progressLine(`opening ${path}`);
  try {
    return HeapView.open(bytes, { onProgress: progress.report });
  } finally {
    progress.done();
  }
}
