// `bibop serve [--port N] [--workers N] [--heap MB]`: the live view. Serves a page on
// 127.0.0.1 that runs a workload in module Web Workers on one heap and redraws its map after
// every collection; runs until interrupted.

import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLiveServer } from '../inspect/live-server.js';
import { parseOrUsage, positiveInt, runCommand, type Command } from './command.js';

export const serveCommand: Command = {
  name: 'serve',
  usage: `  bibop serve [--port N] [--workers N] [--heap MB]
                           a live view in a browser: workers churn one heap in the page, and the
                           map is redrawn after every collection (on 127.0.0.1)`,
  run: (argv) => runCommand('serve', async () => {
    const { values } = parseOrUsage(() => parseArgs({
      args: argv, options: { port: { type: 'string' }, workers: { type: 'string' }, heap: { type: 'string' } },
    }));
    const port = values.port === undefined ? 0 : positiveInt(values.port, 0, 'port', 65535);
    const heapMiB = positiveInt(values.heap, 16, 'heap', 1024);
    const server = await startLiveServer({
      browserBundle: fileURLToPath(new URL('../browser.js', import.meta.url)),
      port, workers: positiveInt(values.workers, 3, 'workers', 16), heapBytes: heapMiB << 20, maxHeapBytes: Math.max(64, heapMiB * 4) << 20,
    });
    console.log(`bibop serve: open ${server.url}/ in a browser (Ctrl-C stops)`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    return 0;
  }),
};
