// `bibop export SNAPSHOT FILE.heapsnapshot`: the snapshot in Chrome's heap snapshot format,
// for DevTools' Memory panel (Load profile…).

import { closeSync, openSync, writeSync } from 'node:fs';
import { fmtBytes } from '../inspect/text.js';
import { defineCommand } from './command.js';
import { progressLine } from './progress.js';
import { openSnapshotFile, snapshotFailure } from './snapshot-file.js';

export const exportCommand = defineCommand({
  name: 'export',
  summary: "a snapshot in Chrome's heap snapshot format, for DevTools' Memory panel",
  args: [{ name: 'SNAPSHOT' }, { name: 'FILE.heapsnapshot' }],
  options: {},
  run(_v, [from, to]) {
    return snapshotFailure('export', () => {
      const view = openSnapshotFile(from!);
      const fd = openSync(to!, 'w');
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
    });
  },
});
