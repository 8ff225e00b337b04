// Test worker for test/multi/generations.test.ts: a mutator that builds structures for
// promotion, stores young objects into old ones, runs minors, builds a tree across minors,
// makes weak and finalizable young objects, and holds garbage in a scope until it is killed.
// Served over comlink (GenApi). Every wait is bounded.
//
// workerData: { heap }
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { Heap, type GcEvent, type WeakHandle } from '../../src/index.js';
import { G_MINOR_COUNT, PAGE_LOG, PI_OLD } from '../../src/heap/layout.js';
import { pageInfo } from '../../src/heap/spans.js';
import { defineGenTypes, youngTag, type GenApi, type TreeEvent } from '../multi/gen-shared.js';

/** Bounded waits: a test that forgets a worker must not hang the process. */
const WAIT_MS = 60_000;

const heap = Heap.attach(workerData.heap);
const { Node, File } = defineGenTypes(heap);
const counters = new Uint32Array(heap.buffer, 0, 64);
const minorCount = (): number => Atomics.load(counters, G_MINOR_COUNT);

function isOld(ref: number): boolean {
  return (pageInfo(new Uint32Array(heap.buffer), ref >>> PAGE_LOG) & PI_OLD) !== 0;
}

function listNodes(listId: number): number[] {
  const out: number[] = [];
  for (let x = heap.handle(listId).get(); x !== 0; x = heap.getRef(x, Node.next)) out.push(x);
  return out;
}

function garbage(n: number): void {
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const g = heap.alloc(Node);
    heap.setRef(g, Node.next, prev);
    prev = g;
  }
}

const finalized: { fds: number[]; workerIds: number[] } = { fds: [], workerIds: [] };
heap.onFinalize(File, (ref) => {
  finalized.fds.push(heap.getI32(ref, File.fd));
  finalized.workerIds.push(heap.workerId);
});

const weaks = new Map<number, WeakHandle>();
let nextWeak = 1;
let keptTree: { release(): void } | undefined;

