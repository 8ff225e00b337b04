// Finds a Chromium for the browser tests without the system package manager: CHROMIUM_PATH,
// else Debian's /usr/bin/chromium, else the binary inside the npm package @sparticuz/chromium
// (unpacked under the temp directory on first use). Launched with plain flags, never that
// package's own `chromium.args`: those turn site isolation off, and a page must be
// cross-origin isolated to have SharedArrayBuffer.
import { existsSync } from 'node:fs';

export const CHROMIUM_FLAGS = [
  '--no-sandbox', '--headless=new', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync',
];

export interface FoundChromium {
  executablePath: string;
  /** Where it came from: 'CHROMIUM_PATH', 'system' or '@sparticuz/chromium'. */
  source: string;
  args: string[];
}

export async function findChromium(): Promise<FoundChromium> {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH names ${fromEnv}, which does not exist`);
    return { executablePath: fromEnv, source: 'CHROMIUM_PATH', args: CHROMIUM_FLAGS };
  }
  if (existsSync('/usr/bin/chromium')) return { executablePath: '/usr/bin/chromium', source: 'system', args: CHROMIUM_FLAGS };
  const mod = (await import('@sparticuz/chromium')) as { default: { executablePath(): Promise<string> } };
  return { executablePath: await mod.default.executablePath(), source: '@sparticuz/chromium', args: CHROMIUM_FLAGS };
}
