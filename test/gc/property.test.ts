// Model-based property test: random programs of allocations, links, roots, unroots and
// collections run against the heap and against an independent oracle (a JS map of object
// id → outgoing edges, and a multiset of roots). After every collection the surviving
// objects are exactly those the oracle says are reachable, with their tags and edges
// intact; a second collection frees nothing; the verifier finds nothing wrong. Under stress
// (gcInterval) collections also land inside allocations: the oracle then drops what was
// unreachable just before that allocation, and checks every survivor at the next command.
import { describe, expect } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { Heap, type Persistent, type WeakHandle } from '../../src/index.js';
import { G_MAJOR_COUNT, G_MINOR_COUNT } from '../../src/heap/layout.js';

type Cmd =
  | { t: 'node'; rooted: boolean }
  | { t: 'arr'; len: number; rooted: boolean }
  | { t: 'link'; src: number; field: number; dst: number | null }
  | { t: 'root'; i: number }
  | { t: 'unroot'; i: number }
  | { t: 'collect' };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('node' as const), rooted: fc.boolean() }), weight: 4 },
  { arbitrary: fc.record({ t: fc.constant('arr' as const), len: fc.integer({ min: 0, max: 6 }), rooted: fc.boolean() }), weight: 2 },
  {
    arbitrary: fc.record({
      t: fc.constant('link' as const),
      src: fc.nat(1000),
      field: fc.nat(1000),
      dst: fc.option(fc.nat(1000), { freq: 5 }),
    }),
    weight: 6,
  },
  { arbitrary: fc.record({ t: fc.constant('root' as const), i: fc.nat(1000) }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('unroot' as const), i: fc.nat(1000) }), weight: 2 },
  { arbitrary: fc.constant({ t: 'collect' as const }), weight: 2 },
);

/** One object of the oracle. Edges name other objects by id (null: no ref). */
interface ModelObject {
  id: number;
  ref: number;
  kind: 'node' | 'arr';
  edges: (number | null)[];
  weak: WeakHandle;
}

