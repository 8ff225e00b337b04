// Every ```ts and ```js example in README.md runs here, so the README cannot drift from the
// code. The first line of a block may name its file, and say what it is:
//   // main.ts                    a Node program (so is a block with no name)
//   // build-list.ts (worker)     a Node worker file, started by a program's heap.spawn
//   // page.js (browser page)     module code for a cross-origin-isolated page in Chromium
//   // worker.js (browser worker) a module Web Worker the page spawns
// A `// prints: TEXT` comment is a line the example must print, in that order.
//
// The files go to .test-build/readme/, inside this package, so `import 'bibop-gc'` resolves
// to the built dist/ through the package's own exports, as it does for a user. TypeScript
// examples are type-checked against dist/*.d.ts, then stripped to JavaScript with esbuild
// (the .js name a program spawns is the compiled worker file's). Node programs run with plain
// node; the browser examples are served with COOP/COEP headers to Chromium, with the import of
// 'bibop-gc/browser' pointed at /dist/browser.js (a bundler's job in an application).
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromium } from './browser/chromium.js';
import { startServer, type StaticServer } from './browser/server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, '.test-build', 'readme');

type Kind = 'program' | 'worker' | 'browser page' | 'browser worker';

interface Example {
  /** 1-based line of the opening fence in README.md. */
  line: number;
  lang: 'ts' | 'js';
  file: string;
  kind: Kind;
  code: string;
  prints: string[];
}

/** The ts/js blocks of a markdown text. */
function extractExamples(markdown: string): Example[] {
  const examples: Example[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|js)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`README.md:${start + 1}: unclosed code block`);
    const lang = open[1] as 'ts' | 'js';
    const head = /^\/\/ ([\w.-]+\.(?:ts|js))(?: \((worker|browser page|browser worker)\))?\s*$/.exec(body[0] ?? '');
    const file = head ? head[1]! : `example-${start + 1}.${lang}`;
    if (!file.endsWith(`.${lang}`)) throw new Error(`README.md:${start + 1}: a \`\`\`${lang} block named ${file}`);
    const prints = body.flatMap((l) => {
      const m = /\/\/ prints: (.*)$/.exec(l);
      return m ? [m[1]!] : [];
    });
    examples.push({ line: start + 1, lang, file, kind: (head?.[2] as Kind | undefined) ?? 'program', code: body.join('\n') + '\n', prints });
  }
  return examples;
}

/** The .js file a (compiled) example becomes. */
const jsName = (file: string): string => file.replace(/\.ts$/, '.js');

/** Runs a command; resolves with stdout and stderr whatever the exit code. */
function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr: stderr + (err && err.killed ? `\n(killed after ${timeoutMs} ms)` : '') });
    });
  });
}

/** Whether `expected` appears in `lines` in order (other lines may come between). */
function printsInOrder(lines: string[], expected: string[]): boolean {
  let at = 0;
  for (const line of lines) if (at < expected.length && line === expected[at]) at++;
  return at === expected.length;
}

const examples = extractExamples(readFileSync(join(root, 'README.md'), 'utf8'));
const programs = examples.filter((e) => e.kind === 'program');
const browserPages = examples.filter((e) => e.kind === 'browser page');

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/index.js')) || !existsSync(join(root, 'dist/browser.js'))) {
    const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`node scripts/build.mjs failed (exit ${r.status ?? r.signal})`);
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'ts'), { recursive: true });
  for (const e of examples) {
    const source = e.kind.startsWith('browser') ? e.code.replaceAll(`from 'bibop-gc/browser'`, `from '/dist/browser.js'`) : e.code;
    if (e.lang === 'ts') writeFileSync(join(out, 'ts', e.file), e.code);
    const js = e.lang === 'ts' ? (await esbuild.transform(source, { loader: 'ts', format: 'esm', target: 'node20' })).code : source;
    writeFileSync(join(out, jsName(e.file)), js);
  }
  writeFileSync(join(out, 'index.html'), `<!doctype html><meta charset="utf-8"><title>README examples</title>\n${browserPages.map((p) => `<script type="module" src="./${p.file}"></script>`).join('\n')}\n`);
}, 120_000);

