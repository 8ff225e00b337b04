// The reports on a known heap: the terminal map, the diff, the Chrome export (read back by
// DevTools' own heap snapshot parser, from the npm package heap-snapshot-toolkit), and the
// `bibop map/diff/export` commands end to end (bundled fresh, run as a child process).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as esbuild from 'esbuild';
import { parse } from 'heap-snapshot-toolkit';
import { Heap } from '../../src/index.js';
import { PAGE_BYTES } from '../../src/heap/layout.js';
import { renderTerminalMap } from '../../src/inspect/term-map.js';
import { diffMaps, renderDiff } from '../../src/inspect/diff.js';
import { buildKnownHeap } from './fixture.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = join(root, '.test-build', 'inspect-cli');
const ANSI = /\x1b\[[0-9;]*m/g;

describe('terminal map', () => {
  const k = buildKnownHeap();
  const map = k.heap.heapMap();

  it('draws one cell per page in rows of 100, within 120 columns, in plain text', () => {
    const text = renderTerminalMap(map, { color: false });
    expect(text).not.toMatch(ANSI);
    const lines = text.split('\n');
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(120);
    const rows = lines.filter((l) => /^ {0,7}\d+ {2}\S/.test(l));
    expect(rows).toHaveLength(Math.ceil(map.pages.length / 100));
    const cell = (page: number): string => {
      const row = rows[Math.floor(page / 100)]!.slice(10).replace(/ /g, '');
      return row[page % 100]!;
    };
    expect(cell(0)).toBe('=');
    expect(cell(Math.floor(k.heap.handle(k.treeId).get() / PAGE_BYTES))).toMatch(/[1-9#]/);
    const big = Math.floor(k.heap.handle(k.bigId).get() / PAGE_BYTES);
    expect(cell(big) + cell(big + 1)).toBe('LL');
    expect(cell(map.pages.findIndex((p) => p.kind === 'free'))).toBe('.');
    expect(text).toContain(`pages: ${map.totals.pages.small} small, ${map.totals.pages.large} large, 0 orphan`);
    expect(text).toMatch(/^legend: = header {2}\. free/m);
    expect(text).toMatch(/^ {2}Node +struct +138 +3\.2 KiB/m);
    expect(text).toMatch(/^ {2}1 +24 +\d+ +\d+ +138 +3\.2 KiB/m); // class 1: the Nodes
  });

  it('colours cells on a terminal, still within 120 visible columns, and groups pages on request', () => {
    const text = renderTerminalMap(map, { color: true });
    expect(text).toMatch(/\x1b\[38;5;\d+m/);
    for (const l of text.split('\n')) expect(l.replace(ANSI, '').length).toBeLessThanOrEqual(120);
    const grouped = renderTerminalMap(map, { cellPages: 4 });
    expect(grouped).toContain('one cell = 4 pages');
    expect(grouped.split('\n').filter((l) => /^ {0,7}\d+ {2}\S/.test(l))).toHaveLength(Math.ceil(map.pages.length / 400));
  });
});

describe('diff', () => {
  it('says what grew and what shrank, per type and size class', () => {
    const k = buildKnownHeap();
    const a = Heap.fromSnapshot(k.heap.snapshot()).heapMap();
    k.heap.scope(() => {
      const more = k.heap.allocArray(k.Refs, 50);
      for (let i = 0; i < 50; i++) k.heap.setRefAt(more, i, k.heap.alloc(k.Node));
      k.heap.persist(more);
    });
    const b = Heap.fromSnapshot(k.heap.snapshot()).heapMap();
    const d = diffMaps(a, b);
    expect(d.types.find((t) => t.name === 'Node')).toEqual({ name: 'Node', countA: 138, countB: 188, bytesA: 138 * 24, bytesB: 188 * 24 });
    expect(d.types.find((t) => t.name === 'Refs')).toMatchObject({ countA: 2, countB: 3 });
    expect(d.types.map((t) => t.name)).toEqual(['Node', 'Refs']); // Bytes, Floats, File did not change
    expect(d.unchangedTypes).toBe(3);
    expect(d.classes.find((c) => c.blockBytes === 24)).toMatchObject({ objectsA: 138, objectsB: 188 });
    const text = renderDiff(d, ['a.snap', 'b.snap']);
    expect(text).toContain('bibop diff: a.snap → b.snap');
    expect(text).toMatch(/^ {2}Node +138 +188 +\+50 +3\.2 KiB +4\.4 KiB +\+1\.2 KiB +grew$/m);
    expect(text).toContain('(3 types unchanged)');
    expect(renderDiff(diffMaps(b, a))).toMatch(/^ {2}Node +188 +138 +-50 .* shrank$/m);
    expect(renderDiff(diffMaps(a, a))).toContain('no type changed');
  });
});

async function parseHeapSnapshot(text: string): Promise<any> {
  return parse(Readable.from([text]) as unknown as Parameters<typeof parse>[0]);
}

describe('Chrome export', () => {
  it('is read by DevTools\' own parser: classes, sizes, roots and edges as the heap has them', async () => {
    const k = buildKnownHeap();
    const view = Heap.fromSnapshot(k.heap.snapshot());
    const chunks: string[] = [];
    const r = view.exportChrome((c) => chunks.push(c));
    const st = view.stats();
    expect(r.objects).toBe(st.allocatedObjects);
    const s = await parseHeapSnapshot(chunks.join(''));
    expect(s.nodeCount).toBe(r.nodes);
    expect(s.totalSize).toBe(st.allocatedBytes);
    const agg = s.aggregatesWithFilter({}) as Record<string, { name: string; count: number; self: number }>;
    const byName = Object.fromEntries(Object.values(agg).map((a) => [a.name, a]));
    expect(byName.Node).toMatchObject({ count: 138, self: 138 * 24 });
    expect(byName.Refs!.count).toBe(2);
    expect(byName.File!.count).toBe(1);
    // The roots: root → (GC roots) → (Persistent handles) → one element edge per handle, by id.
    const gc = s.rootNode().edges().item().node();
    expect(gc.name()).toBe('(GC roots)');
    const groups: any[] = [];
    for (const it = gc.edges(); it.hasNext(); it.next()) groups.push(it.edge.node());
    const handles = groups.find((g) => g.name() === '(Persistent handles)');
    const ids: number[] = [];
    for (const it = handles.edges(); it.hasNext(); it.next()) ids.push(Number(it.edge.name()));
    expect(ids.sort()).toEqual([k.treeId, k.listId, k.bigId].sort());
    // Edges: the tree's root node has 'left' and 'right' to Nodes; DevTools' distances agree
    // with retainers(): root, (GC roots), the group, then one per step.
    const tree = view.handle(k.treeId).get();
    const deep = view.getRef(view.getRef(tree, k.Node.right), k.Node.left);
    const nodeById = (id: number): any => {
      for (const it = s.allNodes(); it.hasNext(); it.next()) if (it.node.id() === id) return s.createNode(it.node.nodeIndex);
      return null;
    };
    const treeNode = nodeById(tree + 1);
    expect(treeNode.name()).toBe('Node');
    const names: string[] = [];
    for (const it = treeNode.edges(); it.hasNext(); it.next()) names.push(`${it.edge.type()}:${it.edge.name()}:${it.edge.node().name()}`);
    expect(names).toEqual(['property:left:Node', 'property:right:Node']);
    const big = nodeById(view.handle(k.bigId).get() + 1);
    const bigEdges: string[] = [];
    for (const it = big.edges(); it.hasNext(); it.next()) bigEdges.push(`${it.edge.type()}:${it.edge.name()}`);
    expect(bigEdges).toEqual(['element:0', 'element:1', 'element:2999']);
    expect(s.nodeDistances[nodeById(deep + 1).ordinal()]).toBe(2 + view.retainers(deep)!.length);
  });
});

describe('bibop map, diff and export', () => {
  let cli = '';
  let a = '';
  let b = '';
  beforeAll(async () => {
    mkdirSync(out, { recursive: true });
    cli = join(out, 'main.js');
    await esbuild.build({ entryPoints: [join(root, 'src/cli/main.ts')], bundle: true, platform: 'node', target: 'node20', format: 'esm', outfile: cli, logLevel: 'warning' });
    const k = buildKnownHeap();
    a = join(out, 'a.snap');
    writeFileSync(a, k.heap.snapshot());
    k.heap.scope(() => k.heap.persist(k.heap.allocArray(k.Bytes, 5000)));
    b = join(out, 'b.snap');
    writeFileSync(b, k.heap.snapshot());
  }, 60_000);
  const run = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('map prints plain text to a pipe; --html writes one page', () => {
    const r = run('map', a);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^bibop heap map: \d+ pages/);
    expect(r.stdout).not.toMatch(ANSI);
    const html = join(out, 'a.html');
    const h = run('map', a, '--html', html);
    expect(h.status, h.stderr).toBe(0);
    expect(h.stdout).toMatch(/^wrote .*a\.html: \d+ pages, 143 objects/);
    expect(readFileSync(html, 'utf8')).toMatch(/^<!doctype html>[\s\S]*mapClient[\s\S]*<\/html>\n$/);
  });

  it('diff and export work on files', async () => {
    const d = run('diff', a, b);
    expect(d.status, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/^ {2}Bytes +1 +2 +\+1 .* grew$/m);
    const file = join(out, 'a.heapsnapshot');
    const e = run('export', a, file);
    expect(e.status, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/^wrote .*: 143 objects, \d+ nodes, \d+ edges/);
    expect((await parseHeapSnapshot(readFileSync(file, 'utf8'))).nodeCount).toBeGreaterThan(143);
  });

  it('usage errors are one line and exit code 2; a corrupt file one line and exit code 1', () => {
    for (const args of [['map'], ['map', '--bogus', a], ['diff', a], ['export', a], ['map', join(out, 'missing.snap')]]) {
      const r = run(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    const bad = join(out, 'bad.snap');
    const bytes = readFileSync(a);
    bytes[bytes.length - 10] ^= 0xff;
    writeFileSync(bad, bytes);
    const r = run('map', bad);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^bibop map: snapshot checksum mismatch: byte 32 holds 0x[0-9a-f]+, .* the file is corrupt$/);
  });
});
