// `bibop map SNAPSHOT [--html FILE] [--cell-pages N] [--color | --no-color]`: the page map of
// a snapshot in the terminal (coloured on a TTY, plain text otherwise), or as one
// self-contained HTML page.

import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { renderHtmlMap } from '../inspect/html-map.js';
import { renderTerminalMap } from '../inspect/term-map.js';
import { UsageError, defineCommand } from './command.js';
import { openSnapshotFile, snapshotFailure } from './snapshot-file.js';

export const mapCommand = defineCommand({
  name: 'map',
  summary: 'the page map of a snapshot in the terminal, or as one self-contained HTML page',
  description: [
    'One cell per page (or per N pages), coloured by kind and occupancy, with the size-class and type',
    'tables. --html writes one self-contained page: hover details, heat view, filters, charts.',
  ].join('\n'),
  args: [{ name: 'SNAPSHOT' }],
  options: {
    html: { kind: 'string', value: 'FILE', help: 'write the map as one self-contained HTML page' },
    'cell-pages': { kind: 'int', min: 1, max: 1 << 20, default: 1, value: 'N', help: 'pages per cell in the terminal' },
    color: { kind: 'boolean', help: 'colour even when stdout is not a terminal' },
    'no-color': { kind: 'boolean', help: 'plain text even on a terminal' },
  },
  run(v, [file]) {
    if (v.color && v['no-color']) throw new UsageError('--color and --no-color exclude each other');
    return snapshotFailure('map', () => {
      const view = openSnapshotFile(file!);
      const map = view.heapMap();
      if (v.html !== undefined) {
        writeFileSync(v.html, renderHtmlMap(map, 'bibop heap map', `${basename(file!)}, taken ${view.takenAt.toISOString()}`));
        console.log(`wrote ${v.html}: ${map.pages.length} pages, ${map.totals.objects} objects`);
        return 0;
      }
      const color = v['no-color'] ? false : v.color ? true : process.stdout.isTTY === true;
      console.log(renderTerminalMap(map, { color, cellPages: v['cell-pages'] }));
      return 0;
    });
  },
});
