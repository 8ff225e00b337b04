// The heap maps in a real Chromium (test/browser/chromium.ts finds one): the self-contained
// HTML map loads without a console error, draws every page, answers hover and filters; the
// live view (bibop serve's page) is cross-origin isolated, its workers run, and its map
// changes from one moment to the next.
//
// The browser bundle is built fresh into .test-build/ (dist/ may be stale). Every wait has
// a timeout; failures carry the page's console.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as esbuild from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../browser/chromium.js';
import { renderHtmlMap } from '../../src/inspect/html-map.js';
import { startLiveServer, type LiveServer } from '../../src/inspect/live-server.js';
import { PAGE_BYTES } from '../../src/heap/layout.js';
import { buildKnownHeap } from './fixture.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = join(root, '.test-build', 'inspect');
let browser: Browser | undefined;
let server: LiveServer | undefined;
const consoleLines: string[] = [];

function watch(page: Page): void {
  page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.stack ?? e.message}`));
  page.on('worker', (w) => w.on('console', (m) => consoleLines.push(`[worker ${m.type()}] ${m.text()}`)));
}

function errorsIn(lines: string[]): string[] {
  return lines.filter((l) => l.startsWith('[error]') || l.startsWith('[pageerror]') || l.startsWith('[worker error]'));
}

function pageConsole(): string {
  return `\n--- page console ---\n${consoleLines.slice(-60).join('\n') || '(empty)'}\n---`;
}

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  await esbuild.build({
    entryPoints: [join(root, 'src/browser.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    outfile: join(out, 'browser.js'), logLevel: 'warning',
  });
  ({ browser } = await launchChromium());
  server = await startLiveServer({ browserBundle: join(out, 'browser.js'), workers: 3 });
}, 120_000);

afterAll(async () => {
  await Promise.race([Promise.allSettled([browser?.close(), server?.close()]), new Promise((r) => setTimeout(r, 10_000))]);
}, 20_000);

describe('heap maps in Chromium', () => {
  test('the HTML map loads without errors, draws every page, answers hover and filters', async () => {
    const k = buildKnownHeap();
    const map = k.heap.heapMap();
    const file = join(out, 'map.html');
    writeFileSync(file, renderHtmlMap(map, 'test map', 'a known heap'));
    consoleLines.length = 0;
    const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
    watch(page);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href, { timeout: 15_000 });
    await page.waitForFunction('document.querySelector("#grid")?.dataset.pages !== undefined', undefined, { timeout: 10_000 });
    expect(errorsIn(consoleLines), pageConsole()).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]); // self-contained
    expect(await page.evaluate('document.querySelector("#grid").dataset.pages')).toBe(String(map.pages.length));

    // The cell of the tree's page is drawn in a small-page colour (green dominates), a free
    // page's cell is dark.
    const treePage = Math.floor(k.heap.handle(k.treeId).get() / PAGE_BYTES);
    const freePage = map.pages.findIndex((p) => p.kind === 'free');
    const pixel = (p: number): Promise<number[]> => page.evaluate(`Array.from(document.querySelector('#grid').getContext('2d').getImageData((${p} % 128) * 8 + 3, Math.floor(${p} / 128) * 8 + 3, 1, 1).data)`);
    const [r, g, b] = await pixel(treePage);
    expect(g!, `tree page pixel ${r},${g},${b}`).toBeGreaterThan(r! + 40);
    expect(g!).toBeGreaterThan(b! + 20);
    const free = await pixel(freePage);
    expect(Math.max(free[0]!, free[1]!, free[2]!)).toBeLessThan(60);

    // Hover the tree's page: the tooltip names it, its class, its owner and its types.
    const box = (await page.locator('#grid').boundingBox())!;
    await page.mouse.move(box.x + (treePage % 128) * 8 + 4, box.y + Math.floor(treePage / 128) * 8 + 4);
    const tip = await page.locator('#tip').textContent();
    expect(tip).toContain(`page ${treePage} (small)`);
    expect(tip).toMatch(/size class 1: 24 B blocks/);
    expect(tip).toMatch(/slots \d+, live \d+/);
    expect(tip).toContain('owner worker 0');
    expect(tip).toContain('generation young');
    expect(tip).toContain('Node');

    // Filters: kind, type, worker; the heat view.
    await page.selectOption('#filter-kind', 'large');
    expect(await page.evaluate('document.querySelector("#grid").dataset.shown')).toBe(String(map.totals.pages.large));
    await page.selectOption('#filter-kind', 'all');
    await page.selectOption('#filter-type', String(k.File.$id));
    expect(await page.evaluate('document.querySelector("#grid").dataset.shown')).toBe('1');
    await page.selectOption('#filter-type', 'all');
    await page.selectOption('#filter-worker', '0');
    expect(Number(await page.evaluate('document.querySelector("#grid").dataset.shown'))).toBe(map.pages.filter((p) => p.owner === 0).length);
    await page.selectOption('#filter-worker', 'all');
    await page.selectOption('#view', 'heat');
    const heat = await pixel(treePage);
    expect(heat).not.toEqual([r, g, b, 255]);
    // Charts and tables are there.
    expect(await page.locator('.chart svg rect').count()).toBe(map.classes.length + Math.min(20, map.types.length));
    expect(await page.locator('.table').first().textContent()).toContain('size classes');
    expect(errorsIn(consoleLines), pageConsole()).toEqual([]);
    await page.close();
  }, 60_000);

  test('the live view runs workers on one heap and its map changes between two moments', async () => {
    consoleLines.length = 0;
    const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
    watch(page);
    try {
      await page.goto(`${server!.url}/`, { timeout: 15_000 });
      expect(await page.evaluate('crossOriginIsolated'), pageConsole()).toBe(true);
      await page.waitForFunction('window.bibopLive && window.bibopLive.attached === 3 && window.bibopLive.frames >= 2', undefined, { timeout: 30_000 })
        .catch((e: unknown) => { throw new Error(`${String(e)}${pageConsole()}`); });
      const digest = `(() => { const d = window.bibopLive.data; return JSON.stringify([d.kind, d.occ, d.totals.objects]); })()`;
      const first = await page.evaluate<string>(digest);
      const firstPixels = await page.evaluate<string>('document.querySelector("#grid").toDataURL()');
      const firstFrames = await page.evaluate<number>('window.bibopLive.frames');
      const firstRounds = await page.evaluate<number[]>('window.bibopLive.rounds');
      // A later moment: more collections drawn, and a different map.
      await page.waitForFunction(`window.bibopLive.frames >= ${firstFrames + 3} && ${digest} !== ${JSON.stringify(first)}`, undefined, { timeout: 30_000 })
        .catch((e: unknown) => { throw new Error(`${String(e)}${pageConsole()}`); });
      const secondPixels = await page.evaluate<string>('document.querySelector("#grid").toDataURL()');
      expect(secondPixels).not.toBe(firstPixels);
      const rounds = await page.evaluate<number[]>('window.bibopLive.rounds');
      rounds.forEach((n, i) => expect(n, `worker ${i} rounds`).toBeGreaterThan(firstRounds[i]!));
      const live = await page.evaluate<{ errors: string[]; workerErrors: string[]; collections: number }>('window.bibopLive');
      expect(live.workerErrors, pageConsole()).toEqual([]);
      expect(live.errors, pageConsole()).toEqual([]);
      expect(live.collections).toBeGreaterThan(0);
      expect(errorsIn(consoleLines), pageConsole()).toEqual([]);
    } finally {
      await page.evaluate('window.bibopLive && window.bibopLive.stop && window.bibopLive.stop()').catch(() => {});
      await page.close();
    }
  }, 90_000);
});
