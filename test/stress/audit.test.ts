// The end-of-run audit of fault runs, both ways: a heap that is back at its baseline
// passes, and each kind of leak it exists to catch is reported by name.

import { describe, expect, test } from 'vitest';
import { Heap } from '../../src/index.js';
import { auditBaseline, type AuditContext } from '../../src/stress/audit.js';
import { Ledger, createLedger } from '../../src/stress/ledger.js';
import { countFinalizers, finalizableChurn, ledgerIds } from '../../src/stress/faults.js';
import { SHAPE_BUNDLE, SHAPE_TREE, buildGraph, defineGraphTypes } from '../../src/stress/graphs.js';
import { G_FINAL_INTERRUPTED } from '../../src/heap/layout.js';

const MiB = 1 << 20;

function setup(finalizers: 'counted' | 'none' = 'counted') {
  const heap = Heap.create({ size: 8 * MiB, maxSize: 8 * MiB });
  const t = defineGraphTypes(heap);
  const ledger = new Ledger(createLedger());
  if (finalizers === 'counted') countFinalizers(heap, t, ledger, 0);
  const ctx = (over: Partial<AuditContext> = {}): AuditContext => ({
    ledger, published: new Set(), publishKills: 0, lostInCallback: new Set(), lostInCallbackUnknown: 0, arenaBytes: 8 * MiB, ...over,
  });
  return { heap, t, ledger, ctx };
}

describe('auditBaseline', () => {
  test('passes once everything is released: pages, handles, finalizers, slots, verify', () => {
    const { heap, t, ledger, ctx } = setup();
    const ids = ledgerIds(ledger);
    for (let i = 0; i < 20; i++) finalizableChurn(heap, t, ids, 8);
    const p = heap.scope(() => heap.persist(buildGraph(heap, t, SHAPE_BUNDLE, 10, 1, 0, ids)));
    heap.scope(() => heap.weak(heap.alloc(t.Node)));
    p.release();
    const a = auditBaseline(heap, ctx());
    expect(a.problems).toEqual([]);
    expect(a.finalizers).toMatchObject({ made: 170, ran: 170, missing: 0, repeated: 0 });
    expect(a.pages.objectPages).toBe(0);
    expect(a.handles).toMatchObject({ strongLeft: 0, final: 0, weak: 1, weakUncleared: 0 });
    expect(a.workerSlotsInUse).toBe(1);
  });

  test('a graph still held at the end: the handle and the pages it keeps are named', () => {
    const { heap, t, ctx } = setup();
    const p = heap.scope(() => heap.persist(buildGraph(heap, t, SHAPE_TREE, 4000, 1, 0)));
    const a = auditBaseline(heap, ctx({ published: new Set([p.id]) }));
    expect(a.problems).toEqual([
      expect.stringMatching(/pages still hold objects with nothing live/),
      expect.stringMatching(/^1 persistent handles still held after releasing everything/),
    ]);
  });

  test('a handle nobody can name is released, and reported unless a kill inside a publish explains it', () => {
    const { heap, t, ctx } = setup();
    heap.scope(() => heap.persist(heap.alloc(t.Node)));
    const explained = auditBaseline(heap, ctx({ publishKills: 1 }));
    expect(explained.problems).toEqual([]);
    expect(explained.strandedHandles).toBe(1);
    heap.scope(() => heap.persist(heap.alloc(t.Node)));
    heap.scope(() => heap.persist(heap.alloc(t.Node)));
    expect(auditBaseline(heap, ctx({ publishKills: 1 })).problems).toEqual([
      expect.stringMatching(/^2 persistent handles were held by nobody at the end, but only 1 kills hit a publish/),
    ]);
  });

  test('finalizable objects freed without their finalizer are counted, except the runs the heap counts as interrupted by kills', () => {
    const { heap, t, ledger, ctx } = setup('none');
    finalizableChurn(heap, t, ledgerIds(ledger), 5); // ids 1-5, and no callback registered
    expect(auditBaseline(heap, ctx()).problems).toEqual([
      expect.stringMatching(/^5 finalizable objects died without their finalizer running \(ids 1, 2, 3, 4, 5;/),
    ]);
    // As if two finalizer threads had been killed inside their runs (recover.ts counts them).
    new Uint32Array(heap.buffer)[G_FINAL_INTERRUPTED] = 2;
    const again = auditBaseline(heap, ctx());
    expect(again.problems).toEqual([expect.stringMatching(/^3 finalizable objects died without their finalizer running/)]);
    expect(again.finalizers.forgiven).toBe(2);
  });

  test('a worker slot still attached is named', () => {
    const { heap, ctx } = setup();
    const other = Heap.attach(heap.buffer); // parked: attached and never detached
    expect(auditBaseline(heap, ctx()).problems).toEqual([`worker slots still in use with every worker gone: slot ${other.workerId} parked`]);
  });
});
