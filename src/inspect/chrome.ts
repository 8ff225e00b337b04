// Export to Chrome's heap snapshot format (.heapsnapshot), which DevTools' Memory panel opens.
//
// The format is one JSON object: `snapshot.meta` names the fields, `nodes` is a flat array
// of NODE_FIELDS per node, `edges` a flat array of EDGE_FIELDS per edge, each node's edges
// following one another in node order, and `strings` holds every name. An edge's `to_node`
// is the target's index into `nodes` (ordinal × NODE_FIELDS.length).
//
// The graph written:
//   node 0          synthetic ""                 the root DevTools starts from
//    └ element      synthetic "(GC roots)"
//       ├ element   synthetic "(Persistent handles)"   → element edge per handle (index = its id)
//       ├ element   synthetic "(Finalization queue)"   → element edge per queued object
//       └ element   synthetic "(Scope roots of worker N)", one per worker with roots
//                                                      → element edge per root (its position)
//   objects         type "object", name = the bibop type name (DevTools' class), id = ref + 1
//                   (odd, unique, stable while the object lives), self_size = its block (or
//                   its large span's pages): the sizes add up to stats().allocatedBytes
//    ├ property     a struct's ref field, named by the field
//    └ element      an array's ref element, by index
// Number fields are not written: DevTools would show each as a node of its own.
//
// Three passes over the objects (number them and count their edges; write the nodes; write
// the edges), so the counts DevTools reads first are known and nothing but an ordinal table
// (a Uint32Array indexed by ref / 8) and the output chunks is held in memory.

import { SpanWalker } from '../heap/spans.js';
import type { Arena } from '../heap/arena.js';
import type { TypeCache } from '../heap/types.js';
import { EdgeReader, forEachObject, listRoots, type Root } from './graph.js';
import type { ProgressFn } from './format.js';

export const NODE_FIELDS = ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'] as const;
export const NODE_TYPES = [
  'hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic',
  'concatenated string', 'sliced string', 'symbol', 'bigint', 'object shape',
] as const;
export const EDGE_FIELDS = ['type', 'name_or_index', 'to_node'] as const;
export const EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'] as const;

const NT_OBJECT = NODE_TYPES.indexOf('object');
const NT_SYNTHETIC = NODE_TYPES.indexOf('synthetic');
const ET_ELEMENT = EDGE_TYPES.indexOf('element');
const ET_PROPERTY = EDGE_TYPES.indexOf('property');
const NF = NODE_FIELDS.length;

export interface ChromeExportStats {
  nodes: number;
  edges: number;
  objects: number;
  bytesWritten: number;
}

/** Collects output into chunks of about 1 MiB before handing them to the sink. */
class ChunkedWriter {
  private parts: string[] = [];
  private size = 0;
  bytes = 0;
  constructor(private readonly sink: (chunk: string) => void) {}
  write(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= 1 << 20) this.flush();
  }
  flush(): void {
    if (this.parts.length === 0) return;
    const chunk = this.parts.join('');
    this.bytes += chunk.length;
    this.sink(chunk);
    this.parts = [];
    this.size = 0;
  }
}

/** A synthetic group node and the roots under it. */
interface Group {
  name: string;
  roots: Root[];
  label: (r: Root) => number;
}

/**
 * Writes the heap in `arena` (every TLAB retired: a snapshot view, or inside a pause) to
 * `sink` as a .heapsnapshot, in chunks.
 */
