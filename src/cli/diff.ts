// `bibop diff A B`: per type and per size class, what grew or shrank from snapshot A to B.

import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { diffMaps, renderDiff } from '../inspect/diff.js';
import { parseOrUsage, runCommand, UsageError, type Command } from './command.js';
import { openSnapshotFile } from './snapshot-file.js';

export const diffCommand: Command = {
  name: 'diff',
  usage: `  bibop diff A B           per type and size class, what grew or shrank from snapshot A to B`,
  run: (argv) => runCommand('diff', () => {
    const { positionals } = parseOrUsage(() => parseArgs({ args: argv, allowPositionals: true, options: {} }));
    if (positionals.length !== 2) throw new UsageError(`two snapshots expected (A B), got ${positionals.length}`);
    const [a, b] = positionals as [string, string];
    const before = openSnapshotFile(a, 'A').heapMap();
    const after = openSnapshotFile(b, 'B').heapMap();
    console.log(renderDiff(diffMaps(before, after), [basename(a), basename(b)]));
    return 0;
  }),
};
