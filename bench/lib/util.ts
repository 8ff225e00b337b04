// Small helpers shared by the benchmark entry points: statistics, formatting, a forced
// V8 collection between runs, and a description of the machine.

import { cpus, totalmem } from 'node:os';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >>> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The p-th percentile (0–100) by nearest rank; NaN for no samples. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Count, total and percentiles of a list of pauses (or any durations), ms. */
export interface PauseSummary {
  count: number;
  totalMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** For no pauses: count 0 and every time 0. */
export function summarizePauses(xs: readonly number[]): PauseSummary {
  if (xs.length === 0) return { count: 0, totalMs: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
  return {
    count: xs.length,
    totalMs: xs.reduce((s, x) => s + x, 0),
    p50Ms: percentile(xs, 50),
    p99Ms: percentile(xs, 99),
    maxMs: xs.reduce((m, x) => Math.max(m, x), 0),
  };
}

/** Parses a command-line JSON object (`--heap-opts '{"youngBytes":0}'`); `what` names the flag in errors. */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`${what}: not JSON (${(err as Error).message}): ${text}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${what}: expected a JSON object, got ${text}`);
  return v as Record<string, unknown>;
}

export function fmtMs(ms: number): string {
  if (Number.isNaN(ms)) return '—';
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

export function fmtRatio(r: number): string {
  return `${r.toFixed(3)}x`;
}

export function fmtNum(n: number, digits = 1): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** A Markdown table, columns padded so it also reads well on a terminal. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

let forcedGc: (() => void) | null | undefined;

/**
 * Runs a full V8 collection when one can be had (`--expose-gc`, or the flag set at run
 * time), so one run's garbage (V8 objects, or a dropped heap's 256 MiB SharedArrayBuffer)
 * is not billed to the next run. Returns false when no collection could be forced.
 */
export function fullV8Gc(): boolean {
  if (forcedGc === undefined) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (typeof g === 'function') {
      forcedGc = g;
    } else {
      try {
        setFlagsFromString('--expose-gc');
        const fn: unknown = runInNewContext('gc');
        forcedGc = typeof fn === 'function' ? (fn as () => void) : null;
      } catch {
        forcedGc = null;
      }
    }
  }
  if (forcedGc === null) return false;
  forcedGc();
  return true;
}

export interface MachineInfo {
  node: string;
  v8: string;
  platform: string;
  arch: string;
  cpus: number;
  cpuModel: string;
  totalMemGiB: number;
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    cpus: c.length,
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    totalMemGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
}

/** Parses `--name value` / `--flag` arguments. */
export function parseArgs(argv: readonly string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}'`);
    const eq = a.indexOf('=');
    if (eq > 0) {
      out.set(a.slice(2, eq), a.slice(eq + 1));
    } else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) {
      out.set(a.slice(2), argv[++i]!);
    } else {
      out.set(a.slice(2), true);
    }
  }
  return out;
}

export interface V8GcCounts {
  minor: number;
  major: number;
  /** Sum of the GC entries' durations (main-thread pause time), ms. */
  ms: number;
}

/**
 * Counts V8's own collections (perf_hooks 'gc' entries) so that each V8 run can say which
 * regime V8 ran in: on binary-trees V8 either allocates the nodes young (hundreds of
 * scavenges, a few mark-compacts) or pretenures the allocation site into old space (a
 * dozen scavenges, ~85 mark-compacts at depth 18, about twice the time).
 * Entries arrive through the event loop: call `settle()` before reading `counts`.
 */
export class V8GcCounter {
  readonly counts: V8GcCounts = { minor: 0, major: 0, ms: 0 };
  private readonly observer: PerformanceObserver;

  constructor() {
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = (e as PerformanceEntry & { detail?: { kind?: number } | null }).detail?.kind;
        if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) this.counts.minor++;
        else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) this.counts.major++;
        this.counts.ms += e.duration;
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  snapshot(): V8GcCounts {
    return { ...this.counts };
  }

  /** Lets pending 'gc' entries be delivered. */
  async settle(): Promise<void> {
    await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  }

  since(before: V8GcCounts): V8GcCounts {
    return { minor: this.counts.minor - before.minor, major: this.counts.major - before.major, ms: this.counts.ms - before.ms };
  }

  disconnect(): void {
    this.observer.disconnect();
  }
}

/** Pause durations (ms) by kind. V8's 'other' holds incremental-marking and weak-callback entries. */
export interface PausesByKind {
  minor: number[];
  major: number[];
  other: number[];
}

/**
 * Records the duration of every V8 collection (perf_hooks 'gc' entries) by kind: minor
 * (scavenge) or major (mark-compact). Entries are delivered through the event loop, so
 * `stop()` lets them arrive before it returns the lists.
 */
export function recordV8Pauses(): { stop(): Promise<PausesByKind> } {
  const pauses: PausesByKind = { minor: [], major: [], other: [] };
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } | null }).detail?.kind;
      const into = kind === perfConstants.NODE_PERFORMANCE_GC_MINOR ? pauses.minor
        : kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR ? pauses.major : pauses.other;
      into.push(e.duration);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    async stop(): Promise<PausesByKind> {
      await new Promise((r) => setTimeout(r, 5));
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      observer.disconnect();
      return pauses;
    },
  };
}
