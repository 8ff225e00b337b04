// Model-based property test: random programs of allocations, links, roots, unroots and
// collections run against the heap and against an independent oracle (a JS map of object
// id → outgoing edges, and a multiset of roots). After every collection the surviving
// objects are exactly those the oracle says are reachable, with their tags and edges
// intact; a second collection frees nothing; the verifier finds nothing wrong. Under stress
// (gcInterval) collections also land inside allocations: the oracle then drops what was
// unreachable just before that allocation, and checks every survivor at the next command.
//
// With generations (the second describe): minor and major collections, filler blocks that
// make spans dense enough to be promoted, and link commands run through a second mutator
// attached to the same heap. The oracle for a minor: the survivors are every old object
// (a minor frees none) plus exactly the young objects reachable from the roots or from any
// old object, dead or alive (the remembered set makes every old object a root of a minor).
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { Heap, type GcEvent, type Persistent, type WeakHandle } from '../../src/index.js';
import { G_MAJOR_COUNT, G_MINOR_COUNT, PAGE_LOG } from '../../src/heap/layout.js';

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

// ---------------------------------------------------------------------------------------
// Generations: minor and major collections against the oracle.

type GenCmd =
  | { t: 'node'; rooted: boolean; fill: boolean; via: number }
  | { t: 'arr'; len: number; rooted: boolean; via: number }
  | { t: 'link'; src: number; field: number; dst: number | null; via: number; oldToYoung: boolean }
  | { t: 'root'; i: number; via: number }
  | { t: 'unroot'; i: number }
  | { t: 'collect'; kind: 'minor' | 'major' };

const via = fc.integer({ min: 0, max: 1 });

const genCmdArb: fc.Arbitrary<GenCmd> = fc.oneof(
  {
    arbitrary: fc.record({ t: fc.constant('node' as const), rooted: fc.boolean(), fill: fc.nat(2).map((n) => n === 0), via }),
    weight: 4,
  },
  { arbitrary: fc.record({ t: fc.constant('arr' as const), len: fc.integer({ min: 0, max: 6 }), rooted: fc.boolean(), via }), weight: 2 },
  {
    arbitrary: fc.record({
      t: fc.constant('link' as const),
      src: fc.nat(1000),
      field: fc.nat(1000),
      dst: fc.option(fc.nat(1000), { freq: 5 }),
      via,
      oldToYoung: fc.boolean(),
    }),
    weight: 6,
  },
  { arbitrary: fc.record({ t: fc.constant('root' as const), i: fc.nat(1000), via }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('unroot' as const), i: fc.nat(1000) }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('collect' as const), kind: fc.constantFrom('minor' as const, 'minor' as const, 'major' as const) }), weight: 3 },
);

/** What happened over a whole property run: the evidence that the property was not vacuous. */
interface GenTotals {
  runs: number;
  minors: number;
  majors: number;
  /** promotedObjects summed over every event. */
  promotedObjects: number;
  /** Objects of the oracle that turned old while alive. */
  promotedModelObjects: number;
  /** Link commands that stored a young ref into an old object, and those made by the second mutator. */
  oldToYoungLinks: number;
  oldToYoungViaSecond: number;
  /** Young survivors of a minor that the roots reach only through an old object (found through the remembered set)... */
  keptThroughLiveOld: number;
  /** ...and those no root reaches at all, kept by dead old objects. */
  keptByDeadOld: number;
}

const noTotals = (): GenTotals => ({
  runs: 0, minors: 0, majors: 0, promotedObjects: 0, promotedModelObjects: 0, oldToYoungLinks: 0, oldToYoungViaSecond: 0, keptThroughLiveOld: 0, keptByDeadOld: 0,
});

/** Filler nodes per filler block: with the node allocated before them, more than half a span of their class. */
const FILL = 150;

