// Whole-process runs: each run of each workload in a fresh Node process, V8 and bibop-gc
// alternating, medians of N. Unlike the in-process runner (run.ts), every V8 run makes its
// own pretenuring decision as a real program would, and no run inherits another's heap.
//
//   node dist/bench/whole-process.js [--runs 5] [--depth 18] [--workload bt|gcbench]

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string' }, depth: { type: 'string' }, workload: { type: 'string' } } });
const runs = Number(values.runs ?? 5);
const depth = values.depth ?? '18';
const workload = values.workload ?? 'bt';
const script = fileURLToPath(new URL('./one-run.js', import.meta.url));

function once(impl: 'v8' | 'bibop'): { ms: number; checksum: number } {
  const r = spawnSync(process.execPath, [script, workload, impl, depth], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${impl} run failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { ms: number; checksum: number };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const v8: number[] = [];
const bibop: number[] = [];
const label = workload === 'bt' ? `binary-trees depth ${depth}` : 'GCBench';
console.log(`${label}, ${runs} whole-process runs each, alternating`);
for (let i = 0; i < runs; i++) {
  const a = once('v8');
  const b = once('bibop');
  if (a.checksum !== b.checksum) throw new Error(`checksums differ: V8 ${a.checksum}, bibop ${b.checksum}`);
  v8.push(a.ms);
  bibop.push(b.ms);
  console.log(`  run ${i + 1}: V8 ${a.ms.toFixed(0)} ms, bibop ${b.ms.toFixed(0)} ms`);
}
console.log(`\n| ${label} | V8 median | bibop median | ratio |`);
console.log('| --- | ---: | ---: | ---: |');
console.log(`| whole process, ${runs} runs | ${median(v8).toFixed(0)} ms | ${median(bibop).toFixed(0)} ms | ${(median(bibop) / median(v8)).toFixed(2)}x |`);
