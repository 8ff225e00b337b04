// bibop-gc in a real browser: Chromium (found by ./chromium.ts: CHROMIUM_PATH, the system's,
// or the one inside @sparticuz/chromium), driven by playwright-core, loads
// dist/browser.js on a cross-origin-isolated page (test/browser/server.ts) and shares one
// heap between the page's main thread and module Web Workers (fixtures/worker.js).
//
// The page's main thread cannot block (Atomics.wait throws there), so when it collects,
// the heap spins at the rendezvous while the workers stop at their safepoints.
//
// Page code runs through page.evaluate('<string>') (vite rewrites import() inside function
// bodies) and uses the helpers fixtures/page.html puts on window.harness. The tests run in
// order and share the page's state (window.harness.state): b makes the heap, c spawns the
// workers, d terminates one, e compares type ids with what the workers reported. f and g
// terminate workers in the middle of a scope, each on heaps of their own: a terminated Web
// Worker may run on for tens of milliseconds, and is declared dead only once it has stopped.
//
// Watchdogs: every wait on the page has a timeout (harness.withTimeout), every
// page.evaluate has one on the Node side, each test has one, and the heap's
// safepointTimeoutMs bounds any rendezvous. Failures carry the page's console.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { startServer, type StaticServer } from './server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const MAIN_LIST = 10_000;
const WORKER_LIST = 5_000;
const WORKER_BASE = [100_000, 200_000];

let server: StaticServer | undefined;
let browser: Browser | undefined;
let page: Page | undefined;
const consoleLines: string[] = [];

/** The page's console so far, for assertion messages. */
function pageConsole(): string {
  const lines = consoleLines.length > 80 ? ['…', ...consoleLines.slice(-80)] : consoleLines;
  return `\n--- page console (${consoleLines.length} lines) ---\n${lines.join('\n') || '(empty)'}\n---`;
}

/** page.evaluate(script) with a Node-side timeout; a failure carries the page's console. */
async function evaluate<T>(what: string, script: string, timeoutMs = 15_000): Promise<T> {
  if (page === undefined) throw new Error(`${what}: no page (beforeAll failed)${pageConsole()}`);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`page.evaluate did not settle within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([page.evaluate<T>(script), watchdog]);
  } catch (err) {
    throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}${pageConsole()}`);
  } finally {
    clearTimeout(timer);
  }
}