function runGenerationalProgram(cmds: GenCmd[], totals: GenTotals): void {
  const heap = Heap.create({ size: 2 << 20, youngBytes: 1 << 20, verifyEachGC: true });
  // A second mutator on the same thread: its scopes never nest in the first one's.
  const second = Heap.attach(heap.buffer);
  const mutators = [heap, second];
  const types = mutators.map((h) => ({
    Node: h.defineStruct('PNode', { a: 'ref', b: 'ref', v: 'i32' }),
    Arr: h.defineArray('PArr', 'ref'),
    Fill: h.defineArray('PFill', 'ref'),
  }));
  const { Node } = types[0]!;
  const u32 = new Uint32Array(heap.buffer);
  totals.runs++;

  const live = new Map<number, ModelObject>(); // allocated and not yet collected
  const roots: { id: number; handle: Persistent }[] = [];
  const fillerBlocks: Persistent[] = [];
  let fillerObjects = 0; // filler nodes and their blocks: always alive
  let nextId = 1;
  let collections = 0;
  const counted = (): number => u32[G_MAJOR_COUNT]! + u32[G_MINOR_COUNT]!;

  // Which pages are old, asked of the heap after every collection. Page generations change
  // only inside collections, and every collection here is one this runner asked for, so the
  // answer holds until the next one (a page claimed since was free, and is young).
  let oldPage: boolean[] = [];
  const refreshOld = (): void => {
    oldPage = heap.pages().map((p) => p.old);
  };
  const isOld = (ref: number): boolean => oldPage[ref >>> PAGE_LOG] === true; // a new heap has no old page

  const refOf = (id: number | null): number => (id === null ? 0 : live.get(id)!.ref);
  /** Objects reachable from `start`; through old objects too unless `youngPathsOnly`. */
  const reachableFrom = (start: Iterable<number>, youngPathsOnly = false): Set<number> => {
    const seen = new Set<number>();
    const stack = [...start];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const obj = live.get(id)!;
      if (youngPathsOnly && isOld(obj.ref)) continue;
      for (const e of obj.edges) if (e !== null && !seen.has(e)) stack.push(e);
    }
    return seen;
  };
  const rootIds = (): number[] => roots.map((r) => r.id);

  const allocate = (kind: 'node' | 'arr', len: number, rooted: boolean, fill: boolean, by: number): void => {
    const h = mutators[by]!;
    const T = types[by]!;
    const id = nextId++;
    h.scope(() => {
      const ref = kind === 'node' ? h.alloc(T.Node) : h.allocArray(T.Arr, len);
      if (kind === 'node') h.setI32(ref, T.Node.v, id);
      live.set(id, { id, ref, kind, edges: new Array<number | null>(kind === 'node' ? 2 : len).fill(null), weak: h.weak(ref) });
      if (rooted) roots.push({ id, handle: h.persist(ref) });
      if (fill) {
        // Right behind the node, in its span: enough survivors to make the span dense.
        const block = h.allocArray(T.Fill, FILL);
        for (let i = 0; i < FILL; i++) {
          const f = h.alloc(T.Node);
          h.setI32(f, T.Node.v, -1 - i);
          h.setRefAt(block, i, f);
        }
        fillerBlocks.push(h.persist(block));
        fillerObjects += FILL + 1;
      }
    });
  };

  const youngFillers = (): number => {
    let n = 0;
    for (const p of fillerBlocks) {
      const block = p.get();
      if (!isOld(block)) n++;
      for (let i = 0; i < FILL; i++) if (!isOld(heap.getRefAt(block, i))) n++;
    }
    return n;
  };

  /** Every object in `expected` is there, intact; every other one is gone. Then the oracle forgets the gone. */
  const checkSurvivors = (expected: Set<number>, kind: string): void => {
    for (const obj of live.values()) {
      const got = obj.weak.get();
      if (expected.has(obj.id)) {
        expect(got, `object ${obj.id} should survive the ${kind}`).toBe(obj.ref);
        if (obj.kind === 'node') {
          expect(heap.getI32(obj.ref, Node.v), `tag of object ${obj.id}`).toBe(obj.id);
          expect(heap.getRef(obj.ref, Node.a), `edge a of object ${obj.id}`).toBe(refOf(obj.edges[0]!));
          expect(heap.getRef(obj.ref, Node.b), `edge b of object ${obj.id}`).toBe(refOf(obj.edges[1]!));
        } else {
          expect(heap.length(obj.ref)).toBe(obj.edges.length);
          obj.edges.forEach((e, i) => expect(heap.getRefAt(obj.ref, i), `element ${i} of object ${obj.id}`).toBe(refOf(e)));
        }
      } else {
        expect(got, `object ${obj.id} should be collected by the ${kind}`).toBeNull();
      }
    }
    for (const obj of [...live.values()]) {
      if (!expected.has(obj.id)) {
        obj.weak.release();
        live.delete(obj.id);
      }
    }
    const wrongFillers: number[] = [];
    for (const p of fillerBlocks) {
      const block = p.get();
      for (let i = 0; i < FILL; i++) if (heap.getI32(heap.getRefAt(block, i), Node.v) !== -1 - i) wrongFillers.push(i);
    }
    expect(wrongFillers, 'filler nodes whose tag changed').toEqual([]);
  };

  /**
   * After a check: the object count, and which objects of the oracle turned old. (The
   * verifier ran inside every pause: verifyEachGC throws on any broken invariant.)
   */
  const settle = (oldBefore: Set<number>): void => {
    expect(heap.stats().allocatedObjects).toBe(live.size + fillerObjects);
    refreshOld();
    for (const obj of live.values()) if (!oldBefore.has(obj.id) && isOld(obj.ref)) totals.promotedModelObjects++;
  };

  const collectAndCheck = (kind: 'minor' | 'major'): void => {
    const old = new Set([...live.values()].filter((o) => isOld(o.ref)).map((o) => o.id));
    const young = youngFillers();
    let ev: GcEvent;
    if (kind === 'major') {
      const expected = reachableFrom(rootIds());
      ev = heap.collect('major');
      collections++;
      totals.majors++;
      expect(ev.kind).toBe('major');
      expect(ev.markedObjects).toBe(expected.size + fillerObjects);
      expect(ev.freedObjects).toBe(live.size - expected.size);
      checkSurvivors(expected, 'major');
      const again = heap.collect('major');
      collections++;
      totals.majors++;
      expect(again.freedObjects).toBe(0);
      expect(again.markedObjects).toBe(expected.size + fillerObjects);
      totals.promotedObjects += ev.promotedObjects + again.promotedObjects;
    } else {
      const expected = reachableFrom([...rootIds(), ...old]); // holds every old object
      const fromRoots = reachableFrom(rootIds());
      const fromRootsYoungOnly = reachableFrom(rootIds(), true);
      let youngSurvivors = 0;
      for (const id of expected) {
        if (old.has(id)) continue;
        youngSurvivors++;
        if (!fromRoots.has(id)) totals.keptByDeadOld++;
        else if (!fromRootsYoungOnly.has(id)) totals.keptThroughLiveOld++;
      }
      ev = heap.collect('minor');
      collections++;
      totals.minors++;
      expect(ev.kind).toBe('minor');
      expect(ev.markedObjects, 'a minor marks the young survivors, and only them').toBe(youngSurvivors + young);
      expect(ev.freedObjects, 'a minor frees the unreachable young objects, and only them').toBe(live.size - old.size - youngSurvivors);
      checkSurvivors(expected, 'minor');
      const again = heap.collect('minor');
      collections++;
      totals.minors++;
      expect(again.freedObjects).toBe(0);
      expect(again.markedObjects, 'a second minor marks what the first left young').toBe(ev.markedObjects - ev.promotedObjects);
      totals.promotedObjects += ev.promotedObjects + again.promotedObjects;
    }
    settle(old);
  };

  const tail: GenCmd[] = [{ t: 'collect', kind: 'minor' }, { t: 'collect', kind: 'major' }];
  for (const cmd of [...cmds, ...tail]) {
    switch (cmd.t) {
      case 'node':
        allocate('node', 2, cmd.rooted, cmd.fill, cmd.via);
        break;
      case 'arr':
        allocate('arr', cmd.len, cmd.rooted, false, cmd.via);
        break;
      case 'link': {
        const all = [...live.values()];
        let src: ModelObject | undefined;
        let dst: ModelObject | null = null;
        if (cmd.oldToYoung) {
          const olds = all.filter((o) => o.edges.length > 0 && isOld(o.ref));
          const youngs = all.filter((o) => !isOld(o.ref));
          if (olds.length > 0 && youngs.length > 0) {
            src = olds[cmd.src % olds.length]!;
            dst = youngs[(cmd.dst ?? cmd.field) % youngs.length]!;
          }
        }
        if (src === undefined) {
          if (all.length === 0) break;
          src = all[cmd.src % all.length]!;
          dst = cmd.dst === null ? null : all[cmd.dst % all.length]!;
        }
        if (src.edges.length === 0) break;
        const field = cmd.field % src.edges.length;
        const h = mutators[cmd.via]!;
        const s = src;
        h.scope(() => {
          if (s.kind === 'node') h.setRef(s.ref, field === 0 ? Node.a : Node.b, dst === null ? 0 : dst.ref);
          else h.setRefAt(s.ref, field, dst === null ? 0 : dst.ref);
        });
        src.edges[field] = dst === null ? null : dst.id;
        if (dst !== null && isOld(src.ref) && !isOld(dst.ref)) {
          totals.oldToYoungLinks++;
          if (cmd.via === 1) totals.oldToYoungViaSecond++;
        }
        break;
      }
      case 'root': {
        if (live.size === 0) break;
        const obj = [...live.values()][cmd.i % live.size]!;
        roots.push({ id: obj.id, handle: mutators[cmd.via]!.persist(obj.ref) });
        break;
      }
      case 'unroot': {
        if (roots.length === 0) break;
        const [r] = roots.splice(cmd.i % roots.length, 1);
        r!.handle.release();
        break;
      }
      case 'collect':
        collectAndCheck(cmd.kind);
        break;
    }
    // Every collection is one the oracle asked for.
    expect(counted()).toBe(collections);
  }
  expect(heap.verify().errors).toEqual([]);
  second.detach();
  heap.detach();
}

