// `bibop export SNAPSHOT FILE.heapsnapshot`: the snapshot in Chrome's heap snapshot format,
// for DevTools' Memory panel (Load profile…).

import { closeSync, openSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fmtBytes } from '../inspect/text.js';
import { parseOrUsage, runCommand, UsageError, type Command } from './command.js';
import { progressLine } from './progress.js';
import { openSnapshotFile } from './snapshot-file.js';

export const exportCommand: Command = {
  name: 'export',
  usage: `  bibop export SNAPSHOT FILE.heapsnapshot
                           the snapshot in Chrome's heap snapshot format (DevTools, Memory panel)`,
  run: (argv) => runCommand('export', () => {
    const { positionals } = parseOrUsage(() => parseArgs({ args: argv, allowPositionals: true, options: {} }));
    if (positionals.length !== 2) throw new UsageError(`SNAPSHOT and FILE.heapsnapshot expected, got ${positionals.length} arguments`);
    const [from, to] = positionals as [string, string];
    const view = openSnapshotFile(from);
    const fd = openSync(to, 'w');
    const progress = progressLine(`exporting to ${to}`);
    try {
      const r = view.exportChrome((chunk) => { writeSync(fd, chunk); }, progress.report);
      progress.done();
      console.log(`wrote ${to}: ${r.objects} objects, ${r.nodes} nodes, ${r.edges} edges, ${fmtBytes(r.bytesWritten)}`);
    } finally {
      progress.done();
      closeSync(fd);
    }
    return 0;
  }),
};
