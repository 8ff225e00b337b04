// The code that runs in the browser to draw a heap map: the page grid on a canvas (hover for
// a page's details), a kind view and an occupancy heat view, filters by kind, type and
// worker, two SVG charts and the tables. The HTML map (html-map.ts) and the live view
// (live-server.ts) both embed it with `Function.prototype.toString`, so each function here
// is self-contained: no imports, no module-level names, only its parameters and the DOM.

/** What the browser gets: a HeapMap in flat arrays (compactMap). */
export interface MapData {
  title: string;
  subtitle: string;
  pageBytes: number;
  headerPages: number;
  maxPages: number;
  /** Per page: kind index into KINDS, size class (-1), occupancy 0..1000, owner (-1), old, slots, live, dirty, span head. */
  kind: number[];
  cls: number[];
  occ: number[];
  owner: number[];
  old: number[];
  slots: number[];
  live: number[];
  dirty: number[];
  span: number[];
  block: number[];
  /** Type ids per page (sparse: [page, id, id, …] runs ended by -1). */
  pageTypes: number[];
  types: { typeId: number; name: string; kind: string; count: number; bytes: number; footprint: number }[];
  classes: { sizeClass: number; blockBytes: number; spans: number; pages: number; slots: number; objects: number; liveBytes: number; internalWaste: number; tailWaste: number; freeBytes: number; fragmentation: number; utilization: number }[];
  workers: { slot: number; state: string; pages: number }[];
  totals: { objects: number; bytes: number; footprint: number; pages: Record<string, number> };
  collections: { minor: number; major: number };
  torn: number;
}

/** Kinds in the order MapData.kind indexes them; 6 is a stray page. */
export const MAP_KINDS = ['free', 'small', 'large', 'orphan', 'system', 'header', 'stray'] as const;

/**
 * Flattens a HeapMap for the browser. Self-contained (see above): it runs in Node for the
 * HTML file and in the live page on a map read there.
 */
export function compactMap(map: import('./pages.js').HeapMap, title: string, subtitle: string): MapData {
  const kinds = ['free', 'small', 'large', 'orphan', 'system', 'header', 'stray'];
  const d: MapData = {
    title, subtitle, pageBytes: map.pageBytes, headerPages: map.headerPages, maxPages: map.maxPages,
    kind: [], cls: [], occ: [], owner: [], old: [], slots: [], live: [], dirty: [], span: [], block: [], pageTypes: [],
    types: map.types, classes: map.classes, workers: map.workers.map((w) => ({ slot: w.slot, state: w.state, pages: w.pages })),
    totals: map.totals, collections: map.collections, torn: map.torn,
  };
  for (const p of map.pages) {
    d.kind.push(p.stray ? 6 : kinds.indexOf(p.kind));
    d.cls.push(p.sizeClass);
    d.occ.push(Math.round(p.occupancy * 1000));
    d.owner.push(p.owner);
    d.old.push(p.old ? 1 : 0);
    d.slots.push(p.slots);
    d.live.push(p.live);
    d.dirty.push(p.dirty);
    d.span.push(p.span);
    d.block.push(p.blockBytes);
    if (p.types !== undefined && p.types.length > 0) d.pageTypes.push(p.index, ...p.types, -1);
  }
  return d;
}

/**
 * Draws `data` into `root` and returns `update(data)` to redraw with new data (the live
 * view). Everything it builds lives under `root`.
 */