/** The run did what the property is about: promotions, old → young stores from both mutators, young objects kept by old ones. */
function expectNotVacuous(t: GenTotals, runs: number): void {
  expect(t.runs).toBeGreaterThanOrEqual(runs);
  expect(t.minors).toBeGreaterThan(runs);
  expect(t.majors).toBeGreaterThan(runs);
  expect(t.promotedObjects).toBeGreaterThan(0);
  expect(t.promotedModelObjects).toBeGreaterThan(0);
  expect(t.oldToYoungLinks).toBeGreaterThan(0);
  expect(t.oldToYoungViaSecond).toBeGreaterThan(0);
  expect(t.keptThroughLiveOld).toBeGreaterThan(0);
  expect(t.keptByDeadOld).toBeGreaterThan(0);
}

describe('minor and major collections against a generational oracle', () => {
  it('survivors of a minor are every old object and exactly the young ones reachable from roots or old objects; of a major, exactly the reachable (1000 runs)', { timeout: 180_000 }, () => {
    const totals = noTotals();
    fc.assert(fc.property(fc.array(genCmdArb, { minLength: 8, maxLength: 30, size: 'max' }), (cmds) => {
      runGenerationalProgram(cmds, totals);
    }), { numRuns: 1000 });
    expectNotVacuous(totals, 1000);
  });

  it('fixed-seed longer programs, with minors and majors (100 runs)', { timeout: 120_000 }, () => {
    const totals = noTotals();
    fc.assert(fc.property(fc.array(genCmdArb, { minLength: 40, maxLength: 60 }), (cmds) => {
      runGenerationalProgram(cmds, totals);
    }), { numRuns: 100, seed: 20240608 });
    expectNotVacuous(totals, 100);
  });
});
