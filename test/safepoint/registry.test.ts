// Worker-state transitions a thread makes on itself are CASes from the state it expects,
// so a slot declared dead (by the supervisor, or by terminate() in a browser) never comes
// back to life, whatever the thread does next.

import { describe, expect, test } from 'vitest';
import { Heap, HeapOutOfMemoryError, HeapUsageError } from '../../src/index.js';
import { declareDead } from '../../src/safepoint/registry.js';
import { W_GEN, W_STATE, WS_DEAD, WS_FREE, WS_PARKED, workerWord } from '../../src/heap/layout.js';

function state(heap: Heap, slot: number): number {
  return Atomics.load(new Int32Array(heap.buffer), workerWord(slot) + W_STATE);
}

describe('worker registry', () => {
  test('a worker declared dead inside a scope cannot park again, and stays dead until a collection frees its slot', () => {
    const heap = Heap.create({ size: 4 << 20 });
    const other = Heap.attach(heap.buffer);
    const gen = Atomics.load(new Int32Array(heap.buffer), workerWord(other.workerId) + W_GEN);
    const T = other.defineStruct('T', { v: 'i32' });
    expect(() => other.scope(() => {
      other.alloc(T);
      expect(declareDead(new Int32Array(heap.buffer), other.workerId, gen)).toBe(true);
    })).toThrow(HeapUsageError);
    expect(state(heap, other.workerId)).toBe(WS_DEAD);
    expect(() => other.scope(() => 0)).toThrow(/declared dead/);
    expect(state(heap, other.workerId)).toBe(WS_DEAD);
    heap.collect();
    expect(state(heap, other.workerId)).toBe(WS_FREE);
    expect(heap.verify().errors).toEqual([]);
  });

  test('a death notice with a stale generation does not touch the slot\'s next worker', () => {
    const heap = Heap.create({ size: 4 << 20 });
    const first = Heap.attach(heap.buffer);
    const slot = first.workerId;
    const i32 = new Int32Array(heap.buffer);
    const oldGen = Atomics.load(i32, workerWord(slot) + W_GEN);
    first.detach();
    heap.collect();
    const second = Heap.attach(heap.buffer);
    expect(second.workerId).toBe(slot);
    expect(declareDead(i32, slot, oldGen)).toBe(false);
    expect(second.scope(() => second.workerId)).toBe(slot);
  });
});

describe('slots handed back', () => {
  test('a thread that attaches and detaches 200 times with no collection never runs out of slots', () => {
    const heap = Heap.create({ size: 16 << 20 });
    const Cell = heap.defineStruct('Cell', { v: 'i32' });
    const before = heap.stats().collections.major;
    const kept: number[] = [];
    for (let i = 0; i < 200; i++) {
      const h = Heap.attach(heap.buffer);
      const c = h.defineStruct('Cell', { v: 'i32' });
      kept.push(h.scope(() => {
        const r = h.alloc(c);
        h.setI32(r, c.v, i);
        return h.persist(r).id;
      }));
      h.detach();
      expect(state(heap, h.workerId)).toBe(WS_FREE);
    }
    expect(heap.stats().collections.major).toBe(before);
    expect(heap.verify().errors).toEqual([]);
    // What the detached threads made is still there, on orphan pages.
    heap.scope(() => kept.forEach((id, i) => expect(heap.getI32(heap.handle(id).get(), Cell.v)).toBe(i)));
    expect(heap.stats().pages.orphan).toBeGreaterThan(0);
  });
});

describe('entering a scope', () => {
  test('a root stack that cannot be made (out of memory) leaves the thread parked, so collections do not wait for it', () => {
    const heap = Heap.create({ size: 1 << 20, maxSize: 1 << 20, safepointTimeoutMs: 200 });
    const Big = heap.defineArray('Big', 'u8');
    const Link = heap.defineStruct('Link', { next: 'ref' });
    // Fill the arena with live data until not even a one-page root-stack chunk is left:
    // big objects first, then small ones chained together into every hole.
    const held: { release(): void }[] = [];
    heap.scope(() => {
      for (;;) {
        try {
          held.push(heap.persist(heap.allocArray(Big, 3000)));
        } catch (e) {
          expect(e).toBeInstanceOf(HeapOutOfMemoryError);
          break;
        }
      }
      let chain = heap.alloc(Link);
      held.push(heap.persist(chain));
      for (;;) {
        try {
          const next = heap.alloc(Link);
          heap.setRef(chain, Link.next, next);
          chain = next;
        } catch (e) {
          expect(e).toBeInstanceOf(HeapOutOfMemoryError);
          break;
        }
      }
    });
    const other = Heap.attach(heap.buffer);
    expect(() => other.scope(() => 0)).toThrow(HeapOutOfMemoryError);
    expect(state(heap, other.workerId)).toBe(WS_PARKED);
    expect(heap.collect().kind).toBe('major'); // would time out if `other` were left running
    for (const h of held) h.release();
    heap.collect();
    expect(other.scope(() => other.workerId)).toBe(other.workerId);
    expect(heap.verify().errors).toEqual([]);
  });
});
