// Why is it alive: a shortest path from a root to an object.
//
// A breadth-first search from every root at once (graph.ts lists them: handles first, then
// finalization entries, then root stacks), over outgoing refs read through the type table.
// The first time the object is reached, the path back through the parents is a shortest one.
// The parents live in one Uint32Array indexed by ref / 8 (refs are 8-aligned): a visited
// object holds its parent's ref there, a root-held one `rootIndex · 8 + 1` (odd, so never a
// ref). It reads and writes nothing in the arena, so it runs inside a pause or on a snapshot.

import { NOT_TLAB_AWARE, REF_OK, REF_PROBLEMS, classifyRef, isStaleProblem } from '../heap/check.js';
import type { TypeCache } from '../heap/types.js';
import { InvalidRefError, StaleRefError } from '../errors.js';
import { EdgeReader, listRoots, type Root } from './graph.js';

export interface RetainerStep {
  ref: number;
  /** The object's type name. */
  type: string;
  /** The first step: the root that holds `ref`. */
  root?: Root;
  /** Later steps: the field of the previous object that holds `ref`, or its array index. */
  field?: string;
  index?: number;
}

/** `[root step, …, the object]`: each step's `field` or `index` names the ref that leads to it. */
export type RetainerPath = RetainerStep[];

export function findRetainers(u32: Uint32Array, f32: Float32Array, types: TypeCache, target: number): RetainerPath | null {
  const problem = classifyRef(u32, f32, target, NOT_TLAB_AWARE);
  if (problem !== REF_OK) {
    const msg = `retainers(${fmt(target)}): the ref is ${REF_PROBLEMS[problem]}`;
    throw isStaleProblem(problem) ? new StaleRefError(msg, { ref: target }) : new InvalidRefError(msg, { ref: target });
  }
  const edges = new EdgeReader(u32, types);
  const roots = listRoots(u32);
  const parent = new Uint32Array((u32.length >>> 1) + 1);
  const valid = (ref: number): boolean => ref > 0 && (ref & 7) === 0 && classifyRef(u32, f32, ref, NOT_TLAB_AWARE) === REF_OK;
  let queue = new Uint32Array(1024);
  let tail = 0;
  const push = (ref: number): void => {
    if (tail === queue.length) {
      const bigger = new Uint32Array(queue.length * 2);
      bigger.set(queue);
      queue = bigger;
    }
    queue[tail++] = ref;
  };
  let found = false;
  for (let i = 0; i < roots.length && !found; i++) {
    const ref = roots[i]!.ref;
    if (parent[ref >>> 3] !== 0 || !valid(ref)) continue;
    parent[ref >>> 3] = i * 8 + 1;
    if (ref === target) found = true;
    else push(ref);
  }
  for (let head = 0; head < tail && !found; head++) {
    const from = queue[head]!;
    edges.forEachRef(from, (child) => {
      if (found || parent[child >>> 3] !== 0 || (child & 7) !== 0 || !valid(child)) return;
      parent[child >>> 3] = from;
      if (child === target) found = true;
      else push(child);
    });
  }
  if (!found) return null;

  const chain: number[] = [];
  let at = target;
  for (;;) {
    chain.push(at);
    const p = parent[at >>> 3]!;
    if ((p & 7) === 1) break;
    at = p;
  }
  chain.reverse();
  const rootIndex = (parent[chain[0]! >>> 3]! - 1) / 8;
  const name = (ref: number): string => edges.typeOf(ref)?.$name ?? '(no type)';
  const path: RetainerPath = [{ ref: chain[0]!, type: name(chain[0]!), root: roots[rootIndex]! }];
  for (let i = 1; i < chain.length; i++) {
    const label = edges.labelOf(chain[i - 1]!, chain[i]!);
    const step: RetainerStep = { ref: chain[i]!, type: name(chain[i]!) };
    if (typeof label === 'number') step.index = label;
    else if (label !== null) step.field = label;
    path.push(step);
  }
  return path;
}

function fmt(ref: unknown): string {
  return typeof ref === 'number' && Number.isInteger(ref) && ref >= 0 ? `0x${ref.toString(16)}` : String(ref);
}

/** A path as lines of text: the root, then one line per ref followed. */
export function formatRetainers(path: RetainerPath | null): string {
  if (path === null) return 'unreachable: no root reaches it';
  const lines: string[] = [];
  for (const step of path) {
    const obj = `${step.type} ${fmt(step.ref)}`;
    if (step.root !== undefined) lines.push(`${describeRoot(step.root)} → ${obj}`);
    else lines.push(`  ${step.index !== undefined ? `[${step.index}]` : `.${step.field ?? '?'}`} → ${obj}`);
  }
  return lines.join('\n');
}

export function describeRoot(r: Root): string {
  if (r.kind === 'handle') return `persistent handle ${r.handleId}`;
  if (r.kind === 'finalization') return `finalization queue of worker ${r.workerId} (entry ${r.handleId})`;
  return `scope of worker ${r.workerId} (root ${r.position})`;
}
