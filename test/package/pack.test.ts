// The package as a user installs it. A copy of the repository without dist/ (as a fresh clone
// has it) is packed with `npm pack`, whose `prepare` script must build dist/; the tarball is
// installed into an empty folder from the npm cache (comlink is the only runtime dependency);
// there plain node imports `bibop-gc` and `bibop-gc/browser` and round-trips a heap, and the
// project's typescript checks user files: one against `bibop-gc/browser` with `"types": []`
// (no @types/node), one against `bibop-gc` with @types/node. The shipped declarations are
// read with the compiler API: no private members, no `$` fields, no Node imports behind the
// browser entry.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'bibop-gc-pack-'));
const clone = join(work, 'clone');
const app = join(work, 'app');
const pkg = join(app, 'node_modules', 'bibop-gc');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const typesNodeVersion = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['@types/node']!;

let packedFiles: string[] = [];

/** Runs a command; resolves with its stdout, rejects with its output and exit code. */
function run(cmd: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${err.message}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The .gitignore entries at the repository root, as a test on a top-level name. */
function ignoredByGit(): (name: string) => boolean {
  const patterns = readFileSync(join(root, '.gitignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const tests = patterns.map((p) => (p.startsWith('*') ? (n: string) => n.endsWith(p.slice(1)) : (n: string) => n === p.replace(/\/$/, '')));
  return (name) => name === '.git' || tests.some((t) => t(name));
}

beforeAll(async () => {
  // A clean clone: the sources without dist/, node_modules shared with this checkout.
  const ignored = ignoredByGit();
  mkdirSync(clone);
  for (const name of readdirSync(root)) {
    if (!ignored(name)) cpSync(join(root, name), join(clone, name), { recursive: true });
  }
  symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'), 'dir');
  expect(existsSync(join(clone, 'dist')), 'the clone starts without dist/').toBe(false);
  mkdirSync(join(work, 'out'));
  const packed = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', join(work, 'out')], clone)) as { filename: string; files: { path: string }[] }[];
  packedFiles = packed[0]!.files.map((f) => f.path).sort();

  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'first-hour', version: '1.0.0', private: true, type: 'module' }, null, 2));
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, 'out', packed[0]!.filename)], app);
}, 240_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm pack of a fresh clone', () => {
  test('prepare builds dist/, and the tarball carries both entries, their types, the workers and the CLI', () => {
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/browser.js', 'dist/browser.d.ts', 'dist/api.d.ts', 'dist/workers/mutator.js', 'dist/cli/main.js', 'package.json', 'README.md']) {
      expect(packedFiles, f).toContain(f);
    }
    expect(packedFiles.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md'].includes(f)), 'nothing but dist/, package.json and README.md').toEqual([]);
    expect(packedFiles, 'the build stamp stays home').not.toContain('dist/.inputs.sha256');
  });

  test('it installs offline with comlink as its only dependency', () => {
    expect(existsSync(join(pkg, 'dist', 'index.js'))).toBe(true);
    const installed = readdirSync(join(app, 'node_modules')).filter((n) => !n.startsWith('.')).sort();
    expect(installed).toEqual(['bibop-gc', 'comlink']);
  });
});

describe('an installed bibop-gc', () => {
  test('plain node imports bibop-gc, round-trips a heap and hears back from a spawned worker', async () => {
    writeFileSync(join(app, 'worker.js'), `
import { workerData, parentPort } from 'node:worker_threads';
import { Heap } from 'bibop-gc';
const heap = Heap.attach(workerData.heap);
const Cell = heap.defineStruct('Cell', { value: 'i32' });
const handle = heap.scope(() => {
  const c = heap.alloc(Cell);
  heap.setI32(c, Cell.value, 7);
  return heap.persist(c);
});
parentPort.postMessage(handle.id);
`);
    writeFileSync(join(app, 'main.js'), `
import { Heap } from 'bibop-gc';
const heap = Heap.create({ size: 8 << 20 });
const Cell = heap.defineStruct('Cell', { value: 'i32' });
const here = heap.scope(() => {
  const c = heap.alloc(Cell);
  heap.setI32(c, Cell.value, 42);
  return heap.persist(c);
});
heap.collect();
const worker = heap.spawn(new URL('./worker.js', import.meta.url));
const id = await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
const fromWorker = heap.handle(id);
console.log(JSON.stringify({
  here: heap.scope(() => heap.getI32(here.get(), Cell.value)),
  fromWorker: heap.scope(() => heap.getI32(fromWorker.get(), Cell.value)),
  verify: heap.verify().ok,
}));
`);
    const out = await run(process.execPath, ['main.js'], app, 30_000);
    expect(JSON.parse(out)).toEqual({ here: 42, fromWorker: 7, verify: true });
  });

  test('plain node imports bibop-gc/browser and round-trips a heap', async () => {
    writeFileSync(join(app, 'browser-entry.js'), `
import { Heap, StaleRefError } from 'bibop-gc/browser';
const heap = Heap.create({ size: 8 << 20 });
const Pair = heap.defineStruct('Pair', { left: 'ref', n: 'i32' });
const value = heap.scope(() => {
  const a = heap.alloc(Pair);
  const b = heap.alloc(Pair);
  heap.setRef(a, Pair.left, b);
  heap.setI32(b, Pair.n, 5);
  return heap.getI32(heap.getRef(a, Pair.left), Pair.n);
});
console.log(JSON.stringify({ value, errors: typeof StaleRefError }));
`);
    const out = await run(process.execPath, ['browser-entry.js'], app, 30_000);
    expect(JSON.parse(out)).toEqual({ value: 5, errors: 'function' });
  });
});

