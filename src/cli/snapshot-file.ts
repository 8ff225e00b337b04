// Reading a snapshot file for a command: the bytes, then the view, with progress. A file
// that is missing is a usage error (exit 2); one that is not a readable snapshot, one line
// and exit 1.

import { readFileSync } from 'node:fs';
import { SnapshotError } from '../errors.js';
import { HeapView } from '../inspect/view.js';
import { UsageError } from './command.js';
import { progressLine } from './progress.js';

export function openSnapshotFile(path: string): HeapView {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const progress = progressLine(`opening ${path}`);
  try {
    return HeapView.open(bytes, { onProgress: progress.report });
  } finally {
    progress.done();
  }
}

/** Runs a command body; a SnapshotError becomes one line on stderr and exit code 1. */
export function snapshotFailure(command: string, body: () => number): Promise<number> {
  try {
    return Promise.resolve(body());
  } catch (e) {
    if (!(e instanceof SnapshotError)) throw e;
    process.stderr.write(`bibop ${command}: ${e.message}\n`);
    return Promise.resolve(1);
  }
}
