// Roots: scope frames, escape, root(), throwing scopes, root-stack growth, persistent
// handles (ids, lookup, release, no id reuse) and weak refs.
import { describe, expect, it } from 'vitest';
import { Heap, type Persistent, HeapUsageError, InvalidRefError, ScopeError, StaleRefError, type WeakHandle } from '../../src/index.js';
import { PAGE_BYTES, PK_FREE, ROOT_CHUNK_SLOTS, ROOT_SPARES_KEPT, workerWord } from '../../src/heap/layout.js';
import { infoKind, pageInfo } from '../../src/heap/spans.js';
import { RootChunkWalker } from '../../src/heap/roots.js';

const MiB = 1 << 20;

function setup(size = 4 * MiB) {
  const heap = Heap.create({ size });
  const Node = heap.defineStruct('RNode', { next: 'ref', tag: 'i32' });
  return { heap, Node };
}

/** Slots in use on this worker's root stack, over all its chunks. */
function rootDepth(heap: Heap): number {
  const u32 = new Uint32Array(heap.buffer);
  let depth = 0;
  for (const w = new RootChunkWalker().reset(u32, workerWord(heap.workerId), 1 << 20); w.next();) depth += w.to - w.from;
  return depth;
}

describe('scopes', () => {
  it('objects allocated in a scope survive a collect() inside it and die after it ends', () => {
    const { heap, Node } = setup();
    const weaks: WeakHandle[] = [];
    const refs: number[] = [];
    heap.scope(() => {
      for (let i = 0; i < 100; i++) {
        const n = heap.alloc(Node);
        heap.setI32(n, Node.tag, i);
        refs.push(n);
        weaks.push(heap.weak(n));
      }
      const ev = heap.collect();
      expect(ev.freedObjects).toBe(0);
      refs.forEach((r, i) => {
        expect(weaks[i]!.get()).toBe(r);
        expect(heap.getI32(r, Node.tag)).toBe(i);
      });
    });
    expect(heap.running).toBe(false);
    const ev = heap.collect();
    expect(ev.freedObjects).toBe(100);
    for (const w of weaks) expect(w.get()).toBeNull();
    expect(() => heap.getI32(refs[0]!, Node.tag)).toThrow(StaleRefError);
  });

  it('nested scopes: an inner frame dies at its end, the outer one lives on', () => {
    const { heap, Node } = setup();
    heap.scope(() => {
      const outer = heap.alloc(Node);
      const depth = rootDepth(heap);
      let wInner: WeakHandle | undefined;
      heap.scope(() => {
        wInner = heap.weak(heap.alloc(Node));
        expect(rootDepth(heap)).toBeGreaterThan(depth);
      });
      expect(rootDepth(heap)).toBe(depth);
      heap.collect();
      expect(wInner!.get()).toBeNull();
      expect(heap.getRef(outer, Node.next)).toBe(0);
    });
    expect(rootDepth(heap)).toBe(0);
  });

  it('escape keeps one ref alive in the parent scope, and only while the parent lives', () => {
    const { heap, Node } = setup();
    let wKept: WeakHandle | undefined;
    let wOther: WeakHandle | undefined;
    heap.scope(() => {
      const kept = heap.scope(() => {
        const a = heap.alloc(Node);
        const b = heap.alloc(Node);
        heap.setI32(a, Node.tag, 11);
        wKept = heap.weak(a);
        wOther = heap.weak(b);
        return heap.escape(a);
      });
      expect(wKept!.get()).toBe(kept);
      heap.collect();
      expect(wKept!.get()).toBe(kept);
      expect(wOther!.get()).toBeNull();
      expect(heap.getI32(kept, Node.tag)).toBe(11);
      // A later sibling scope does not disturb the escaped ref.
      heap.scope(() => {
        for (let i = 0; i < 10; i++) heap.alloc(Node);
      });
      heap.collect();
      expect(heap.getI32(kept, Node.tag)).toBe(11);
    });
    heap.collect();
    expect(wKept!.get()).toBeNull();
  });

  it('escape returns its argument and escaping null is allowed; a second escape of another ref throws, the first stays rooted', () => {
    const { heap, Node } = setup();
    heap.scope(() => {
      let wa: WeakHandle | undefined;
      let wb: WeakHandle | undefined;
      const r = heap.scope(() => {
        const a = heap.alloc(Node);
        const b = heap.alloc(Node);
        wa = heap.weak(a);
        wb = heap.weak(b);
        expect(heap.escape(a)).toBe(a);
        expect(heap.escape(a)).toBe(a); // the same ref again is fine
        expect(() => heap.escape(b)).toThrow(ScopeError);
        return a;
      });
      heap.collect();
      expect(wa!.get()).toBe(r);
      expect(wb!.get()).toBeNull();
      expect(heap.scope(() => heap.escape(0))).toBe(0);
    });
  });

  it('escaped refs from many child scopes stay rooted in the parent', () => {
    const { heap, Node } = setup();
    heap.scope(() => {
      const kept: number[] = [];
      for (let i = 0; i < 50; i++) {
        kept.push(heap.scope(() => {
          const n = heap.alloc(Node);
          heap.alloc(Node); // garbage
          heap.setI32(n, Node.tag, i);
          return heap.escape(n);
        }));
      }
      const ev = heap.collect();
      expect(ev.freedObjects).toBe(50);
      kept.forEach((r, i) => expect(heap.getI32(r, Node.tag)).toBe(i));
    });
  });

  it('root() roots an existing ref in the current scope', () => {
    const { heap, Node } = setup();
    const ref = heap.scope(() => heap.escape(heap.alloc(Node)));
    const p = heap.persist(ref);
    const w = heap.weak(ref);
    heap.scope(() => {
      expect(heap.root(ref)).toBe(ref);
      p.release();
      heap.collect();
      expect(w.get()).toBe(ref);
      expect(heap.root(0)).toBe(0);
    });
    heap.collect();
    expect(w.get()).toBeNull();
  });

  it('escape() and root() outside a scope throw ScopeError; bad refs are rejected', () => {
    const { heap, Node } = setup();
    const ref = heap.scope(() => heap.escape(heap.alloc(Node)));
    const p = heap.persist(ref);
    expect(() => heap.escape(ref)).toThrow(ScopeError);
    expect(() => heap.root(ref)).toThrow(ScopeError);
    heap.scope(() => {
      expect(() => heap.root(ref + 4)).toThrow(InvalidRefError);
      expect(() => heap.escape(ref + 8)).toThrow(InvalidRefError);
    });
    p.release();
  });

  it('a scope that throws pops its frame; its objects die at the next collect', () => {
    const { heap, Node } = setup();
    let w: WeakHandle | undefined;
    expect(() =>
      heap.scope(() => {
        w = heap.weak(heap.alloc(Node));
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(heap.running).toBe(false);
    expect(rootDepth(heap)).toBe(0);
    heap.collect();
    expect(w!.get()).toBeNull();

    heap.scope(() => {
      const outer = heap.alloc(Node);
      const depth = rootDepth(heap);
      let wi: WeakHandle | undefined;
      try {
        heap.scope(() => {
          wi = heap.weak(heap.alloc(Node));
          heap.scope(() => {
            heap.alloc(Node);
            throw new RangeError('deep');
          });
        });
      } catch (e) {
        expect(e).toBeInstanceOf(RangeError);
      }
      expect(rootDepth(heap)).toBe(depth);
      expect(heap.running).toBe(true);
      heap.collect();
      expect(wi!.get()).toBeNull();
      expect(heap.getI32(outer, Node.tag)).toBe(0);
    });
    expect(heap.verify().ok).toBe(true);
  });

  it('a scope holds 2 million refs (the root stack grows chunk by chunk) and they all survive a collect', () => {
    const heap = Heap.create({ size: 96 * MiB });
    const Node = heap.defineStruct('Many', { tag: 'i32' });
    const N = 2_000_000;
    let systemInside = 0;
    heap.scope(() => {
      const first = heap.alloc(Node);
      heap.setI32(first, Node.tag, -1);
      let last = 0;
      for (let i = 1; i < N; i++) last = heap.alloc(Node);
      heap.setI32(last, Node.tag, -2);
      expect(rootDepth(heap)).toBeGreaterThanOrEqual(N);
      const ev = heap.collect();
      systemInside = heap.stats().pages.system;
      expect(systemInside).toBeGreaterThanOrEqual(Math.ceil(N / ROOT_CHUNK_SLOTS));
      expect(ev.markedObjects).toBe(N);
      expect(ev.freedObjects).toBe(0);
      expect(heap.getI32(first, Node.tag)).toBe(-1);
      expect(heap.getI32(last, Node.tag)).toBe(-2);
      // A nested scope that crosses into a new chunk pops back to the right place.
      const depth = rootDepth(heap);
      heap.scope(() => { for (let i = 0; i < 3 * ROOT_CHUNK_SLOTS; i++) heap.alloc(Node); });
      expect(rootDepth(heap)).toBe(depth);
    });
    expect(rootDepth(heap)).toBe(0);
    const ev = heap.collect();
    expect(ev.freedObjects).toBe(N + 3 * ROOT_CHUNK_SLOTS); // and those of the nested scope
    expect(heap.verify().errors).toEqual([]);
    // The chunks the scope grew into became spares; the collection kept ROOT_SPARES_KEPT of
    // them beside the bottom chunk and freed the rest.
    expect(heap.stats().pages.system).toBe(1 + ROOT_SPARES_KEPT);
  });

  it('a long scope on a fragmented heap grows its root stack in one-page chunks', () => {
    const heap = Heap.create({ size: 4 * MiB, maxSize: 4 * MiB });
    const Node = heap.defineStruct('Frag', { tag: 'i32' });
    const Big = heap.defineArray('FragBig', 'u8');
    // Two-page objects, every other one kept: no free run is longer than two pages (a
    // stack that doubled into one span would need 16 contiguous pages for 40 000 refs).
    const kept: Persistent[] = [];
    const pairs = Math.floor(heap.stats().pages.free / 2) - 8;
    heap.scope(() => {
      for (let i = 0; i < pairs; i++) {
        const a = heap.allocArray(Big, 7500);
        if (i % 2 === 0) kept.push(heap.persist(a));
      }
    });
    heap.collect();
    let longestRun = 0;
    let run = 0;
    const u32 = new Uint32Array(heap.buffer);
    for (let p = 0; p < heap.buffer.byteLength / PAGE_BYTES; p++) {
      run = infoKind(pageInfo(u32, p)) === PK_FREE ? run + 1 : 0;
      longestRun = Math.max(longestRun, run);
    }
    expect(longestRun).toBeLessThan(16);
    const n = 40_000;
    heap.scope(() => {
      for (let i = 0; i < n; i++) heap.alloc(Node);
      expect(rootDepth(heap)).toBeGreaterThanOrEqual(n);
    });
    for (const p of kept) p.release();
    expect(heap.verify().errors).toEqual([]);
  });
});

describe('persistent handles', () => {
  it('persist, get, handle(id) and release', () => {
    const { heap, Node } = setup();
    const ref = heap.scope(() => {
      const n = heap.alloc(Node);
      heap.setI32(n, Node.tag, 5);
      return heap.escape(n);
    });
    const p = heap.persist(ref);
    expect(typeof p.id).toBe('number');
    expect(Number.isSafeInteger(p.id)).toBe(true);
    expect(p.get()).toBe(ref);
    expect(heap.handle(p.id).get()).toBe(ref);
    heap.collect();
    expect(heap.getI32(p.get(), Node.tag)).toBe(5);
    // A handle found by id releases the same root.
    heap.handle(p.id).release();
    expect(() => p.get()).toThrow(HeapUsageError);
    expect(() => p.release()).toThrow(HeapUsageError);
    expect(() => heap.handle(p.id)).toThrow(HeapUsageError);
    heap.collect();
    expect(() => heap.getI32(ref, Node.tag)).toThrow(StaleRefError);
  });

  it('a persistent root keeps the whole graph it reaches', () => {
    const { heap, Node } = setup();
    const head = heap.scope(() => {
      let list = 0;
      for (let i = 0; i < 1000; i++) {
        const n = heap.alloc(Node);
        heap.setRef(n, Node.next, list);
        heap.setI32(n, Node.tag, i);
        list = n;
      }
      return heap.escape(list);
    });
    const p = heap.persist(head);
    const ev = heap.collect();
    expect(ev.markedObjects).toBe(1000);
    let i = 999;
    for (let r = p.get(); r !== 0; r = heap.getRef(r, Node.next)) expect(heap.getI32(r, Node.tag)).toBe(i--);
    expect(i).toBe(-1);
    p.release();
    expect(heap.collect().freedObjects).toBe(1000);
  });

  it('ids of released handles are never reused for a new handle', () => {
    const { heap, Node } = setup();
    const ref = heap.scope(() => heap.escape(heap.alloc(Node)));
    const ids = new Set<number>();
    const anchor = heap.persist(ref);
    for (let i = 0; i < 300; i++) {
      const p = heap.persist(ref);
      expect(ids.has(p.id)).toBe(false);
      ids.add(p.id);
      p.release();
    }
    // Many at once, then all released, then many again.
    const batch = Array.from({ length: 2000 }, () => heap.persist(ref));
    for (const p of batch) {
      expect(ids.has(p.id)).toBe(false);
      ids.add(p.id);
    }
    for (const p of batch) p.release();
    const again = Array.from({ length: 2000 }, () => heap.persist(ref));
    for (const p of again) expect(ids.has(p.id)).toBe(false);
    // A stale id never reaches the handle that reuses its entry.
    for (const id of [...ids].slice(0, 50)) expect(() => heap.handle(id)).toThrow(HeapUsageError);
    for (const p of again) p.release();
    expect(anchor.get()).toBe(ref);
    anchor.release();
    expect(heap.verify().ok).toBe(true);
  });

  it('handle() rejects ids that were never made', () => {
    const { heap } = setup();
    for (const id of [-1, 1.5, Number.NaN, 2 ** 60, 123456789]) expect(() => heap.handle(id)).toThrow(HeapUsageError);
  });

  it('persist and weak reject refs that are not live objects', () => {
    const { heap, Node } = setup();
    const ref = heap.scope(() => heap.escape(heap.alloc(Node)));
    expect(() => heap.persist(ref + 8)).toThrow(InvalidRefError);
    expect(() => heap.weak(3)).toThrow(InvalidRefError);
    heap.collect();
    expect(() => heap.persist(ref)).toThrow(StaleRefError);
    expect(heap.running).toBe(false);
  });
});

describe('weak refs', () => {
  it('are kept while the target lives and cleared when it dies', () => {
    const { heap, Node } = setup();
    const ref = heap.scope(() => heap.escape(heap.alloc(Node)));
    const p = heap.persist(ref);
    const w = heap.weak(ref);
    const w2 = heap.weak(ref);
    expect(w.get()).toBe(ref);
    for (let i = 0; i < 3; i++) {
      heap.collect();
      expect(w.get()).toBe(ref);
    }
    p.release();
    expect(w.get()).toBe(ref); // not collected yet
    heap.collect();
    expect(w.get()).toBeNull();
    expect(w2.get()).toBeNull();
    w.release();
    expect(() => w.get()).toThrow(HeapUsageError);
    expect(w2.get()).toBeNull();
  });

  it('do not keep their target alive, even when they are the only thing that points at it', () => {
    const { heap, Node } = setup();
    const weaks = heap.scope(() => {
      const ws: WeakHandle[] = [];
      for (let i = 0; i < 200; i++) ws.push(heap.weak(heap.alloc(Node)));
      return ws;
    });
    const ev = heap.collect();
    expect(ev.markedObjects).toBe(0);
    expect(ev.freedObjects).toBe(200);
    for (const w of weaks) expect(w.get()).toBeNull();
  });

  it('a target reachable through another object stays; a weak id is not a persistent handle', () => {
    const { heap, Node } = setup();
    const [a, b] = heap.scope(() => {
      const x = heap.alloc(Node);
      const y = heap.alloc(Node);
      heap.setRef(x, Node.next, y);
      return [heap.escape(x), y];
    });
    const p = heap.persist(a!);
    const wb = heap.weak(b!);
    heap.collect();
    expect(wb.get()).toBe(b);
    expect(() => heap.handle(wb.id)).toThrow(HeapUsageError);
    heap.scope(() => heap.setRef(a!, Node.next, 0));
    heap.collect();
    expect(wb.get()).toBeNull();
    p.release();
  });
});