describe('README.md examples', () => {
  test('the README has examples of every kind, with unique file names and something to check', () => {
    const kinds = new Set(examples.map((e) => e.kind));
    expect([...kinds].sort()).toEqual(['browser page', 'browser worker', 'program', 'worker']);
    const names = examples.map((e) => jsName(e.file));
    expect(names.filter((n, i) => names.indexOf(n) !== i), 'file names repeat').toEqual([]);
    expect(programs.filter((p) => p.prints.length === 0).map((p) => `README.md:${p.line}`), 'programs that print nothing to check').toEqual([]);
    // A worker file must be started by some example, or it is dead text.
    for (const w of examples.filter((e) => e.kind === 'worker' || e.kind === 'browser worker')) {
      expect(examples.some((e) => e !== w && e.code.includes(`'./${jsName(w.file)}'`)), `README.md:${w.line}: nothing spawns ${w.file}`).toBe(true);
    }
  });

  test('the TypeScript examples type-check against the built declarations', () => {
    const tsFiles = examples.filter((e) => e.lang === 'ts').map((e) => e.file);
    writeFileSync(join(out, 'ts', 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler',
        lib: ['ES2022'], types: ['node'], skipLibCheck: false, isolatedModules: true,
      },
      files: tsFiles,
    }));
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(out, 'ts', 'tsconfig.json')], { cwd: join(out, 'ts'), encoding: 'utf8', timeout: 120_000 });
    expect(`${r.stdout}${r.stderr}`, 'tsc output').toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  test.each(programs.map((p) => [`${p.file} (README.md:${p.line})`, p] as const))('%s runs and prints what it says', async (_, p) => {
    const r = await run(process.execPath, [jsName(p.file)], out, 60_000);
    const lines = r.stdout.split('\n');
    const ctx = `\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
    expect(r.code, `exit code${ctx}`).toBe(0);
    expect(r.stderr, `stderr${ctx}`).toBe('');
    expect(printsInOrder(lines, p.prints), `expected, in order:\n${p.prints.join('\n')}${ctx}`).toBe(true);
  }, 90_000);
});

describe('README.md browser examples', () => {
  let server: StaticServer | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    server = await startServer(root);
    browser = (await launchChromium()).browser;
  }, 120_000);

  afterAll(async () => {
    const closing = Promise.allSettled([browser?.close(), server?.close()]);
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  }, 20_000);

  test('the page and its worker run in Chromium and print what they say', async () => {
    const expected = browserPages.flatMap((p) => p.prints);
    expect(expected.length).toBeGreaterThan(0);
    const page = await browser!.newPage();
    const lines: string[] = [];
    const errors: string[] = [];
    let done: () => void = () => {};
    const printed = new Promise<void>((resolve) => { done = resolve; });
    page.on('console', (m) => {
      lines.push(m.text());
      if (printsInOrder(lines, expected)) done();
    });
    page.on('pageerror', (e) => errors.push(e.stack ?? e.message));
    page.on('worker', (w) => w.on('console', (m) => lines.push(`[worker] ${m.text()}`)));
    await page.goto(`${server!.url}/.test-build/readme/index.html`, { timeout: 15_000 });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const watchdog = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), 15_000); });
    const outcome = await Promise.race([printed.then(() => 'printed' as const), watchdog]);
    clearTimeout(timer);
    const ctx = `\n--- console\n${lines.join('\n')}\n--- errors\n${errors.join('\n')}`;
    expect(outcome, `expected, in order:\n${expected.join('\n')}${ctx}`).toBe('printed');
    expect(errors, ctx).toEqual([]);
    expect(await page.evaluate('crossOriginIsolated'), 'the page is cross-origin isolated').toBe(true);
    await page.close();
  }, 60_000);
});
