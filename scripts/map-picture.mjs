// Makes docs/heap-map.png, the picture in README.md: a short `bibop stress` run writes its
// final heap map (--map), and Chromium renders that page to a PNG.
//   npm run build && node scripts/map-picture.mjs
// Chromium: CHROMIUM_PATH, else /usr/bin/chromium, else @sparticuz/chromium (as in
// test/browser/chromium.ts, with the same plain flags).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const html = join(mkdtempSync(join(tmpdir(), 'bibop-map-')), 'map.html');
const r = spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), 'stress', '--duration', '4', '--workers', '3', '--heap', '16',
  '--max-heap', '64', '--replace-every', '1000', '--map', html], { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status !== 0) throw new Error(`bibop stress exited with ${r.status}`);

async function executablePath() {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  return (await import('@sparticuz/chromium')).default.executablePath();
}
const browser = await chromium.launch({
  executablePath: await executablePath(), headless: true,
  args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1100, height: 760 }, deviceScaleFactor: 1 });
await page.goto(pathToFileURL(html).href);
await page.waitForSelector('#grid');
// Hover a small page so the picture shows the details a reader gets.
const cell = await page.evaluate(() => window.bibopMap.data.kind.findIndex((k, i) => k === 1 && window.bibopMap.data.live[i] > 0));
const box = await page.locator('#grid').boundingBox();
await page.mouse.move(box.x + (cell % 128) * 8 + 4, box.y + Math.floor(cell / 128) * 8 + 4);
await page.screenshot({ path: join(root, 'docs/heap-map.png'), clip: { x: 0, y: 0, width: 1100, height: 760 } });
await browser.close();
console.log('wrote docs/heap-map.png');
