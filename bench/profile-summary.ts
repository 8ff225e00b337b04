// Self time by function from V8 CPU profiles (.cpuprofile files, as `node --cpu-prof` writes),
// and optionally by group, for tables such as "page claims and zeroing / building trees /
// checking trees / sweep / mark / V8's own GC".
//
//   node --cpu-prof --cpu-prof-dir=.bench-out/prof dist/bench/one-run.js --workload bt --impl bibop --depth 18
//   node dist/bench/profile-summary.js .bench-out/prof [--top 25] [--groups bench/profile-groups.json]
//
// Arguments are .cpuprofile files or directories (every .cpuprofile in them: a run with
// workers writes one per thread; their samples are added up). A sample's time is the gap to
// the next sample (the last one runs to the profile's end), as Chrome DevTools counts it.
// Functions are keyed by name, file and line; a location in a bundle (dist/…/*.js) is mapped
// back to its source file and line through the bundle's .map file. The bundler renames
// functions whose names collide (itemCheck becomes itemCheck2), so group patterns allow a
// numeric suffix. V8's pseudo-functions keep their names:
// "(garbage collector)" is V8's own GC, "(program)" native code outside any JS function,
// "(idle)" a thread waiting.
//
// The groups file maps a group's label to a list of regular expressions, tried in file order
// against each function's "name where" (e.g. "drain src/gc/mark.ts:49"); the first group
// that matches takes the function's self time, and the rest is "other".
// bench/profile-groups.json is the one for this project's workloads.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { markdownTable, parseJsonObject } from './lib/util.js';

interface CallFrame {
  functionName: string;
  url: string;
  /** 0-based, as are columns. */
  lineNumber: number;
  columnNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface FunctionTime {
  name: string;
  where: string;
  selfMs: number;
}

function profileFiles(paths: readonly string[]): string[] {
  return paths.flatMap((p) => statSync(p).isDirectory()
    ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).sort().map((f) => join(p, f))
    : [p]);
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** A source map's segments per generated line: [generated column, source index, source line]. */
type Segments = [number, number, number][][];

/** Decodes the "mappings" field of a version 3 source map (base64 VLQ, fields relative). */
function decodeMappings(mappings: string): Segments {
  const lines: Segments = [];
  let source = 0;
  let sourceLine = 0;
  for (const line of mappings.split(';')) {
    const segments: [number, number, number][] = [];
    let column = 0;
    for (const seg of line.split(',')) {
      if (seg === '') continue;
      const fields: number[] = [];
      let value = 0;
      let shift = 0;
      for (const ch of seg) {
        const digit = BASE64.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
        } else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      column += fields[0]!;
      if (fields.length >= 4) {
        source += fields[1]!;
        sourceLine += fields[2]!;
        segments.push([column, source, sourceLine]);
      }
    }
    lines.push(segments);
  }
  return lines;
}

const sourceMaps = new Map<string, { sources: string[]; lines: Segments } | null>();

/** "file.ts:line" for a frame: through the bundle's source map when there is one. */
function location(f: CallFrame): string {
  if (!f.url) return '';
  if (!sourceMaps.has(f.url)) {
    let map = null;
    try {
      const m = JSON.parse(readFileSync(`${fileURLToPath(f.url)}.map`, 'utf8')) as { sources: string[]; mappings: string };
      map = { sources: m.sources, lines: decodeMappings(m.mappings) };
    } catch {
      // not a file URL, or no map beside it: keep the generated location
    }
    sourceMaps.set(f.url, map);
  }
  const map = sourceMaps.get(f.url);
  const seg = map?.lines[f.lineNumber]?.filter((s) => s[0] <= f.columnNumber).at(-1);
  if (map && seg) return `${map.sources[seg[1]]!.replace(/^(\.\.\/)+/, '')}:${seg[2] + 1}`;
  return `${f.url.startsWith('file:') ? basename(f.url) : f.url}:${f.lineNumber + 1}`;
}

/** Adds each function's self time (µs) in one profile to `into`, keyed by name and location. */
function addSelfTimes(profile: CpuProfile, into: Map<string, FunctionTime>): number {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  let t = profile.startTime;
  const stamps = profile.timeDeltas.map((d) => (t += d));
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = (i + 1 < stamps.length ? stamps[i + 1]! : profile.endTime) - stamps[i]!;
    if (us <= 0) continue;
    const f = frames.get(profile.samples[i]!)!;
    const name = f.functionName || '(anonymous)';
    const where = location(f);
    const key = `${name}\0${where}`;
    let e = into.get(key);
    if (e === undefined) into.set(key, (e = { name, where, selfMs: 0 }));
    e.selfMs += us / 1000;
    totalUs += us;
  }
  return totalUs / 1000;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, groups: { type: 'string' } },
  });
  if (positionals.length === 0) {
    process.stderr.write('usage: profile-summary PROFILE.cpuprofile|DIR... [--top 25] [--groups FILE.json]\n');
    process.exit(2);
  }
  const files = profileFiles(positionals);
  if (files.length === 0) throw new Error(`no .cpuprofile files in ${positionals.join(', ')}`);
  const byFunction = new Map<string, FunctionTime>();
  let totalMs = 0;
  for (const f of files) totalMs += addSelfTimes(JSON.parse(readFileSync(f, 'utf8')) as CpuProfile, byFunction);
  const pct = (ms: number): string => `${((100 * ms) / totalMs).toFixed(1)}%`;
  const functions = [...byFunction.values()].sort((a, b) => b.selfMs - a.selfMs);

  console.log(`${files.length} profile${files.length > 1 ? 's' : ''}: ${files.map((f) => basename(f)).join(', ')}; ${totalMs.toFixed(0)} ms sampled\n`);
  console.log(markdownTable(['function', 'where', 'self ms', 'self %'],
    functions.slice(0, Number(values.top)).map((f) => [f.name, f.where, f.selfMs.toFixed(1), pct(f.selfMs)])));

  if (values.groups !== undefined) {
    const spec = parseJsonObject(readFileSync(values.groups, 'utf8'), values.groups);
    const groups = Object.entries(spec).map(([label, patterns]) => {
      if (!Array.isArray(patterns) || !patterns.every((p) => typeof p === 'string')) {
        throw new Error(`${values.groups}: group '${label}' must be a list of regular expressions`);
      }
      return { label, res: patterns.map((p: string) => new RegExp(p)), ms: 0, functions: 0 };
    });
    const other = { label: 'other', res: [], ms: 0, functions: 0 };
    for (const f of functions) {
      const key = `${f.name} ${f.where}`;
      const g = groups.find((x) => x.res.some((re) => re.test(key))) ?? other;
      g.ms += f.selfMs;
      g.functions++;
    }
    console.log('');
    console.log(markdownTable(['group', 'functions', 'self ms', 'self %'],
      [...groups, other].map((g) => [g.label, String(g.functions), g.ms.toFixed(1), pct(g.ms)])));
  }
}

main();
