// The page map in a terminal: one cell per page (or per `cellPages` pages), 100 cells a row
// in groups of ten, then a legend and the tables (size classes, types, workers). At most
// 120 columns. With `color`, cells are ANSI-coloured by kind and occupancy; without, the
// characters alone carry it (a file, a pipe, CI logs).
//
//   cell  page
//    =    arena header
//    .    free
//    _    small span page, no live slot
//   1-9   small span page, live slots in tenths (1: under 20%, 9: 90% or more)
//    #    small span page, every slot live
//    L    large object (its head and tail pages)
//    o    orphan span (its worker is gone; the next sweep adopts or frees it)
//    r    root-stack chunk       h  handle-table chunk
//    !    stray page (a tail no head reaches: left by a killed thread)
// A cell of several pages shows the most interesting of them (stray > orphan > large >
// system > small, the fullest, > free > header).

import { CLASS_BLOCK_BYTES } from '../heap/sizeclasses.js';
import type { HeapMap, PageInfo } from './pages.js';
import { clip, fmtBytes, fmtPct, table } from './text.js';

export interface TerminalMapOptions {
  color?: boolean;
  /** Pages per cell (default 1). */
  cellPages?: number;
  /** Rows of the type table (default 25). */
  maxTypes?: number;
}

export const MAP_WIDTH = 120;
const CELLS_PER_ROW = 100;

const RANK: Record<string, number> = { header: 0, free: 1, small: 2, system: 3, large: 4, orphan: 5 };

function cellChar(p: PageInfo): string {
  if (p.stray) return '!';
  switch (p.kind) {
    case 'header': return '=';
    case 'free': return '.';
    case 'large': return 'L';
    case 'orphan': return 'o';
    case 'system': return p.system === 'handle-chunk' ? 'h' : 'r';
    default:
      if (p.occupancy <= 0) return '_';
      if (p.occupancy >= 1) return '#';
      return String(Math.max(1, Math.floor(p.occupancy * 10)));
  }
}

/** ANSI 256-colour foreground of a cell. */
function cellColor(p: PageInfo): number {
  if (p.stray) return 196;
  switch (p.kind) {
    case 'header': return 240;
    case 'free': return 238;
    case 'large': return 39;
    case 'orphan': return 177;
    case 'system': return 250;
    default: return [22, 28, 34, 40, 46, 82][Math.min(5, Math.floor(p.occupancy * 5.999))]!;
  }
}

/** The page that stands for a cell of several pages. */
function representative(pages: PageInfo[], from: number, to: number): PageInfo {
  let best = pages[from]!;
  for (let i = from + 1; i < to; i++) {
    const p = pages[i]!;
    const r = p.stray ? 9 : RANK[p.kind]!;
    const b = best.stray ? 9 : RANK[best.kind]!;
    if (r > b || (r === b && p.occupancy > best.occupancy)) best = p;
  }
  return best;
}

export function renderTerminalMap(map: HeapMap, options: TerminalMapOptions = {}): string {
  const color = options.color ?? false;
  const per = Math.max(1, Math.floor(options.cellPages ?? 1));
  const paint = (s: string, c: number): string => (color && s !== '' ? `\x1b[38;5;${c}m${s}\x1b[0m` : s);
  const bold = (s: string): string => (color ? `\x1b[1m${s}\x1b[0m` : s);
  const n = map.pages.length;
  const t = map.totals;
  const lines: string[] = [];
  lines.push(bold(`bibop heap map: ${n} pages (${fmtBytes(n * map.pageBytes)}) of at most ${map.maxPages} ` +
    `(${fmtBytes(map.maxPages * map.pageBytes)}); ${map.collections.major} major, ${map.collections.minor} minor collections`));
  lines.push(`objects: ${t.objects}, ${fmtBytes(t.bytes)} in use, ${fmtBytes(t.footprint)} of blocks`);
  lines.push(`pages: ${t.pages.small} small, ${t.pages.large} large, ${t.pages.orphan} orphan, ${t.pages.system} system, ` +
    `${t.pages.free} free, ${t.pages.header} header${t.pages.stray ? `, ${t.pages.stray} stray` : ''}; ` +
    `one cell = ${per === 1 ? 'one page' : `${per} pages`}`);
  lines.push('');
  const cells = Math.ceil(n / per);
  for (let row = 0; row < cells; row += CELLS_PER_ROW) {
    let out = `${String(row * per).padStart(8)}  `;
    let run = '';
    let runColor = -1;
    for (let c = row; c < Math.min(cells, row + CELLS_PER_ROW); c++) {
      const p = representative(map.pages, c * per, Math.min(n, (c + 1) * per));
      const ch = cellChar(p);
      const col = cellColor(p);
      const sep = c > row && (c - row) % 10 === 0 ? ' ' : '';
      if (sep !== '' || col !== runColor) {
        out += paint(run, runColor);
        run = sep;
        runColor = col;
      }
      run += ch;
    }
    lines.push(out + paint(run, runColor));
  }
  lines.push('');
  lines.push(`legend: ${paint('=', 240)} header  ${paint('.', 238)} free  ${paint('_', 22)} small, empty  ` +
    `${paint('1', 28)}-${paint('9', 46)} small, live slots in tenths  ${paint('#', 82)} small, full  ${paint('L', 39)} large  ` +
    `${paint('o', 177)} orphan`);
  lines.push(`        ${paint('r', 250)} root stack  ${paint('h', 250)} handle table  ${paint('!', 196)} stray (left by a killed thread)`);

  lines.push('', bold('size classes'));
  lines.push(...table(
    ['class', 'block', 'spans', 'pages', 'objects', 'in use', 'rounding', 'tail', 'free', 'frag', 'util'],
    map.classes.map((c) => [
      String(c.sizeClass), String(c.blockBytes), String(c.spans), String(c.pages), String(c.objects), fmtBytes(c.liveBytes),
      fmtBytes(c.internalWaste), fmtBytes(c.tailWaste), fmtBytes(c.freeBytes), fmtPct(c.fragmentation), fmtPct(c.utilization),
    ]),
  ));
  lines.push('  rounding: block bytes beyond what the objects need; tail: span bytes no slot covers;',
    '  frag: free share of the class\'s slots; util: bytes in use over the class\'s page bytes');
  const large = map.pages.filter((p) => p.kind === 'large' && p.span === p.index);
  if (large.length > 0) lines.push(`  large objects: ${large.length} in ${t.pages.large} pages (above ${CLASS_BLOCK_BYTES[CLASS_BLOCK_BYTES.length - 1]} bytes)`);

  const maxTypes = options.maxTypes ?? 25;
  lines.push('', bold('types (by bytes in use)'));
  lines.push(...table(
    ['type', 'kind', 'objects', 'in use', 'blocks', 'avg'],
    map.types.slice(0, maxTypes).map((ty) => [
      clip(ty.name, 48), ty.kind, String(ty.count), fmtBytes(ty.bytes), fmtBytes(ty.footprint), `${Math.round(ty.bytes / ty.count)} B`,
    ]),
  ));
  if (map.types.length > maxTypes) lines.push(`  … ${map.types.length - maxTypes} more types`);

  lines.push('', bold('workers'));
  lines.push(...table(['slot', 'state', 'pages owned'], map.workers.map((w) => [String(w.slot), w.state, String(w.pages)])));
  if (map.torn > 0) lines.push('', `${map.torn} spans or objects were read mid-update (a racy read)`);
  return lines.join('\n');
}
