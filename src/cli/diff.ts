// `bibop diff A B`: per type and per size class, what grew or shrank from snapshot A to B.

import { basename } from 'node:path';
import { diffMaps, renderDiff } from '../inspect/diff.js';
import { defineCommand } from './command.js';
import { openSnapshotFile, snapshotFailure } from './snapshot-file.js';

export const diffCommand = defineCommand({
  name: 'diff',
  summary: 'per type and size class, what grew or shrank from snapshot A to B',
  args: [{ name: 'A' }, { name: 'B' }],
  options: {},
  run(_v, [a, b]) {
    return snapshotFailure('diff', () => {
      const before = openSnapshotFile(a!).heapMap();
      const after = openSnapshotFile(b!).heapMap();
      console.log(renderDiff(diffMaps(before, after), [basename(a!), basename(b!)]));
      return 0;
    });
  },
});