describe('the shipped types', () => {
  const tsconfig = (types: string[], moduleResolution: 'bundler' | 'nodenext', files: string[]) => JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', types,
      module: moduleResolution === 'bundler' ? 'ESNext' : 'NodeNext', moduleResolution,
      lib: types.length === 0 ? ['ES2022', 'DOM'] : ['ES2022'],
    },
    files,
  });

  const browserUser = `
import { Heap, HeapError, type HeapType, type Persistent } from 'bibop-gc/browser';
const heap: Heap = Heap.create({ size: 8 << 20 });
const Node = heap.defineStruct('Node', { next: 'ref', value: 'i32' });
const type: HeapType = Node;
const kept: Persistent = heap.scope(() => {
  const n = heap.alloc(Node);
  heap.setI32(n, Node.value, 1);
  heap.setRef(n, Node.next, 0);
  return heap.persist(n);
});
const value: number = heap.scope(() => heap.getI32(kept.get(), Node.value));
const weak: number | null = heap.weak(kept.get()).get();
const worker: Worker = heap.spawn(new URL('./worker.js', import.meta.url));
worker.postMessage({ value, weak, type: type.describe() });
worker.terminate();
const e: HeapError | undefined = undefined;
// @ts-expect-error internals are not part of the public type
Node.$id;
// @ts-expect-error the arena views are internal
heap.u32;
// @ts-expect-error so is the pause driver
heap.pauses;
void e;
`;

  test('a browser user type-checks against bibop-gc/browser without @types/node (bundler and nodenext)', async () => {
    writeFileSync(join(app, 'browser-user.ts'), browserUser);
    for (const resolution of ['bundler', 'nodenext'] as const) {
      writeFileSync(join(app, `tsconfig.browser-${resolution}.json`), tsconfig([], resolution, ['browser-user.ts']));
      await run(process.execPath, [tsc, '-p', `tsconfig.browser-${resolution}.json`], app);
    }
  });

  test('a Node user gets spawn() typed as a node:worker_threads Worker', async () => {
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-save', `@types/node@${typesNodeVersion}`], app);
    writeFileSync(join(app, 'node-user.ts'), `
import type { Worker } from 'node:worker_threads';
import { Heap } from 'bibop-gc';
const heap = Heap.create();
const worker: Worker = heap.spawn(new URL('./worker.js', import.meta.url), { workerData: { n: 1 } });
worker.on('exit', (code: number) => console.log(code));
`);
    writeFileSync(join(app, 'tsconfig.node.json'), tsconfig(['node'], 'nodenext', ['node-user.ts']));
    await run(process.execPath, [tsc, '-p', 'tsconfig.node.json'], app);
  }, 120_000);

  test('the exported declarations show no private members and no $ fields', () => {
    const problems: string[] = [];
    for (const entry of ['index.d.ts', 'browser.d.ts']) {
      const file = join(pkg, 'dist', entry);
      const program = ts.createProgram([file], { strict: true, noEmit: true, types: entry === 'index.d.ts' ? ['node'] : [], typeRoots: [join(app, 'node_modules', '@types')] });
      const checker = program.getTypeChecker();
      const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
      for (const exported of checker.getExportsOfModule(moduleSymbol)) {
        const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
        const sides = [checker.getDeclaredTypeOfSymbol(symbol)];
        if (symbol.flags & ts.SymbolFlags.Class) sides.push(checker.getTypeOfSymbol(symbol)); // the static side
        for (const side of sides) {
          for (const member of checker.getPropertiesOfType(side)) {
            const hidden = (member.declarations ?? []).some((d) => ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected));
            if (hidden || member.name.startsWith('$')) problems.push(`${entry}: ${exported.name}.${member.name}`);
          }
        }
      }
      problems.push(...program.getGlobalDiagnostics().map((d) => `${entry}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`));
    }
    expect(problems).toEqual([]);
  });

  test('no declaration file behind bibop-gc/browser imports a node: module', () => {
    const seen = new Map<string, string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      const text = readFileSync(file, 'utf8');
      seen.set(file, text);
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) visit(join(dirname(file), m[1]!.replace(/\.js$/, '.d.ts')));
    };
    visit(join(pkg, 'dist', 'browser.d.ts'));
    expect(seen.size, 'the walk found the declarations behind the entry').toBeGreaterThan(5);
    const nodeImports = [...seen].flatMap(([file, text]) => text.split('\n').filter((l) => /['"]node:/.test(l)).map((l) => `${relative(pkg, file)}: ${l.trim()}`));
    expect(nodeImports).toEqual([]);
  });
});
