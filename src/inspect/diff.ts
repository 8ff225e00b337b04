// What grew and what shrank between two heap maps (two snapshots, or two moments of one
// heap): per type (matched by name, since ids differ between heaps) and per size class.

import type { HeapMap } from './pages.js';
import { fmtBytes, fmtSigned, table } from './text.js';

export interface TypeDelta {
  name: string;
  countA: number;
  countB: number;
  bytesA: number;
  bytesB: number;
}

export interface ClassDelta {
  sizeClass: number;
  blockBytes: number;
  pagesA: number;
  pagesB: number;
  objectsA: number;
  objectsB: number;
  liveBytesA: number;
  liveBytesB: number;
}

export interface HeapDiff {
  /** Types whose count or bytes changed, largest change in bytes first. */
  types: TypeDelta[];
  /** Size classes whose pages, objects or bytes changed, by class. */
  classes: ClassDelta[];
  totals: { objectsA: number; objectsB: number; bytesA: number; bytesB: number; pagesA: number; pagesB: number };
  /** Types and classes that did not change. */
  unchangedTypes: number;
  unchangedClasses: number;
}

export function diffMaps(a: HeapMap, b: HeapMap): HeapDiff {
  const names = new Set([...a.types.map((t) => t.name), ...b.types.map((t) => t.name)]);
  const ta = new Map(a.types.map((t) => [t.name, t]));
  const tb = new Map(b.types.map((t) => [t.name, t]));
  const types: TypeDelta[] = [];
  let unchangedTypes = 0;
  for (const name of names) {
    const x = ta.get(name);
    const y = tb.get(name);
    const d = { name, countA: x?.count ?? 0, countB: y?.count ?? 0, bytesA: x?.bytes ?? 0, bytesB: y?.bytes ?? 0 };
    if (d.countA === d.countB && d.bytesA === d.bytesB) unchangedTypes++;
    else types.push(d);
  }
  types.sort((p, q) => Math.abs(q.bytesB - q.bytesA) - Math.abs(p.bytesB - p.bytesA) || p.name.localeCompare(q.name));
  const ca = new Map(a.classes.map((c) => [c.sizeClass, c]));
  const cb = new Map(b.classes.map((c) => [c.sizeClass, c]));
  const classes: ClassDelta[] = [];
  let unchangedClasses = 0;
  for (const sc of [...new Set([...ca.keys(), ...cb.keys()])].sort((p, q) => p - q)) {
    const x = ca.get(sc);
    const y = cb.get(sc);
    const d = {
      sizeClass: sc, blockBytes: (x ?? y)!.blockBytes, pagesA: x?.pages ?? 0, pagesB: y?.pages ?? 0,
      objectsA: x?.objects ?? 0, objectsB: y?.objects ?? 0, liveBytesA: x?.liveBytes ?? 0, liveBytesB: y?.liveBytes ?? 0,
    };
    if (d.pagesA === d.pagesB && d.objectsA === d.objectsB && d.liveBytesA === d.liveBytesB) unchangedClasses++;
    else classes.push(d);
  }
  const used = (m: HeapMap): number => m.totals.pages.small + m.totals.pages.large + m.totals.pages.orphan + m.totals.pages.system;
  return {
    types, classes, unchangedTypes, unchangedClasses,
    totals: { objectsA: a.totals.objects, objectsB: b.totals.objects, bytesA: a.totals.bytes, bytesB: b.totals.bytes, pagesA: used(a), pagesB: used(b) },
  };
}

function verdict(before: number, after: number): string {
  return after > before ? 'grew' : after < before ? 'shrank' : '';
}

/** The diff as text: totals, then the types and the size classes that changed. */
export function renderDiff(d: HeapDiff, labels: [string, string] = ['A', 'B']): string {
  const t = d.totals;
  const [la, lb] = labels;
  const lines = [
    `bibop diff: ${la} → ${lb}`,
    `objects ${t.objectsA} → ${t.objectsB} (${fmtSigned(t.objectsB - t.objectsA)}), in use ${fmtBytes(t.bytesA)} → ${fmtBytes(t.bytesB)} ` +
      `(${fmtSigned(t.bytesB - t.bytesA, fmtBytes)}), pages in use ${t.pagesA} → ${t.pagesB} (${fmtSigned(t.pagesB - t.pagesA)})`,
    '',
    'types (largest change in bytes first)',
  ];
  if (d.types.length === 0) lines.push('  no type changed');
  else {
    lines.push(...table(
      ['type', 'objects A', 'objects B', 'change', 'bytes A', 'bytes B', 'change', ''],
      d.types.map((x) => [
        x.name, String(x.countA), String(x.countB), fmtSigned(x.countB - x.countA), fmtBytes(x.bytesA), fmtBytes(x.bytesB),
        fmtSigned(x.bytesB - x.bytesA, fmtBytes), verdict(x.bytesA, x.bytesB) || verdict(x.countA, x.countB),
      ]),
    ));
  }
  if (d.unchangedTypes > 0) lines.push(`  (${d.unchangedTypes} types unchanged)`);
  lines.push('', 'size classes');
  if (d.classes.length === 0) lines.push('  no size class changed');
  else {
    lines.push(...table(
      ['class', 'block', 'pages A', 'pages B', 'change', 'objects A', 'objects B', 'change', 'in use change', ''],
      d.classes.map((c) => [
        String(c.sizeClass), String(c.blockBytes), String(c.pagesA), String(c.pagesB), fmtSigned(c.pagesB - c.pagesA),
        String(c.objectsA), String(c.objectsB), fmtSigned(c.objectsB - c.objectsA), fmtSigned(c.liveBytesB - c.liveBytesA, fmtBytes),
        verdict(c.liveBytesA, c.liveBytesB) || verdict(c.pagesA, c.pagesB),
      ]),
    ));
  }
  if (d.unchangedClasses > 0) lines.push(`  (${d.unchangedClasses} size classes unchanged)`);
  return lines.join('\n');
}