export function exportChrome(arena: Arena, types: TypeCache, sink: (chunk: string) => void, onProgress?: ProgressFn): ChromeExportStats {
  arena.ensureViews();
  const u32 = arena.u32;
  const headerPages = arena.layout.headerPages;
  const walker = new SpanWalker();
  const edges = new EdgeReader(u32, types);

  // Strings: index 0 is "" (the root's name).
  const strings: string[] = [''];
  const stringIds = new Map<string, number>([['', 0]]);
  const str = (s: string): number => {
    let id = stringIds.get(s);
    if (id === undefined) {
      id = strings.length;
      strings.push(s);
      stringIds.set(s, id);
    }
    return id;
  };

  // Roots, grouped.
  const roots = listRoots(u32);
  const groups: Group[] = [
    { name: '(Persistent handles)', roots: roots.filter((r) => r.kind === 'handle'), label: (r) => r.handleId! },
    { name: '(Finalization queue)', roots: roots.filter((r) => r.kind === 'finalization'), label: (r) => r.handleId! },
  ];
  const workers = [...new Set(roots.filter((r) => r.kind === 'scope').map((r) => r.workerId!))].sort((a, b) => a - b);
  for (const w of workers) {
    groups.push({ name: `(Scope roots of worker ${w})`, roots: roots.filter((r) => r.kind === 'scope' && r.workerId === w), label: (r) => r.position! });
  }
  const live = groups.filter((g) => g.roots.length > 0);
  const synthetic = 2 + live.length; // the root, (GC roots), the groups
  const ordinalOf = new Uint32Array((u32.length >>> 1) + 1); // ref / 8 → ordinal + 1

  // Pass 1: number the objects, count their edges.
  let objects = 0;
  forEachObject(u32, headerPages, walker, (ref) => {
    ordinalOf[ref >>> 3] = synthetic + objects + 1;
    objects++;
  });
  const totalObjects = objects;
  const edgeCounts = new Uint32Array(totalObjects);
  let objectEdges = 0;
  let i = 0;
  forEachObject(u32, headerPages, walker, (ref) => {
    let n = 0;
    edges.forEachRef(ref, (child) => { if ((child & 7) === 0 && ordinalOf[child >>> 3] !== 0) n++; });
    edgeCounts[i++] = n;
    objectEdges += n;
    if ((i & 0xffff) === 0) onProgress?.('export: count', i, totalObjects);
  });
  const rootEdges = (g: Group): number => g.roots.filter((r) => ordinalOf[r.ref >>> 3] !== 0).length;
  const edgeCount = 1 + live.length + live.reduce((n, g) => n + rootEdges(g), 0) + objectEdges;
  const nodeCount = synthetic + objects;

  const out = new ChunkedWriter(sink);
  const meta = {
    node_fields: NODE_FIELDS,
    node_types: [NODE_TYPES, 'string', 'number', 'number', 'number', 'number', 'number'],
    edge_fields: EDGE_FIELDS,
    edge_types: [EDGE_TYPES, 'string_or_number', 'node'],
    trace_function_info_fields: ['function_id', 'name', 'script_name', 'script_id', 'line', 'column'],
    trace_node_fields: ['id', 'function_info_index', 'count', 'size', 'children'],
    sample_fields: ['timestamp_us', 'last_assigned_id'],
    location_fields: ['object_index', 'script_id', 'line', 'column'],
  };
  out.write(`{"snapshot":{"meta":${JSON.stringify(meta)},"node_count":${nodeCount},"edge_count":${edgeCount},"trace_function_count":0},\n"nodes":[`);

  // Pass 2: nodes. Synthetic ids are odd and below any ref + 1 (refs lie past the header).
  const node = (type: number, name: number, id: number, size: number, edgeCountOf: number, first: boolean): void => {
    out.write(`${first ? '' : ','}${type},${name},${id},${size},${edgeCountOf},0,0\n`);
  };
  node(NT_SYNTHETIC, 0, 1, 0, 1, true);
  node(NT_SYNTHETIC, str('(GC roots)'), 3, 0, live.length, false);
  live.forEach((g, k) => node(NT_SYNTHETIC, str(g.name), 5 + 2 * k, 0, rootEdges(g), false));
  i = 0;
  forEachObject(u32, headerPages, walker, (ref, footprint) => {
    const t = edges.typeOf(ref);
    node(NT_OBJECT, str(t?.$name ?? '(no type)'), ref + 1, footprint, edgeCounts[i]!, false);
    i++;
    if ((i & 0xffff) === 0) onProgress?.('export: nodes', i, totalObjects);
  });
  out.write('],\n"edges":[');

  // Pass 3: edges, in node order.
  let firstEdge = true;
  const edge = (type: number, nameOrIndex: number, toOrdinal: number): void => {
    out.write(`${firstEdge ? '' : ','}${type},${nameOrIndex},${toOrdinal * NF}\n`);
    firstEdge = false;
  };
  edge(ET_ELEMENT, 1, 1);
  live.forEach((_, k) => edge(ET_ELEMENT, k + 1, 2 + k));
  for (const g of live) {
    for (const r of g.roots) {
      const o = ordinalOf[r.ref >>> 3]!;
      if (o !== 0) edge(ET_ELEMENT, g.label(r), o - 1);
    }
  }
  i = 0;
  forEachObject(u32, headerPages, walker, (ref) => {
    edges.forEachRef(ref, (child, name) => {
      if ((child & 7) !== 0) return;
      const o = ordinalOf[child >>> 3]!;
      if (o === 0) return;
      if (typeof name === 'number') edge(ET_ELEMENT, name, o - 1);
      else edge(ET_PROPERTY, str(name), o - 1);
    });
    i++;
    if ((i & 0xffff) === 0) onProgress?.('export: edges', i, totalObjects);
  });
  out.write('],\n"trace_function_infos":[],\n"trace_tree":[],\n"samples":[],\n"locations":[],\n"strings":[');
  for (let s = 0; s < strings.length; s++) out.write(`${s === 0 ? '' : ','}${JSON.stringify(strings[s])}\n`);
  out.write(']}\n');
  out.flush();
  onProgress?.('export: done', totalObjects, totalObjects);
  return { nodes: nodeCount, edges: edgeCount, objects, bytesWritten: out.bytes };
}
