// The built `bibop` command as a new user meets it: every usage error is one line on stderr
// and exit code 2, with nothing on stdout and no stack trace.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'dist/cli/main.js');

/** Newest modification time of the sources the CLI bundle is built from. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(join(root, p)).mtimeMs);
  }
  return newest;
}

beforeAll(() => {
  // `npm test` builds first; a file run on its own builds here if dist/ is missing or stale.
  if (existsSync(cli) && statSync(cli).mtimeMs >= Math.max(newestSource('src'), newestSource('workers'))) return;
  const r = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
}, 120_000);

function bibop(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('usage errors: one line, exit code 2', () => {
  test.each([
    [['stress', '--workers', '-3'], "bibop stress: --workers must be an integer from 1 to 60, got '-3'"],
    [['stress', '--workers=-3'], "bibop stress: --workers must be an integer from 1 to 60, got '-3'"],
    [['stress', '--heap', 'abc'], "bibop stress: --heap must be an integer from 2 to 4095 MiB, got 'abc'"],
    [['stress', '--workers', '2.5'], "bibop stress: --workers must be an integer from 1 to 60, got '2.5'"],
    [['stress', '--seed', '0x10'], "bibop stress: --seed must be an integer from 0 to 2147483647, got '0x10'"],
    [['stress', '--churn', '1.5'], "bibop stress: --churn must be a number from 0 to 1, got '1.5'"],
    [['stress', '--heap', '64', '--max-heap', '8'], 'bibop stress: --max-heap (8 MiB) must be at least --heap (64 MiB)'],
    [['stress', '--heap', '3', '--max-heap', '4095'], /^bibop stress: --heap 3 MiB is too small for a 4095 MiB maximum: .*; use --heap \d+ or more$/],
    [['stress', '--faults', '--max-heap', '128'], /^bibop stress: --faults runs a fixed-size arena: --max-heap must equal --heap/],
    [['stress', '--faults', '--replace-every', '100'], /^bibop stress: --replace-every does not apply with --faults/],
    [['stress', '--wrkers', '3'], 'bibop stress: unknown option --wrkers (did you mean --workers?)'],
    [['stress', '--max-hep=9'], 'bibop stress: unknown option --max-hep (did you mean --max-heap?)'],
    [['stress', '--frobnicate'], "bibop stress: unknown option --frobnicate; 'bibop stress --help' lists the options"],
    [['stress', '-w', '3'], "bibop stress: unknown option -w; 'bibop stress --help' lists the options"],
    [['stress', '--workers'], 'bibop stress: --workers needs a value: an integer from 1 to 60'],
    [['stress', '--workers', '--json'], 'bibop stress: --workers needs a value: an integer from 1 to 60 (found --json after it)'],
    [['stress', '--json=yes'], "bibop stress: --json takes no value, got '--json=yes'"],
    [['stress', '--workers', '3', '--workers', '4'], 'bibop stress: --workers is given twice'],
    [['stress', 'now'], "bibop stress: unexpected argument 'now'"],
    [['strss'], "bibop: unknown command 'strss' (did you mean 'stress'?)"],
    [['frobnicate'], "bibop: unknown command 'frobnicate'; commands: stress, map, diff, export, serve, help"],
    [['help', 'strss'], "bibop: unknown command 'strss' (did you mean 'stress'?)"],
    [[], /^bibop: missing command; commands: stress, map, diff, export, serve, help/],
  ] as const)('bibop %j', (args, expected) => {
    const r = bibop(...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines.at(-1)).toBe(''); // ends with a newline
    expect(lines).toHaveLength(2); // one line, and nothing after it
    if (typeof expected === 'string') expect(lines[0]).toBe(expected);
    else expect(lines[0]).toMatch(expected);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('help and value forms', () => {
  test('help lists the commands; stress --help lists its options; both exit 0', () => {
    const all = bibop('help');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/bibop stress \[options\]/);
    const stress = bibop('stress', '--help');
    expect(stress.code).toBe(0);
    expect(stress.stdout).toMatch(/--workers N +mutator workers/);
    expect(stress.stdout).toMatch(/--faults /);
    expect(bibop('help', 'stress').stdout).toBe(stress.stdout);
  });

  test('--name=value and --name value set the same options', () => {
    const r = bibop('stress', '--workers=1', '--heap', '16', '--duration=0.5', '--replace-every', '0', '--seed=7', '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { options: { workers: number; heapBytes: number; maxHeapBytes: number; seed: number; durationMs: number } };
    expect(report.options).toMatchObject({ workers: 1, heapBytes: 16 << 20, maxHeapBytes: 512 << 20, seed: 7, durationMs: 500 });
  }, 60_000);
});
