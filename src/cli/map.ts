// `bibop map SNAPSHOT [--html FILE] [--cell-pages N] [--color | --no-color]`: the page map of
// a snapshot in the terminal (coloured on a TTY, plain text otherwise), or as one
// self-contained HTML page.

import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { renderHtmlMap } from '../inspect/html-map.js';
import { renderTerminalMap } from '../inspect/term-map.js';
import { parseOrUsage, positiveInt, runCommand, UsageError, type Command } from './command.js';
import { openSnapshotFile } from './snapshot-file.js';

export const mapCommand: Command = {
  name: 'map',
  usage: `  bibop map SNAPSHOT [--html FILE] [--cell-pages N] [--color|--no-color]
                           the page map of a snapshot: one cell per page (or N), coloured by kind
                           and occupancy, with the size-class and type tables; --html writes one
                           self-contained page (hover, heat view, filters, charts)`,
  run: (argv) => runCommand('map', () => {
    const { values, positionals } = parseOrUsage(() => parseArgs({
      args: argv, allowPositionals: true,
      options: { html: { type: 'string' }, 'cell-pages': { type: 'string' }, color: { type: 'boolean' }, 'no-color': { type: 'boolean' } },
    }));
    if (positionals.length > 1) throw new UsageError(`one SNAPSHOT expected, got ${positionals.length}: ${positionals.join(' ')}`);
    const view = openSnapshotFile(positionals[0]);
    const map = view.heapMap();
    if (values.html !== undefined) {
      const subtitle = `${basename(positionals[0]!)}, taken ${view.takenAt.toISOString()}`;
      writeFileSync(values.html, renderHtmlMap(map, 'bibop heap map', subtitle));
      console.log(`wrote ${values.html}: ${map.pages.length} pages, ${map.totals.objects} objects`);
      return 0;
    }
    const color = values['no-color'] ? false : values.color ? true : process.stdout.isTTY === true;
    console.log(renderTerminalMap(map, { color, cellPages: positiveInt(values['cell-pages'], 1, 'cell-pages', 1 << 20) }));
    return 0;
  }),
};