export function mapClient(root: HTMLElement, first: MapData): (data: MapData) => void {
  const KINDS = ['free', 'small', 'large', 'orphan', 'system', 'header', 'stray'];
  const KIND_COLORS = ['#23262d', '#22c55e', '#3b82f6', '#c084fc', '#9ca3af', '#4b5563', '#ef4444'];
  const CELL = 8;
  const COLS = 128;
  const doc = root.ownerDocument;
  const el = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text = ''): HTMLElementTagNameMap[K] => {
    const e = doc.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== '') e.textContent = text;
    return e;
  };
  const fmtBytes = (n: number): string => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);
  const pct = (f: number): string => `${(f * 100).toFixed(1)}%`;
  const heat = (f: number): string => {
    // Dark blue (empty) through teal and yellow to red (full).
    const stops = [[30, 41, 89], [16, 148, 148], [234, 200, 30], [220, 38, 38]];
    const x = Math.max(0, Math.min(1, f)) * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(x));
    const t = x - i;
    const c = stops[i]!.map((v, k) => Math.round(v + (stops[i + 1]![k]! - v) * t));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  };
  const smallShade = (f: number): string => `rgb(${Math.round(20 + 14 * f)},${Math.round(90 + 107 * f)},${Math.round(50 + 44 * f)})`;

  let data = first;
  let types = new Map<number, number[]>();
  const state = { view: 'kind', kind: 'all', type: 'all', worker: 'all' };

  root.replaceChildren();
  const title = el('h1');
  const subtitle = el('p', { class: 'sub' });
  const summary = el('p', { class: 'summary' });
  const controls = el('div', { class: 'controls' });
  const viewSel = el('select', { id: 'view' });
  for (const [v, label] of [['kind', 'colour by kind'], ['heat', 'occupancy heat']]) viewSel.append(el('option', { value: v }, label));
  const kindSel = el('select', { id: 'filter-kind' });
  const typeSel = el('select', { id: 'filter-type' });
  const workerSel = el('select', { id: 'filter-worker' });
  controls.append(el('label', {}, 'view '), viewSel, el('label', {}, ' kind '), kindSel, el('label', {}, ' type '), typeSel, el('label', {}, ' worker '), workerSel);
  const legend = el('div', { class: 'legend' });
  const canvas = el('canvas', { id: 'grid' });
  const tip = el('div', { id: 'tip', class: 'tip' });
  const charts = el('div', { class: 'charts' });
  const tables = el('div', { class: 'tables' });
  const gridWrap = el('div', { class: 'grid' });
  gridWrap.append(canvas, tip);
  root.append(title, subtitle, summary, controls, legend, gridWrap, charts, tables);

  const visible = (p: number): boolean => {
    if (state.kind !== 'all' && KINDS[data.kind[p]!] !== state.kind) return false;
    if (state.worker !== 'all' && String(data.owner[p]) !== state.worker) return false;
    if (state.type !== 'all' && !(types.get(p) ?? []).includes(Number(state.type))) return false;
    return true;
  };
  const colorOf = (p: number): string => {
    const k = data.kind[p]!;
    if (state.view === 'heat') return k === 1 || k === 2 || k === 3 ? heat(data.occ[p]! / 1000) : KIND_COLORS[k === 5 ? 5 : 0]!;
    return k === 1 ? smallShade(data.occ[p]! / 1000) : KIND_COLORS[k]!;
  };

  const draw = (): void => {
    const n = data.kind.length;
    const rows = Math.ceil(n / COLS);
    canvas.width = COLS * CELL;
    canvas.height = rows * CELL;
    const g = canvas.getContext('2d')!;
    g.fillStyle = '#111318';
    g.fillRect(0, 0, canvas.width, canvas.height);
    let shown = 0;
    for (let p = 0; p < n; p++) {
      const x = (p % COLS) * CELL;
      const y = Math.floor(p / COLS) * CELL;
      const on = visible(p);
      if (on) shown++;
      g.globalAlpha = on ? 1 : 0.12;
      g.fillStyle = colorOf(p);
      g.fillRect(x, y, CELL - 1, CELL - 1);
      if (data.old[p] === 1 && on) {
        g.fillStyle = '#facc15';
        g.fillRect(x, y, 3, 3);
      }
    }
    g.globalAlpha = 1;
    canvas.dataset.shown = String(shown);
    canvas.dataset.pages = String(n);
  };

  const option = (sel: HTMLSelectElement, values: [string, string][], keep: string): void => {
    sel.replaceChildren(...values.map(([v, label]) => el('option', { value: v }, label)));
    sel.value = values.some(([v]) => v === keep) ? keep : 'all';
  };

  const barChart = (heading: string, rows: [string, number, string][], max: number): HTMLElement => {
    const box = el('div', { class: 'chart' });
    box.append(el('h3', {}, heading));
    const ns = 'http://www.w3.org/2000/svg';
    const w = 460;
    const h = 18 * rows.length + 4;
    const svg = doc.createElementNS(ns, 'svg');
    svg.setAttribute('width', String(w));
    svg.setAttribute('height', String(h));
    rows.forEach(([label, value, text], i) => {
      const y = 2 + i * 18;
      const t = doc.createElementNS(ns, 'text');
      t.setAttribute('x', '0'); t.setAttribute('y', String(y + 12)); t.textContent = label.length > 18 ? `${label.slice(0, 17)}…` : label;
      const r = doc.createElementNS(ns, 'rect');
      r.setAttribute('x', '130'); r.setAttribute('y', String(y + 2));
      r.setAttribute('width', String(Math.max(1, (w - 230) * (max > 0 ? value / max : 0)))); r.setAttribute('height', '12');
      r.setAttribute('fill', '#38bdf8');
      const v = doc.createElementNS(ns, 'text');
      v.setAttribute('x', String(w - 95)); v.setAttribute('y', String(y + 12)); v.textContent = text;
      svg.append(t, r, v);
    });
    box.append(svg);
    return box;
  };

  const tableOf = (heading: string, header: string[], rows: string[][]): HTMLElement => {
    const box = el('div', { class: 'table' });
    box.append(el('h3', {}, heading));
    const t = el('table');
    const tr = el('tr');
    for (const h of header) tr.append(el('th', {}, h));
    t.append(tr);
    for (const r of rows) {
      const row = el('tr');
      for (const c of r) row.append(el('td', {}, c));
      t.append(row);
    }
    box.append(t);
    return box;
  };

  const render = (): void => {
    types = new Map();
    for (let i = 0; i < data.pageTypes.length;) {
      const page = data.pageTypes[i++]!;
      const ids: number[] = [];
      while (i < data.pageTypes.length && data.pageTypes[i] !== -1) ids.push(data.pageTypes[i++]!);
      i++;
      types.set(page, ids);
    }
    const t = data.totals;
    title.textContent = data.title;
    subtitle.textContent = data.subtitle;
    summary.textContent = `${data.kind.length} pages of ${fmtBytes(data.pageBytes)} (at most ${data.maxPages}); ${t.objects} objects, ${fmtBytes(t.bytes)} in use, ` +
      `${fmtBytes(t.footprint)} of blocks; ${data.collections.major} major and ${data.collections.minor} minor collections` +
      (data.torn > 0 ? `; ${data.torn} spans read mid-update` : '');
    const kindsPresent = KINDS.filter((_, k) => data.kind.includes(k));
    option(kindSel, [['all', 'all'], ...kindsPresent.map((k): [string, string] => [k, k])], state.kind);
    option(typeSel, [['all', 'all'], ...data.types.map((ty): [string, string] => [String(ty.typeId), ty.name])], state.type);
    option(workerSel, [['all', 'all'], ...data.workers.filter((w) => w.pages > 0).map((w): [string, string] => [String(w.slot), `worker ${w.slot} (${w.state})`])], state.worker);
    legend.replaceChildren(...KINDS.map((k, i) => {
      const s = el('span', { class: 'key' });
      const sw = el('i');
      sw.style.background = KIND_COLORS[i]!;
      s.append(sw, doc.createTextNode(` ${k}`));
      return s;
    }), el('span', { class: 'key' }, '■ small pages: brighter = fuller; yellow corner = old generation'));
    draw();
    const maxBytes = Math.max(0, ...data.types.map((ty) => ty.bytes));
    charts.replaceChildren(
      barChart('occupancy by size class (live slots / slots)', data.classes.map((c): [string, number, string] => [`${c.blockBytes} B`, c.slots ? c.objects / c.slots : 0, pct(c.slots ? c.objects / c.slots : 0)]), 1),
      barChart('bytes in use by type', data.types.slice(0, 20).map((ty): [string, number, string] => [ty.name, ty.bytes, fmtBytes(ty.bytes)]), maxBytes),
    );
    tables.replaceChildren(
      tableOf('size classes', ['class', 'block', 'spans', 'pages', 'objects', 'in use', 'rounding', 'tail', 'free', 'frag', 'util'],
        data.classes.map((c) => [String(c.sizeClass), String(c.blockBytes), String(c.spans), String(c.pages), String(c.objects), fmtBytes(c.liveBytes),
          fmtBytes(c.internalWaste), fmtBytes(c.tailWaste), fmtBytes(c.freeBytes), pct(c.fragmentation), pct(c.utilization)])),
      tableOf('types', ['type', 'kind', 'objects', 'in use', 'blocks'], data.types.map((ty) => [ty.name, ty.kind, String(ty.count), fmtBytes(ty.bytes), fmtBytes(ty.footprint)])),
      tableOf('workers', ['slot', 'state', 'pages owned'], data.workers.map((w) => [String(w.slot), w.state, String(w.pages)])),
    );
  };

  const describePage = (p: number): string => {
    const k = KINDS[data.kind[p]!]!;
    const lines = [`page ${p} (${k})`];
    if (data.span[p] !== p) lines.push(`span starts at page ${data.span[p]}`);
    if (data.cls[p]! >= 0) lines.push(`size class ${data.cls[p]}: ${data.block[p]} B blocks`);
    else if (k === 'large') lines.push(`large object: ${data.block[p]} B`);
    if (data.slots[p]! > 0 || k === 'small') lines.push(`slots ${data.slots[p]}, live ${data.live[p]} (${pct(data.occ[p]! / 1000)})`);
    if (data.owner[p]! >= 0) lines.push(`owner worker ${data.owner[p]}`);
    if (k !== 'free' && k !== 'header') lines.push(`generation ${data.old[p] ? 'old' : 'young'}${data.dirty[p] ? `, ${data.dirty[p]} dirty` : ''}`);
    const ids = types.get(p);
    if (ids !== undefined) lines.push(`types: ${ids.map((id) => data.types.find((ty) => ty.typeId === id)?.name ?? id).join(', ')}`);
    return lines.join('\n');
  };
  canvas.addEventListener('mousemove', (e) => {
    const r = canvas.getBoundingClientRect();
    const col = Math.floor((e.clientX - r.left) / CELL);
    const row = Math.floor((e.clientY - r.top) / CELL);
    const p = row * COLS + col;
    if (col < 0 || col >= COLS || p < 0 || p >= data.kind.length) { tip.style.display = 'none'; return; }
    tip.textContent = describePage(p);
    tip.style.display = 'block';
    tip.style.left = `${e.clientX - r.left + 14}px`;
    tip.style.top = `${e.clientY - r.top + 14}px`;
    tip.dataset.page = String(p);
  });
  canvas.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
  viewSel.addEventListener('change', () => { state.view = viewSel.value; draw(); });
  kindSel.addEventListener('change', () => { state.kind = kindSel.value; draw(); });
  typeSel.addEventListener('change', () => { state.type = typeSel.value; draw(); });
  workerSel.addEventListener('change', () => { state.worker = workerSel.value; draw(); });

  render();
  return (next: MapData) => {
    data = next;
    render();
  };
}

