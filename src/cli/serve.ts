// `bibop serve [--port N] [--workers N] [--heap MB]`: the live view. Serves a page on
// 127.0.0.1 that runs a workload in module Web Workers on one heap and redraws its map after
// every collection; runs until interrupted.

import { fileURLToPath } from 'node:url';
import { startLiveServer } from '../inspect/live-server.js';
import { defineCommand } from './command.js';

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'a live view in a browser: workers churn one heap in the page, the map redrawn after every collection',
  options: {
    port: { kind: 'int', min: 0, max: 65535, default: 0, value: 'N', help: 'port on 127.0.0.1 (0: any free one)' },
    workers: { kind: 'int', min: 1, max: 16, default: 3, value: 'N', help: 'Web Workers in the page' },
    heap: { kind: 'int', min: 2, max: 1024, default: 16, value: 'MB', unit: 'MiB', help: "the page's initial heap size" },
  },
  async run(v) {
    const server = await startLiveServer({
      browserBundle: fileURLToPath(new URL('../browser.js', import.meta.url)),
      port: v.port, workers: v.workers, heapBytes: v.heap << 20, maxHeapBytes: Math.max(64, v.heap * 4) << 20,
    });
    console.log(`bibop serve: open ${server.url}/ in a browser (Ctrl-C stops)`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    return 0;
  },
});
