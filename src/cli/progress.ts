// Progress of long operations (opening a large snapshot, exporting, diffing) on stderr, when
// stderr is a terminal: one line redrawn at most ten times a second, cleared at the end.

import type { ProgressFn } from '../inspect/format.js';

export interface Progress {
  report: ProgressFn;
  /** Clears the line. */
  done(): void;
}

export function progressLine(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY !== true) return { report: () => {}, done: () => {} };
  let last = 0;
  let shown = false;
  return {
    report: (phase, done, total) => {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const f = total > 0 ? Math.min(1, done / total) : 1;
      const width = 30;
      const filled = Math.round(f * width);
      stream.write(`\r${label}: ${phase} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(f * 100).toFixed(0)}%\x1b[K`);
      shown = true;
    },
    done: () => {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
