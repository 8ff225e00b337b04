// Finds and launches the Chromium that browser tests drive with playwright-core, on a machine
// that has only Node and npm. In order of preference:
//   1. CHROMIUM_PATH, when set (an error if it names no file: a typo must not fall through);
//   2. a system Chromium at /usr/bin/chromium (Debian's `chromium`), when present;
//   3. the Chromium shipped inside the npm package @sparticuz/chromium (a devDependency),
//      unpacked once per package version under the temp directory.
//
// The package's own `chromium.args` turn site isolation off, which leaves a page without
// cross-origin isolation and so without SharedArrayBuffer: launches use plain flags instead.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';

export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** Flags for every launch. The network here is closed, so nothing may try to reach it. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync',
];

export type ChromiumSource = 'CHROMIUM_PATH' | 'system' | '@sparticuz/chromium';

export interface FoundChromium {
  executablePath: string;
  source: ChromiumSource;
}

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Where the browser comes from, by the order above. */
export async function findChromium(env: NodeJS.ProcessEnv = process.env): Promise<FoundChromium> {
  const fromEnv = env.CHROMIUM_PATH;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} names no file; unset it to use ${SYSTEM_CHROMIUM} or @sparticuz/chromium`);
    return { executablePath: fromEnv, source: 'CHROMIUM_PATH' };
  }
  if (existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM, source: 'system' };
  return { executablePath: await unpackPackagedChromium(), source: '@sparticuz/chromium' };
}

/**
 * Unpacks @sparticuz/chromium into `<under>/bibop-gc-chromium-<version>/` and returns its
 * binary. The package itself unpacks to `<tmp>/chromium` and trusts any file found there,
 * even half-written by a concurrent run or left by another version; so the unpacking runs
 * in a child process whose TMPDIR is a fresh staging folder, which is then renamed into
 * place in one step. Of two runs racing, the first rename wins and the other run uses it.
 */
export async function unpackPackagedChromium(under: string = tmpdir()): Promise<string> {
  const require = createRequire(join(root, 'package.json'));
  let entry: string;
  try {
    entry = require.resolve('@sparticuz/chromium');
  } catch {
    throw new Error(`no Chromium: CHROMIUM_PATH is unset, ${SYSTEM_CHROMIUM} does not exist, and @sparticuz/chromium is not installed (run npm ci)`);
  }
  const { version } = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
  const target = join(under, `bibop-gc-chromium-${version}`);
  const binary = join(target, 'chromium');
  if (existsSync(binary)) return binary;

  const staging = mkdtempSync(join(under, `bibop-gc-chromium-${version}-unpacking-`));
  try {
    const script = `import(${JSON.stringify(entry)}).then(async (m) => { process.stdout.write(await m.default.executablePath()); })`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      cwd: root, env: { ...process.env, TMPDIR: staging }, timeout: 120_000,
    });
    if (stdout !== join(staging, 'chromium')) throw new Error(`@sparticuz/chromium unpacked to ${stdout}, not into ${staging}`);
    try {
      renameSync(staging, target);
    } catch (err) {
      if (!existsSync(binary)) throw err; // not the lost race
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return binary;
}

/** Launches the Chromium that findChromium picks, with CHROMIUM_ARGS. */
export async function launchChromium(): Promise<{ browser: Browser; found: FoundChromium }> {
  const found = await findChromium();
  const browser = await chromium.launch({ executablePath: found.executablePath, headless: true, args: [...CHROMIUM_ARGS], timeout: 30_000 });
  return { browser, found };
}
