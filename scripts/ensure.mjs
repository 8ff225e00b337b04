// Runs before `npm start` and `npm test`: installs dependencies if this is a
// fresh clone (no node_modules/.package-lock.json; npm ci's prepare script then
// builds), then builds dist/ unless it was built from the sources as they are.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

if (!existsSync(join(root, 'node_modules/.package-lock.json'))) {
  console.log('[ensure] node_modules missing: running npm ci');
  const r = spawnSync('npm', ['ci'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// Imported only now: build.mjs imports esbuild, which npm ci may just have installed.
const { build, isUpToDate } = await import('./build.mjs');
try {
  if (isUpToDate()) console.log('[ensure] dist/ is up to date');
  else await build();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