const api: GenApi = {
  workerId: () => heap.workerId,

  buildList: (n) => heap.scope(() => {
    let head = 0;
    for (let i = n - 1; i >= 0; i--) {
      const x = heap.alloc(Node);
      heap.setRef(x, Node.next, head);
      heap.setI32(x, Node.v, i);
      head = x;
    }
    return heap.persist(head).id;
  }),

  storeYoung: (listId, stride, round, junk) => heap.scope(() => {
    const nodes = listNodes(listId);
    let stored = 0;
    for (let i = 0; i < nodes.length; i += stride) {
      const y = heap.alloc(Node);
      heap.setI32(y, Node.v, youngTag(round, i));
      heap.setRef(nodes[i]!, Node.other, y);
      stored++;
      garbage(junk);
    }
    return stored;
  }),

  checkStored: (listId, stride, round) => heap.scope(() => {
    const nodes = listNodes(listId);
    const bad: string[] = [];
    for (let i = 0; i < nodes.length; i += stride) {
      const y = heap.getRef(nodes[i]!, Node.other);
      const v = y === 0 ? 'null' : heap.getI32(y, Node.v);
      if (v !== youngTag(round, i)) bad.push(`list node ${i}: other.v is ${v}, expected ${youngTag(round, i)}`);
    }
    return bad;
  }),

  storeIntoArray: (arrayId, indices, round, junk) => heap.scope(() => {
    const a = heap.root(heap.handle(arrayId).get());
    for (const i of indices) {
      const y = heap.alloc(Node);
      heap.setI32(y, Node.v, youngTag(round, i));
      heap.setRefAt(a, i, y);
      garbage(junk);
    }
    return indices.length;
  }),

  checkArray: (arrayId, indices, round) => heap.scope(() => {
    const a = heap.root(heap.handle(arrayId).get());
    const bad: string[] = [];
    for (const i of indices) {
      const y = heap.getRefAt(a, i);
      const v = y === 0 ? 'null' : heap.getI32(y, Node.v);
      if (v !== youngTag(round, i)) bad.push(`element ${i}: v is ${v}, expected ${youngTag(round, i)}`);
    }
    return bad;
  }),

  minors: (count) => {
    const events: GcEvent[] = [];
    for (let i = 0; i < count; i++) {
      heap.scope(() => garbage(200));
      events.push(heap.collect('minor'));
    }
    return events;
  },

  allocAcrossMinors: (rounds, batch, sync) => heap.scope(() => {
    // sync[0]: rounds ready for a minor (this worker → the collecting thread).
    const ready = new Int32Array(sync);
    const batches: number[][] = [];
    const expected = new Map<number, number>(); // node → the tag its `other` must hold
    const r = { mismatches: [] as string[], storesIntoOld: 0, oldAtEnd: 0, bornOld: 0, minorsSeen: 0, nodes: 0 };
    let tag = 1;
    const store = (x: number): void => {
      if (isOld(x)) r.storesIntoOld++;
      const y = heap.alloc(Node);
      heap.setI32(y, Node.v, tag);
      heap.setRef(y, Node.next, x); // young → anything: no barrier needed
      heap.setRef(x, Node.other, y);
      expected.set(x, tag++);
    };
    for (let round = 0; round < rounds; round++) {
      // A batch dense enough for its span to be withheld and, after PROMOTE_AGE minors, promoted.
      const nodes: number[] = [];
      for (let i = 0; i < batch; i++) {
        const x = heap.alloc(Node);
        if (isOld(x)) r.bornOld++;
        heap.setI32(x, Node.v, round * batch + i);
        if (i > 0) heap.setRef(x, Node.next, nodes[i - 1]!);
        nodes.push(x);
      }
      batches.push(nodes);
      r.nodes += batch;
      // Right before the minor: the newest objects, still in the live TLAB, get their refs.
      for (let i = batch - 8; i < batch; i++) store(nodes[i]!);
      const before = minorCount();
      Atomics.store(ready, 0, round + 1);
      Atomics.notify(ready, 0);
      const deadline = Date.now() + WAIT_MS;
      while (minorCount() === before) {
        heap.safepoint();
        if (Date.now() > deadline) throw new Error(`round ${round}: no minor collection within ${WAIT_MS} ms`);
      }
      r.minorsSeen++;
      // Right after: stores into every object made so far, some of them promoted by now.
      for (const b of batches) for (const x of b) store(x);
    }
    for (let b = 0; b < batches.length; b++) {
      const nodes = batches[b]!;
      for (let i = 0; i < nodes.length; i++) {
        const x = nodes[i]!;
        if (isOld(x)) r.oldAtEnd++;
        if (heap.getI32(x, Node.v) !== b * batch + i) r.mismatches.push(`batch ${b} node ${i}: v is ${heap.getI32(x, Node.v)}`);
        if (heap.getRef(x, Node.next) !== (i > 0 ? nodes[i - 1] : 0)) r.mismatches.push(`batch ${b} node ${i}: next changed`);
        const y = heap.getRef(x, Node.other);
        if (y === 0 || heap.getI32(y, Node.v) !== expected.get(x) || heap.getRef(y, Node.next) !== x) {
          r.mismatches.push(`batch ${b} node ${i}: other is ${y === 0 ? 'null' : `v ${heap.getI32(y, Node.v)}`}, expected v ${expected.get(x)}`);
        }
      }
    }
    return r;
  }),

  buildTree: (depth, keep) => {
    // Every collection this thread runs while it builds (the young budget's minors).
    const events: TreeEvent[] = [];
    let allocated = 0;
    const stop = heap.onGC((e) => events.push({ kind: e.kind, promoted: e.promotedObjects, freed: e.freedObjects, nodesBefore: allocated }));
    const minorsBefore = minorCount();
    try {
      return heap.scope(() => {
        const make = (d: number): number => {
          const x = heap.alloc(Node);
          allocated++;
          heap.setI32(x, Node.v, d);
          if (d > 0) {
            heap.setRef(x, Node.next, make(d - 1));
            heap.setRef(x, Node.other, make(d - 1));
          }
          return x;
        };
        const root = make(depth);
        const check = (x: number, d: number): boolean => {
          if (heap.getI32(x, Node.v) !== d) return false;
          const l = heap.getRef(x, Node.next);
          const r = heap.getRef(x, Node.other);
          if (d === 0) return l === 0 && r === 0;
          return l !== 0 && r !== 0 && check(l, d - 1) && check(r, d - 1);
        };
        const intact = check(root, depth);
        if (keep) keptTree = heap.persist(root);
        return { nodes: allocated, intact, events, minorsGlobal: minorCount() - minorsBefore };
      });
    } finally {
      stop();
    }
  },

  dropTree: () => {
    keptTree?.release();
    keptTree = undefined;
  },

  makeFiles: (base, n, listId, keepAt) => heap.scope(() => {
    const nodes = listNodes(listId);
    const keep = new Set(keepAt);
    for (let i = 0; i < n; i++) {
      const f = heap.alloc(File);
      heap.setI32(f, File.fd, base + i);
      if (keep.has(i)) heap.setRef(nodes[i % nodes.length]!, Node.other, f);
    }
  }),

  runFinalizers: () => {
    heap.runFinalizers();
    const out = { fds: [...finalized.fds], workerIds: [...finalized.workerIds] };
    finalized.fds.length = 0;
    finalized.workerIds.length = 0;
    return out;
  },

  makeWeak: (n, listId, keepAt) => heap.scope(() => {
    const nodes = listNodes(listId);
    const keep = new Set(keepAt);
    const keys: number[] = [];
    for (let i = 0; i < n; i++) {
      const y = heap.alloc(Node);
      heap.setI32(y, Node.v, i);
      if (keep.has(i)) heap.setRef(nodes[i % nodes.length]!, Node.other, y);
      const key = nextWeak++;
      weaks.set(key, heap.weak(y));
      keys.push(key);
    }
    return keys;
  }),

  weakToListHead: (listId) => {
    const key = nextWeak++;
    weaks.set(key, heap.weak(heap.handle(listId).get()));
    return key;
  },

  weakCleared: (keys) => keys.map((k) => weaks.get(k)!.get() === null),

  clearOthers: (listId) => heap.scope(() => {
    for (const x of listNodes(listId)) heap.setRef(x, Node.other, 0);
  }),

  holdUntilKilled: (n, keepId, keepAt, sync) => {
    const flag = new Int32Array(sync);
    heap.scope(() => {
      const keep = heap.root(heap.handle(keepId).get());
      const at = new Map(keepAt.map((i, k) => [i, k]));
      for (let i = 0; i < n; i++) {
        const y = heap.alloc(Node);
        heap.setI32(y, Node.v, i + 1);
        const k = at.get(i);
        if (k !== undefined) heap.setRefAt(keep, k, y);
      }
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      // Running, with every node rooted in this scope, until terminated; polling safepoints
      // so that collections go on (a collection waits at most the 1 ms wait for the next poll).
      // The bound only keeps a forgotten worker from living forever.
      const deadline = Date.now() + WAIT_MS;
      while (Date.now() < deadline) {
        heap.safepoint();
        Atomics.wait(flag, 1, 0, 1);
      }
    });
  },
};

Comlink.expose(api, nodeEndpoint(parentPort!));
