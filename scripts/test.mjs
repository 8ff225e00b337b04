// Runs vitest with a JSON report, then prints CI's closing line as the very
// last line: `N passed, N failed` (`, N skipped` when any were skipped).
// Extra CLI args are forwarded to vitest: `npm test -- test/foo.test.ts`.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const reportPath = join(root, '.vitest-report.json');
rmSync(reportPath, { force: true });

const vitest = join(root, 'node_modules/.bin/vitest');
const args = ['run', '--reporter=default', '--reporter=json', '--outputFile.json=.vitest-report.json', ...process.argv.slice(2)];
const r = spawnSync(vitest, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
const vitestCode = r.status ?? 1;

if (!existsSync(reportPath)) {
  console.error(`vitest wrote no report (exit ${r.status ?? r.signal})`);
  process.exit(vitestCode || 1);
}

const report = JSON.parse(readFileSync(reportPath, 'utf8'));
const passed = report.numPassedTests ?? 0;
// A file that failed outside any test (import error, failing beforeAll/afterAll)
// is not in numFailedTests; count each such file as one failure so the line
// never reads `0 failed` for a red run.
const fileFailures = (report.testResults ?? []).filter(
  (f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'),
).length;
const failed = (report.numFailedTests ?? 0) + fileFailures;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);

if (report.numTotalTests === 0) console.error('vitest ran no test');
console.log(`${passed} passed, ${failed} failed` + (skipped > 0 ? `, ${skipped} skipped` : ''));

process.exit(vitestCode || (report.numTotalTests > 0 && failed === 0 ? 0 : 1));
