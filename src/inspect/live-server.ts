// The live view (`bibop serve`): an HTTP server on 127.0.0.1 whose page creates a heap, runs a
// workload in several module Web Workers on it (the browser entry, dist/browser.js), and
// redraws the page map after every collection.
//
// The page reads the heap without stopping the world: `heap.heapMap('racy')` on the page's
// main thread, which is parked and never holds a collection up. A read that races a worker
// may be torn (pages.ts counts what did not add up); one that throws all the same is
// recorded in `window.bibopLive.errors` and that frame is skipped, so the view never dies.
//
// Every response carries COOP same-origin and COEP require-corp (and CORP same-origin), or
// the page would not be cross-origin isolated and would have no SharedArrayBuffer.

import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { G_MAJOR_COUNT, G_MINOR_COUNT } from '../heap/layout.js';
import { mapPageParts, scriptJson } from './html-map.js';

export interface LiveServerOptions {
  /** Path of the browser bundle (dist/browser.js) to serve at /dist/browser.js. */
  browserBundle: string;
  port?: number;
  workers?: number;
  heapBytes?: number;
  maxHeapBytes?: number;
}

export interface LiveServer {
  /** e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The workload of one live-view worker: garbage trees, and long-lived trees, byte buffers
 * and ref arrays kept in a ring of persistent handles, so the map keeps changing. Runs
 * until control[0] is set. Self-contained: it is sent to the browser as source.
 */
export function liveWorkload(heap: import('../api.js').Heap, control: Int32Array, index: number): number {
  const Node = heap.defineStruct('live.Node', { left: 'ref', right: 'ref', value: 'i32' });
  const Bytes = heap.defineArray('live.Bytes', 'u8');
  const Refs = heap.defineArray('live.Refs', 'ref');
  const keep: { release(): void }[] = [];
  const tree = (d: number): number => {
    const n = heap.alloc(Node);
    heap.setI32(n, Node.value, d);
    if (d > 0) {
      heap.setRef(n, Node.left, tree(d - 1));
      heap.setRef(n, Node.right, tree(d - 1));
    }
    return n;
  };
  let round = 0;
  while (Atomics.load(control, 0) === 0) {
    heap.scope(() => {
      for (let i = 0; i < 12; i++) tree(5);
      const kind = (round + index) % 3;
      let obj: number;
      if (kind === 0) obj = tree(7 + (round % 3));
      else if (kind === 1) obj = heap.allocArray(Bytes, 200 + ((round * 977) % 9000));
      else {
        obj = heap.allocArray(Refs, 50 + (round % 200));
        for (let i = 0; i < 50; i++) heap.setRefAt(obj, i, tree(2));
      }
      keep.push(heap.persist(obj));
      if (keep.length > 40 + index * 20) keep.shift()!.release();
    });
    round++;
    Atomics.add(control, 1 + index, 1);
    if (round % 40 === 0) heap.collect();
  }
  for (const h of keep) h.release();
  return round;
}

function workerScript(): string {
  return `import { Heap } from '/dist/browser.js';
const liveWorkload = ${liveWorkload.toString()};
self.onmessage = (first) => {
  let heap;
  try {
    heap = Heap.attach(first.data.heap);
    const { control, index } = first.data.workerData;
    self.postMessage({ type: 'attached', slot: heap.workerId });
    const rounds = liveWorkload(heap, new Int32Array(control), index);
    self.postMessage({ type: 'stopped', rounds });
  } catch (e) {
    console.error('[live worker] ' + (e && e.stack ? e.stack : e));
    self.postMessage({ type: 'error', message: String(e && e.stack ? e.stack : e) });
  }
};
`;
}

function pageHtml(o: Required<Omit<LiveServerOptions, 'browserBundle' | 'port'>>): string {
  const { head, client } = mapPageParts('bibop live heap map');
  const config = { workers: o.workers, heapBytes: o.heapBytes, maxHeapBytes: o.maxHeapBytes, G_MINOR_COUNT, G_MAJOR_COUNT };
  return `<!doctype html>
<html lang="en">
<head>${head}</head>
<body>
<div id="app"><p>starting the workers…</p></div>
<script type="module">
import { Heap } from '/dist/browser.js';
${client}
const cfg = ${scriptJson(config)};
const live = window.bibopLive = { frames: 0, collections: -1, torn: 0, errors: [], workerErrors: [], attached: 0, rounds: [], data: null, stop: null };
const heap = Heap.create({ size: cfg.heapBytes, maxSize: cfg.maxHeapBytes, safepointTimeoutMs: 10000 });
const control = new Int32Array(new SharedArrayBuffer(4 * (1 + cfg.workers)));
const workers = [];
for (let i = 0; i < cfg.workers; i++) {
  const w = heap.spawn(new URL('/live-worker.js', location.href), { name: 'bibop-live-' + i, workerData: { control: control.buffer, index: i } });
  w.onmessage = (e) => {
    if (e.data.type === 'attached') live.attached++;
    if (e.data.type === 'error') live.workerErrors.push(e.data.message);
  };
  w.onerror = (e) => { e.preventDefault(); live.workerErrors.push(String(e.message)); };
  workers.push(w);
}
live.stop = () => { Atomics.store(control, 0, 1); };
const app = document.getElementById('app');
let update = null;
function frame() {
  const words = new Uint32Array(heap.buffer, 0, 64);
  const collections = words[cfg.G_MINOR_COUNT] + words[cfg.G_MAJOR_COUNT];
  if (collections !== live.collections) {
    try {
      const map = heap.heapMap('racy');
      const data = compactMap(map, 'bibop live heap map', cfg.workers + ' workers on one heap; redrawn after every collection (' + collections + ' so far), read without stopping the world');
      if (update === null) update = mapClient(app, data);
      else update(data);
      live.collections = collections;
      live.frames++;
      live.torn += map.torn;
      live.data = data;
    } catch (e) {
      live.errors.push(String(e && e.stack ? e.stack : e)); // a torn read that threw: skip the frame
    }
  }
  live.rounds = Array.from(control.subarray(1));
  setTimeout(frame, 30);
}
frame();
</script>
</body>
</html>
`;
}

/** Starts the live view's server. */
export async function startLiveServer(options: LiveServerOptions): Promise<LiveServer> {
  const o = {
    workers: options.workers ?? 3,
    heapBytes: options.heapBytes ?? 16 << 20,
    maxHeapBytes: options.maxHeapBytes ?? 64 << 20,
  };
  const page = pageHtml(o);
  const worker = workerScript();
  const server: Server = createServer((req, res) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    };
    const send = (status: number, body: string | Buffer, type: string): void => {
      res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed', 'text/plain');
    if (path === '/' || path === '/index.html') return send(200, page, 'text/html; charset=utf-8');
    if (path === '/live-worker.js') return send(200, worker, 'text/javascript; charset=utf-8');
    if (path === '/dist/browser.js' || path === '/dist/browser.js.map') {
      const file = options.browserBundle + (path.endsWith('.map') ? '.map' : '');
      readFile(file).then(
        (body) => send(200, body, path.endsWith('.map') ? 'application/json' : 'text/javascript; charset=utf-8'),
        () => send(404, `not found: ${file} (run npm run build)`, 'text/plain'),
      );
      return;
    }
    send(404, `not found: ${path}`, 'text/plain');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((err) => (err ? reject(err) : resolve()));
    }),
  };
}
