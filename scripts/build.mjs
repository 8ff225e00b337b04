// Bundles the library, workers, CLI and benchmarks into dist/ with esbuild,
// then emits declarations (dist/index.d.ts etc.) from src/ with tsc.
// Entry points that do not exist yet are skipped.
import { existsSync, readdirSync, rmSync, chmodSync } from 'node:fs';
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

export async function build() {
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
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  build().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