function runProgram(cmds: Cmd[], gcInterval = 0): void {
  const heap = Heap.create({ size: 2 << 20, gcInterval });
  const Node = heap.defineStruct('PNode', { a: 'ref', b: 'ref', v: 'i32' });
  const Arr = heap.defineArray('PArr', 'ref');
  const u32 = new Uint32Array(heap.buffer);

  const live = new Map<number, ModelObject>(); // allocated and not yet collected
  const roots: { id: number; handle: Persistent }[] = []; // a multiset: an object may be rooted twice
  let nextId = 1;
  let collections = 0;

  const pick = (n: number): ModelObject | undefined => {
    if (live.size === 0) return undefined;
    return [...live.values()][n % live.size];
  };
  const refOf = (id: number | null): number => (id === null ? 0 : live.get(id)!.ref);

  const reachable = (): Set<number> => {
    const seen = new Set<number>();
    const stack = roots.map((r) => r.id);
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      for (const e of live.get(id)!.edges) if (e !== null && !seen.has(e)) stack.push(e);
    }
    return seen;
  };

  const counted = (): number => u32[G_MAJOR_COUNT]! + u32[G_MINOR_COUNT]!;

  /** A collection the oracle did not ask for happened: what was unreachable is gone. */
  let surprises = 0;
  let allocations = 0;
  const surprise = (expected: Set<number>): void => {
    surprises += counted() - collections;
    collections = counted();
    for (const obj of [...live.values()]) {
      if (expected.has(obj.id)) continue;
      expect(obj.weak.get(), `object ${obj.id}, unreachable, should have been collected`).toBeNull();
      obj.weak.release();
      live.delete(obj.id);
    }
  };

  const allocate = (kind: 'node' | 'arr', len: number, rooted: boolean): void => {
    const id = nextId++;
    const before = gcInterval > 0 ? reachable() : undefined;
    allocations++;
    heap.scope(() => {
      const ref = kind === 'node' ? heap.alloc(Node) : heap.allocArray(Arr, len);
      if (before !== undefined && counted() !== collections) surprise(before);
      if (kind === 'node') heap.setI32(ref, Node.v, id);
      const obj: ModelObject = { id, ref, kind, edges: new Array<number | null>(kind === 'node' ? 2 : len).fill(null), weak: heap.weak(ref) };
      live.set(id, obj);
      if (rooted) roots.push({ id, handle: heap.persist(ref) });
    });
  };

  const collectAndCheck = (): void => {
    const expected = reachable();
    const ev = heap.collect();
    collections++;
    expect(ev.markedObjects).toBe(expected.size);
    expect(ev.freedObjects).toBe(live.size - expected.size);
    for (const obj of live.values()) {
      const got = obj.weak.get();
      if (expected.has(obj.id)) {
        expect(got, `object ${obj.id} should survive`).toBe(obj.ref);
        if (obj.kind === 'node') {
          expect(heap.getI32(obj.ref, Node.v), `tag of object ${obj.id}`).toBe(obj.id);
          expect(heap.getRef(obj.ref, Node.a)).toBe(refOf(obj.edges[0]!));
          expect(heap.getRef(obj.ref, Node.b)).toBe(refOf(obj.edges[1]!));
        } else {
          expect(heap.length(obj.ref)).toBe(obj.edges.length);
          obj.edges.forEach((e, i) => expect(heap.getRefAt(obj.ref, i)).toBe(refOf(e)));
        }
      } else {
        expect(got, `object ${obj.id} should be collected`).toBeNull();
      }
    }
    for (const obj of [...live.values()]) {
      if (!expected.has(obj.id)) {
        obj.weak.release();
        live.delete(obj.id);
      }
    }
    const again = heap.collect();
    collections++;
    expect(again.freedObjects).toBe(0);
    expect(again.markedObjects).toBe(expected.size);
    const v = heap.verify();
    expect(v.errors).toEqual([]);
    expect(v.ok).toBe(true);
    expect(heap.stats().allocatedObjects).toBe(live.size);
  };

  for (const cmd of [...cmds, { t: 'collect' } as const]) {
    switch (cmd.t) {
      case 'node':
        allocate('node', 2, cmd.rooted);
        break;
      case 'arr':
        allocate('arr', cmd.len, cmd.rooted);
        break;
      case 'link': {
        const src = pick(cmd.src);
        if (src === undefined || src.edges.length === 0) break;
        const field = cmd.field % src.edges.length;
        const dst = cmd.dst === null ? null : pick(cmd.dst)!.id;
        heap.scope(() => {
          if (src.kind === 'node') heap.setRef(src.ref, field === 0 ? Node.a : Node.b, refOf(dst));
          else heap.setRefAt(src.ref, field, refOf(dst));
        });
        src.edges[field] = dst;
        break;
      }
      case 'root': {
        const obj = pick(cmd.i);
        if (obj !== undefined) roots.push({ id: obj.id, handle: heap.persist(obj.ref) });
        break;
      }
      case 'unroot': {
        if (roots.length === 0) break;
        const [r] = roots.splice(cmd.i % roots.length, 1);
        r!.handle.release();
        break;
      }
      case 'collect':
        collectAndCheck();
        break;
    }
    // Nothing collected behind the oracle's back, unless under stress, where every such
    // collection was reconciled above.
    expect(counted()).toBe(collections);
  }
  // Under stress the collections really did land inside allocations.
  if (gcInterval > 0 && allocations > 2 * gcInterval) expect(surprises).toBeGreaterThan(0);
  heap.detach();
}

describe('collector against a reachability oracle', () => {
  test.prop([fc.array(cmdArb, { maxLength: 40 })], { numRuns: 1000 })(
    'survivors are exactly the reachable objects, intact',
    (cmds) => {
      runProgram(cmds);
    },
  );

  test.prop([fc.array(cmdArb, { minLength: 30, maxLength: 40 })], { numRuns: 50, seed: 20240607 })(
    'fixed-seed longer programs',
    (cmds) => {
      runProgram(cmds);
    },
  );

  test.prop([fc.array(cmdArb, { maxLength: 40 }), fc.integer({ min: 1, max: 4 })], { numRuns: 300 })(
    'with a collection after every 1–4 allocations (gcInterval), survivors are still exactly the reachable objects',
    (cmds, interval) => {
      runProgram(cmds, interval);
    },
  );
});
