// Bundles the library, workers, CLI and benchmarks into dist/ with esbuild,
// then emits declarations (dist/index.d.ts etc.) from src/ with tsc.
// Entry points that do not exist yet are skipped. Runs as `npm run build` and as the
// `prepare` script (npm ci, npm pack, npm publish, git dependencies).
//
// dist/.inputs.sha256 records a hash of everything the build reads, so that `npm test`
// and `npm start` (scripts/ensure.mjs) rebuild only when something changed.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, chmodSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, basename, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const at = (...p) => join(root, ...p);

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  logLevel: 'warning',
};

/** `dir/*.ts` as an esbuild entry map { 'outPrefix/name': path }. */
function entriesIn(dir, outPrefix) {
  if (!existsSync(at(dir))) return {};
  return Object.fromEntries(
    readdirSync(at(dir))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .map((f) => [`${outPrefix}/${basename(f, '.ts')}`, at(dir, f)]),
  );
}

const INPUTS = ['src', 'workers', 'bench', 'scripts/build.mjs', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];
const STAMP = 'dist/.inputs.sha256';

/** A hash of the paths and contents of every file the build reads. */
export function inputsHash() {
  const hash = createHash('sha256');
  const add = (rel) => {
    if (!existsSync(at(rel))) return;
    if (statSync(at(rel)).isDirectory()) {
      for (const name of readdirSync(at(rel)).sort()) add(join(rel, name));
    } else {
      hash.update(`${rel}\0`).update(readFileSync(at(rel))).update('\0');
    }
  };
  for (const rel of INPUTS) add(rel);
  return hash.digest('hex');
}

/** Whether dist/ was built from the inputs as they are now. */
export function isUpToDate() {
  return existsSync(at(STAMP)) && existsSync(at('dist/index.js')) && readFileSync(at(STAMP), 'utf8') === inputsHash();
}

export async function build() {
  const hash = inputsHash();
  rmSync(at('dist'), { recursive: true, force: true });

  const entryPoints = {
    ...(existsSync(at('src/index.ts')) ? { index: at('src/index.ts') } : {}),
    ...entriesIn('workers', 'workers'),
    ...entriesIn('bench', 'bench'),
  };
  if (Object.keys(entryPoints).length > 0) {
    await esbuild.build({ ...common, entryPoints, outdir: at('dist') });
  }

  // The browser entry: the same heap without node: imports, for module Web Workers.
  if (existsSync(at('src/browser.ts'))) {
    await esbuild.build({ ...common, platform: 'browser', target: 'es2022', entryPoints: [at('src/browser.ts')], outfile: at('dist/browser.js') });
  }

  const cli = at('src/cli/main.ts');
  if (existsSync(cli)) {
    const outfile = at('dist/cli/main.js');
    await esbuild.build({ ...common, entryPoints: [cli], outfile, banner: { js: '#!/usr/bin/env node' } });
    chmodSync(outfile, 0o755);
  }

  if (existsSync(at('src/index.ts'))) {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', at('tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${r.status ?? r.signal})`);
  }
  writeFileSync(at(STAMP), hash);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  build().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