interface GcEvent {
  kind: string;
  pauseMs: number;
  phases: { rendezvousMs: number; markMs: number; sweepMs: number };
  markedObjects: number;
  freedObjects: number;
  collector: number;
  seq: number;
}
interface VerifyResult {
  ok: boolean;
  errors: unknown[];
}
interface HeapStats {
  pages: { free: number; small: number; large: number; orphan: number; system: number; header: number };
  collections: { minor: number; major: number };
  workers: Record<string, number>;
}

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/browser.js'))) {
    const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`node scripts/build.mjs failed (exit ${r.status ?? r.signal})`);
  }
  server = await startServer(root);
  const launched = await launchChromium();
  browser = launched.browser;
  consoleLines.push(`[chromium] ${browser.version()} from ${launched.found.source}: ${launched.found.executablePath}`);
  page = await browser.newPage();
  page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.stack ?? e.message}`));
  page.on('worker', (w) => {
    consoleLines.push(`[worker started] ${w.url()}`);
    w.on('console', (m) => consoleLines.push(`[worker ${m.type()}] ${m.text()}`));
    w.on('close', () => consoleLines.push(`[worker closed] ${w.url()}`));
  });
  page.on('crash', () => consoleLines.push('[page crashed]'));
  await page.goto(`${server.url}/test/browser/fixtures/page.html`, { timeout: 15_000 });
  await page.waitForFunction('window.harnessReady === true', undefined, { timeout: 15_000 }).catch((err: unknown) => {
    throw new Error(`the test page did not load dist/browser.js: ${err instanceof Error ? err.message : String(err)}${pageConsole()}`);
  });
}, 120_000);

afterAll(async () => {
  const closing = Promise.allSettled([browser?.close(), server?.close()]);
  await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 10_000))]);
}, 20_000);

describe('bibop-gc in Chromium (dist/browser.js)', () => {
  test('a. the page is cross-origin isolated and has SharedArrayBuffer', async () => {
    const r = await evaluate<{ isolated: boolean; sab: string; growable: boolean }>('isolation', `({
      isolated: crossOriginIsolated,
      sab: typeof SharedArrayBuffer,
      growable: typeof SharedArrayBuffer === 'function' && new SharedArrayBuffer(8, { maxByteLength: 16 }).growable === true,
    })`);
    expect(r.isolated, `crossOriginIsolated${pageConsole()}`).toBe(true);
    expect(r.sab, `typeof SharedArrayBuffer${pageConsole()}`).toBe('function');
    expect(r.growable, `growable SharedArrayBuffer${pageConsole()}`).toBe(true);
  }, 20_000);

  test('b. the main thread, which cannot block, allocates, collects (spinning) and verifies', async () => {
    const r = await evaluate<{
      atomicsWaitThrows: string | null;
      event: GcEvent;
      garbage: number;
      verify: VerifyResult;
      list: string;
      stats: HeapStats;
      summaries: string[];
    }>('main thread heap', `(() => {
      const { bibop, harness: H } = window;
      let atomicsWaitThrows = null;
      try { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 0); } catch (e) { atomicsWaitThrows = String(e); }
      const heap = bibop.Heap.create({ size: 8 << 20, safepointTimeoutMs: 5000 });
      const Node = heap.defineStruct('Node', H.NODE_FIELDS);
      const handle = H.buildList(heap, Node, ${MAIN_LIST}, 0);
      // Garbage, dropped at the scope's end, for the collection to free.
      const garbage = 5000;
      heap.scope(() => { for (let i = 0; i < garbage; i++) heap.alloc(Node); });
      const event = heap.collect();
      const verify = heap.verify();
      H.state = { heap, Node, mainHandleId: handle.id };
      // The util.inspect hooks are plain methods under a registered symbol: the bundle has them too.
      const summaries = [heap, handle, Node].map((o) => o[Symbol.for('nodejs.util.inspect.custom')]());
      return { atomicsWaitThrows, event, garbage, verify, list: H.checkList(heap, Node, handle.id, ${MAIN_LIST}, 0), stats: heap.stats(), summaries };
    })()`);
    const ctx = `: ${JSON.stringify(r)}${pageConsole()}`;
    expect(r.atomicsWaitThrows, `Atomics.wait must throw on the page's main thread${ctx}`).not.toBeNull();
    expect(r.event.seq, `collect() returns its GcEvent${ctx}`).toBeGreaterThanOrEqual(1);
    expect(r.event.collector, `the page (slot 0) collected${ctx}`).toBe(0);
    expect(r.event.markedObjects, `every list node is marked${ctx}`).toBeGreaterThanOrEqual(MAIN_LIST);
    expect(r.event.freedObjects, `the garbage is freed${ctx}`).toBeGreaterThanOrEqual(r.garbage);
    expect(r.verify, `verify()${ctx}`).toMatchObject({ ok: true, errors: [] });
    expect(r.list, `the 10 000-node list after collect()${ctx}`).toBe('ok');
    expect(r.stats.workers, `only the page is attached${ctx}`).toEqual({ parked: 1 });
    expect(r.summaries[0], `util.inspect summary of the heap${ctx}`).toMatch(/^Heap \{ worker: 0, parked, arena: 8 MiB of /);
    expect(r.summaries[1], `of a handle${ctx}`).toMatch(/^Persistent \{ id: \d+, ref: 0x[0-9a-f]+ \(Node\) \}$/);
    expect(r.summaries[2], `of a type${ctx}`).toBe(`HeapType 'Node' #1 { next: ref @4, value: i32 @8 }`);
  }, 20_000);

  test('c. two Web Workers build lists and churn while the page collects', async () => {
    const r = await evaluate<{
      attachedSlots: number[];
      built: { handleId: number; slot: number; listOk: string }[];
      listsAfterBuild: string[];
      workersAfterSpawn: Record<string, number>;
      rounds: { before: number[]; after: number[] }[];
      events: (GcEvent | null)[];
      verifies: VerifyResult[];
      listsDuring: string[][];
      churned: { rounds: number; listOk: string }[];
      collectionsTotal: number;
      listsAfter: string[];
      verifyAfter: VerifyResult;
    }>('two workers', `(async () => {
      const { harness: H } = window;
      const S = H.state;
      const { heap, Node } = S;
      const control = new SharedArrayBuffer(16);
      const ctl = new Int32Array(control);
      const bases = ${JSON.stringify(WORKER_BASE)};
      const workers = bases.map((base, index) => H.spawnWorker(heap, 'w' + index, { name: 'w' + index, index, base, control }));
      S.workers = workers;
      S.control = ctl;
      const attached = await Promise.all(workers.map((w) => w.next('attached')));
      for (const w of workers) w.post({ type: 'build', length: ${WORKER_LIST} });
      const built = await Promise.all(workers.map((w) => w.next('built')));
      S.built = built;
      const lists = () => [
        H.checkList(heap, Node, S.mainHandleId, ${MAIN_LIST}, 0),
        ...built.map((b, i) => H.checkList(heap, Node, b.handleId, ${WORKER_LIST}, bases[i])),
      ];
      const listsAfterBuild = lists();
      const workersAfterSpawn = heap.stats().workers;

      for (const w of workers) w.post({ type: 'churn' });
      const started = performance.now();
      while (Atomics.load(ctl, 1) === 0 || Atomics.load(ctl, 2) === 0) {
        if (performance.now() - started > 10000) throw new Error('the workers did not start churning within 10 s');
        await H.sleep(5);
      }
      const rounds = [], events = [], verifies = [], listsDuring = [];
      try {
        for (let k = 0; k < 6; k++) {
          const before = [Atomics.load(ctl, 1), Atomics.load(ctl, 2)];
          events.push(heap.collect() ?? null);
          verifies.push(heap.verify());
          listsDuring.push(lists());
          await H.sleep(40);
          rounds.push({ before, after: [Atomics.load(ctl, 1), Atomics.load(ctl, 2)] });
        }
      } finally {
        Atomics.store(ctl, 0, 1);
      }
      const churned = await Promise.all(workers.map((w) => w.next('churned')));
      const s = heap.stats();
      return {
        attachedSlots: attached.map((a) => a.slot), built, listsAfterBuild, workersAfterSpawn, rounds, events, verifies,
        listsDuring, churned, collectionsTotal: s.collections.major + s.collections.minor, listsAfter: lists(),
        verifyAfter: heap.verify(),
      };
    })()`, 25_000);
    const ctx = `: ${JSON.stringify(r)}${pageConsole()}`;
    expect(new Set([0, ...r.attachedSlots]).size, `three distinct slots${ctx}`).toBe(3);
    expect(r.built.map((b) => b.listOk), `each worker reads back its own list${ctx}`).toEqual(['ok', 'ok']);
    expect(r.built.map((b) => b.slot), `the slots reported after building${ctx}`).toEqual(r.attachedSlots);
    expect(r.listsAfterBuild, `the page reads all three lists${ctx}`).toEqual(['ok', 'ok', 'ok']);
    expect(r.workersAfterSpawn, `all three attached and parked${ctx}`).toEqual({ parked: 3 });
    expect(r.events, `six collections from the page${ctx}`).toHaveLength(6);
    let lastSeq = 0;
    for (const e of r.events) {
      expect(e, `every collect() returns a GcEvent${ctx}`).not.toBeNull();
      expect(e!.seq, `collections move forward${ctx}`).toBeGreaterThan(lastSeq);
      expect(e!.kind, `collect() returns a major collection${ctx}`).toBe('major');
      expect(e!.markedObjects, `the persisted lists are marked${ctx}`).toBeGreaterThanOrEqual(MAIN_LIST + 2 * WORKER_LIST);
      lastSeq = e!.seq;
    }
    for (const v of r.verifies) expect(v, `verify() after each collect${ctx}`).toMatchObject({ ok: true, errors: [] });
    for (const l of r.listsDuring) expect(l, `all lists intact between collections${ctx}`).toEqual(['ok', 'ok', 'ok']);
    const finalRounds = r.rounds[r.rounds.length - 1]!.after;
    expect(finalRounds.every((n, i) => n > r.rounds[0]!.before[i]!), `the workers kept churning across the page's collections${ctx}`).toBe(true);
    expect(r.churned.map((c) => c.listOk), `each worker's list after churning${ctx}`).toEqual(['ok', 'ok']);
    expect(r.collectionsTotal, `collections ran${ctx}`).toBeGreaterThanOrEqual(6);
    expect(r.listsAfter, `all lists after churning${ctx}`).toEqual(['ok', 'ok', 'ok']);
    expect(r.verifyAfter, `verify() after churning${ctx}`).toMatchObject({ ok: true, errors: [] });
  }, 30_000);

  test('d. a terminated worker is declared dead, freed by the next collection, and its list survives', async () => {
    const r = await evaluate<{
      before: Record<string, number>;
      afterTerminate: Record<string, number>;
      event: GcEvent;
      afterCollect: HeapStats;
      listFromPage: string;
      otherFromPage: string;
      otherFromWorker: string;
      verify: VerifyResult;
      respawnSlot: number;
      deadSlot: number;
    }>('terminate a worker', `(async () => {
      const { harness: H } = window;
      const S = H.state;
      const { heap, Node, workers, built } = S;
      const before = heap.stats().workers;
      workers[0].worker.terminate();
      // Declared dead once it has stopped (its Web Lock released), not when terminate() returns.
      const t0 = performance.now();
      while ((heap.stats().workers.dead ?? 0) !== 1) {
        if (performance.now() - t0 > 5000) throw new Error('the terminated worker was not declared dead within 5 s: ' + JSON.stringify(heap.stats().workers));
        await H.sleep(1);
      }
      const afterTerminate = heap.stats().workers;
      const event = heap.collect();
      const afterCollect = heap.stats();
      const listFromPage = H.checkList(heap, Node, built[0].handleId, ${WORKER_LIST}, ${WORKER_BASE[0]});
      const otherFromPage = H.checkList(heap, Node, built[1].handleId, ${WORKER_LIST}, ${WORKER_BASE[1]});
      workers[1].post({ type: 'check' });
      const otherFromWorker = (await workers[1].next('checked')).listOk;
      const verify = heap.verify();
      // The freed slot is reusable: a new worker gets it.
      const w2 = H.spawnWorker(heap, 'w2', { name: 'w2', index: 2, base: 0, control: new SharedArrayBuffer(16) });
      S.workers.push(w2);
      const respawnSlot = (await w2.next('attached')).slot;
      return { before, afterTerminate, event, afterCollect, listFromPage, otherFromPage, otherFromWorker, verify, respawnSlot, deadSlot: built[0].slot };
    })()`);
    const ctx = `: ${JSON.stringify(r)}${pageConsole()}`;
    expect(r.before, `before: three parked${ctx}`).toEqual({ parked: 3 });
    expect(r.afterTerminate, `the terminated worker's slot is declared dead${ctx}`).toEqual({ parked: 2, dead: 1 });
    expect(r.event.seq, `collect() returns a GcEvent${ctx}`).toBeGreaterThan(0);
    expect(r.afterCollect.workers.dead ?? 0, `the collection frees the dead slot${ctx}`).toBe(0);
    expect(r.afterCollect.workers, `two left${ctx}`).toEqual({ parked: 2 });
    expect(r.afterCollect.pages.orphan, `the dead worker's pages are orphans${ctx}`).toBeGreaterThan(0);
    expect(r.listFromPage, `the dead worker's persisted list, read from the page${ctx}`).toBe('ok');
    expect(r.otherFromPage, `the live worker's list, read from the page${ctx}`).toBe('ok');
    expect(r.otherFromWorker, `the live worker's list, read by that worker${ctx}`).toBe('ok');
    expect(r.verify, `verify()${ctx}`).toMatchObject({ ok: true, errors: [] });
    expect(r.respawnSlot, `a new worker reuses the freed slot${ctx}`).toBe(r.deadSlot);
  }, 20_000);

  test('e. a type defined in a worker and on the page with the same name and layout has the same $id', async () => {
    const r = await evaluate<{
      pageNode: number;
      pageWorkerFirst: number;
      workers: { nodeTypeId: number; workerFirstTypeId: number }[];
      mismatch: { name: string; message: string } | null;
    }>('type ids', `(() => {
      const { harness: H } = window;
      const { heap, Node, built } = H.state;
      // 'Node' was defined on the page first; 'WorkerFirst' by the workers first.
      const WorkerFirst = heap.defineStruct('WorkerFirst', { a: 'f64', b: 'ref', c: 'i32' });
      let mismatch = null;
      try { heap.defineStruct('WorkerFirst', { a: 'f64', b: 'ref' }); } catch (e) { mismatch = H.describe(e); }
      return {
        pageNode: Node.$id, pageWorkerFirst: WorkerFirst.$id, mismatch,
        workers: built.map((b) => ({ nodeTypeId: b.nodeTypeId, workerFirstTypeId: b.workerFirstTypeId })),
      };
    })()`);
    const ctx = `: ${JSON.stringify(r)}${pageConsole()}`;
    expect(r.pageNode, `a type id${ctx}`).toBeGreaterThan(0);
    expect(r.pageWorkerFirst, `a type id${ctx}`).toBeGreaterThan(0);
    expect(r.pageWorkerFirst, `different types, different ids${ctx}`).not.toBe(r.pageNode);
    expect(r.workers, `both workers saw the page's ids${ctx}`).toEqual([
      { nodeTypeId: r.pageNode, workerFirstTypeId: r.pageWorkerFirst },
      { nodeTypeId: r.pageNode, workerFirstTypeId: r.pageWorkerFirst },
    ]);
    expect(r.mismatch?.name, `the same name with another layout is refused${ctx}`).toBe('TypeDefinitionError');
  }, 20_000);

  // A Web Worker's terminate() is asynchronous: its thread may run on for a while after the
  // call returns, while spawn's terminate wrapper has already declared the slot dead. These
  // two tests terminate a worker in the middle of a scope. README promises that a worker
  // terminated at any instruction is declared dead, its slot freed by the next collection,
  // and the heap left intact.
  test('f. a worker terminated inside a scope is declared dead once it has stopped, stays dead, and the next collection frees its slot', async () => {
    // terminate() returns while the worker may still run; the slot must not be declared dead
    // until it has stopped (the supervisor's Web Lock), and must never come back to life.
    const probe = await evaluate<{
      deadAfterMs: number;
      beatsAfterDead: number;
      stillDead: Record<string, number>;
      collectError: { name: string; message: string } | null;
      afterCollect: Record<string, number>;
    }>('terminate probe', `(async () => {
      const { bibop, harness: H } = window;
      const heap = bibop.Heap.create({ size: 8 << 20, safepointTimeoutMs: 5000 });
      const control = new SharedArrayBuffer(16);
      const ctl = new Int32Array(control);
      const w = H.spawnWorker(heap, 'probe', { name: 'probe', index: 0, base: 0, control });
      await w.next('attached');
      w.post({ type: 'churn' });
      const started = performance.now();
      while (Atomics.load(ctl, 1) < 3) {
        if (performance.now() - started > 5000) throw new Error('worker probe did not churn within 5 s');
        await H.sleep(1);
      }
      w.worker.terminate();
      const t0 = performance.now();
      while ((heap.stats().workers.dead ?? 0) !== 1) {
        if (performance.now() - t0 > 5000) throw new Error('the terminated worker was not declared dead within 5 s: ' + JSON.stringify(heap.stats().workers));
        await H.sleep(1);
      }
      const deadAfterMs = performance.now() - t0;
      const atDeath = Atomics.load(ctl, 3);
      await H.sleep(50);
      const beatsAfterDead = Atomics.load(ctl, 3) - atDeath;
      const stillDead = heap.stats().workers;
      let collectError = null;
      try { heap.collect(); } catch (e) { collectError = H.describe(e); }
      return { deadAfterMs, beatsAfterDead, stillDead, collectError, afterCollect: heap.stats().workers };
    })()`);
    const ctx = `: ${JSON.stringify(probe)}${pageConsole()}`;
    expect(probe.beatsAfterDead, `the worker allocated nothing once declared dead${ctx}`).toBe(0);
    expect(probe.stillDead, `50 ms later the slot is still dead${ctx}`).toEqual({ parked: 1, dead: 1 });
    expect(probe.collectError, `collect() succeeds${ctx}`).toBeNull();
    expect(probe.afterCollect, `the collection freed the slot${ctx}`).toEqual({ parked: 1 });
  }, 20_000);

  test('g. a worker terminated inside a scope, with a collection right after, leaves the heap intact', async () => {
    // Each round uses a fresh heap, so that one corruption does not hide the next.
    const ROUNDS = 12;
    interface Round {
      round: number;
      heartbeat: { beforeTerminate: number; afterCollect: number; later: number };
      workersAfterTerminate: Record<string, number> | null;
      magicOk: boolean;
      verify: VerifyResult | null;
      lists: string[] | null;
      error: { name: string; message: string } | null;
    }
    const rounds = await evaluate<Round[]>('terminate mid-scope', `(async () => {
      const { bibop, harness: H } = window;
      const out = [];
      for (let round = 0; round < ${ROUNDS}; round++) {
        const heap = bibop.Heap.create({ size: 8 << 20, safepointTimeoutMs: 5000 });
        const Node = heap.defineStruct('Node', H.NODE_FIELDS);
        const main = H.buildList(heap, Node, 2000, 0);
        const words = new Uint32Array(heap.buffer, 0, 1);
        const magic = words[0];
        const control = new SharedArrayBuffer(16);
        const ctl = new Int32Array(control);
        const w = H.spawnWorker(heap, 'g' + round, { name: 'g' + round, index: 0, base: 0, control });
        const r = { round, heartbeat: {}, workersAfterTerminate: null, magicOk: false, verify: null, lists: null, error: null };
        try {
          await w.next('attached');
          w.post({ type: 'churn' });
          const started = performance.now();
          while (Atomics.load(ctl, 1) < 3) {
            if (performance.now() - started > 5000) throw new Error('worker g' + round + ' did not churn within 5 s');
            await H.sleep(1);
          }
          r.heartbeat.beforeTerminate = Atomics.load(ctl, 3);
          w.worker.terminate();
          r.workersAfterTerminate = heap.stats().workers;
          heap.collect();
          r.heartbeat.afterCollect = Atomics.load(ctl, 3);
          // Allocate at once, reusing what the collection freed, then look again.
          const fresh = H.buildList(heap, Node, 3000, 7000);
          await H.sleep(20);
          r.heartbeat.later = Atomics.load(ctl, 3);
          r.magicOk = words[0] === magic;
          r.verify = heap.verify();
          r.lists = [H.checkList(heap, Node, main.id, 2000, 0), H.checkList(heap, Node, fresh.id, 3000, 7000)];
        } catch (e) {
          r.error = H.describe(e);
        }
        r.magicOk = words[0] === magic;
        out.push(r);
      }
      return out;
    })()`, 20_000);
    const bad = rounds.filter((r) => r.error !== null || !r.magicOk || r.verify?.ok !== true || r.lists?.some((l) => l !== 'ok') !== false);
    const zombie = rounds.filter((r) => r.heartbeat.later > r.heartbeat.beforeTerminate).length;
    expect(
      bad,
      `${bad.length} of ${rounds.length} rounds left a broken heap after terminate() + collect() ` +
        `(in ${zombie} rounds the terminated worker went on allocating after terminate() had returned and declared it dead): ` +
        `${JSON.stringify(bad.slice(0, 3))}${pageConsole()}`,
    ).toEqual([]);
  }, 30_000);
});
