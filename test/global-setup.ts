// Node 20 cannot start a worker from a .ts file, so bundle every worker entry
// to ESM under the git-ignored .test-build/ before any test runs:
//   workers/<name>.ts      -> .test-build/workers/<name>.mjs
//   test/workers/<name>.ts -> .test-build/test-workers/<name>.mjs
// Tests spawn them with new URL('../.test-build/test-workers/<name>.mjs', import.meta.url).
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

function entriesIn(dir: string): string[] {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(abs, f));
}

async function bundle(dir: string, outName: string): Promise<void> {
  const outdir = join(root, '.test-build', outName);
  rmSync(outdir, { recursive: true, force: true });
  const entryPoints = entriesIn(dir);
  if (entryPoints.length === 0) return;
  await esbuild.build({
    entryPoints: Object.fromEntries(entryPoints.map((p) => [basename(p, '.ts'), p])),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: 'inline',
    logLevel: 'warning',
  });
}

export default async function setup(): Promise<void> {
  await bundle('workers', 'workers');
  await bundle('test/workers', 'test-workers');
}