/** The page's style sheet. */
export const MAP_CSS = `
body { background: #0b0d12; color: #d6d9e0; font: 13px/1.4 system-ui, sans-serif; margin: 16px 24px; }
h1 { font-size: 18px; margin: 0 0 2px; } h3 { font-size: 13px; margin: 12px 0 4px; color: #9aa3b5; }
.sub, .summary { margin: 2px 0; color: #9aa3b5; }
.controls { margin: 10px 0 6px; } select { background: #1b1f27; color: #d6d9e0; border: 1px solid #333a48; margin-right: 8px; }
.legend { margin: 4px 0 8px; } .key { margin-right: 14px; white-space: nowrap; }
.key i { display: inline-block; width: 10px; height: 10px; vertical-align: -1px; }
.grid { position: relative; display: inline-block; } canvas { display: block; image-rendering: pixelated; }
.tip { display: none; position: absolute; pointer-events: none; white-space: pre; background: #1b1f27f0; border: 1px solid #3b4252;
  padding: 6px 8px; border-radius: 4px; font: 12px/1.35 ui-monospace, monospace; z-index: 2; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; } .chart text { fill: #c9ced8; font: 11px ui-monospace, monospace; }
.tables { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
table { border-collapse: collapse; font: 12px ui-monospace, monospace; } th, td { padding: 1px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; } th { color: #9aa3b5; border-bottom: 1px solid #333a48; }
`;
