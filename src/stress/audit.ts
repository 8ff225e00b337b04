// The end of a fault run: with every worker gone, the heap must be back at its baseline.
//
//   1. Release what is still held: the graphs published in the exchange, and strong
//      handles stranded by a worker killed between persisting a graph and storing its id
//      (there can be at most one per kill that hit a publish; more is a leak).
//   2. Settle: collect until nothing is freed and no finalizer is pending (a finalizable
//      object takes two collections: one queues it, its finalizer runs, the next frees it).
//   3. Check the baseline, each check naming what it found:
//      - object pages (small + large + orphan) ≤ END_OBJECT_PAGES, and no orphan page: the
//        live set is empty, so what is left is a leak (Boehm's gctest checks the same bound);
//      - system pages ≤ the handle table's chunks + the main thread's root stack (one chunk,
//        and the ROOT_SPARES_KEPT spare chunks a live thread may keep);
//      - the arena never grew (it is fixed: a leak shows as a false out-of-memory instead);
//      - no strong or finalization handle left; every weak handle left reads null;
//      - every finalizable object that was made had its finalizer run exactly once, except
//        those whose thread was killed inside the callback (the ledger names them);
//      - every worker slot but the main thread's is free;
//      - verify() finds nothing.

import type { Heap } from '../index.js';
import {
  G_HANDLE_CHUNKS, H_META, H_REF, HANDLE_CHUNK_BYTES, HANDLE_GEN_SHIFT, HANDLE_ID_GEN_FACTOR, HK_FINAL, HK_MASK,
  HK_STRONG, HK_WEAK, MAIN_SLOT, MAX_WORKERS, ROOT_SPARES_KEPT, W_STATE, WORKER_STATE_NAMES, WS_FREE, workerWord,
} from '../heap/layout.js';
import { handleCapacity, handleWord } from '../heap/handles.js';
import { largeSpanPages } from '../heap/allocator.js';
import { FINAL_MADE, FINAL_RUNS_MASK, L_FINAL_RUNS, L_FINAL_UNSET, L_NEXT_ID, LEDGER_IDS, type Ledger } from './ledger.js';

/** Pages objects may still occupy once everything is released and collected. */
export const END_OBJECT_PAGES = 4;
/** Pages of the main thread's root stack: one chunk, and the spares a live thread may keep. */
export const END_ROOT_STACK_PAGES = 1 + ROOT_SPARES_KEPT;
const MAX_SETTLE_ROUNDS = 6;

export interface HandleCensus {
  strong: number[];
  weak: number;
  weakUncleared: number;
  final: number;
}

/** Counts the handle table's entries by kind (ids of the strong ones). No thread may be running. */
export function handleCensus(heap: Heap): HandleCensus {
  const u32 = new Uint32Array(heap.buffer);
  const census: HandleCensus = { strong: [], weak: 0, weakUncleared: 0, final: 0 };
  for (let i = 0; i < handleCapacity(u32); i++) {
    const w = handleWord(u32, i);
    const meta = Atomics.load(u32, w + H_META);
    const kind = meta & HK_MASK;
    if (kind === HK_STRONG) census.strong.push((meta >>> HANDLE_GEN_SHIFT) * HANDLE_ID_GEN_FACTOR + i);
    else if (kind === HK_FINAL) census.final++;
    else if (kind === HK_WEAK) {
      census.weak++;
      if (u32[w + H_REF] !== 0) census.weakUncleared++;
    }
  }
  return census;
}

export interface AuditContext {
  ledger: Ledger;
  /** Handle ids of graphs published in the exchange (already released by the caller). */
  published: Set<number>;
  /** Kills that hit a worker between its persist and its exchange store or release. */
  publishKills: number;
  /** Finalizable ids whose finalizer's thread was killed inside the callback. */
  lostInCallback: Set<number>;
  /** Kills inside a callback before it read its object's id. */
  lostInCallbackUnknown: number;
  /** The arena's fixed size. */
  arenaBytes: number;
}

export interface AuditReport {
  strandedHandles: number;
  settleRounds: number;
  pages: { small: number; large: number; orphan: number; system: number; free: number; objectPages: number; systemBound: number };
  arenaBytes: number;
  handles: HandleCensus & { strongLeft: number };
  finalizers: { made: number; ran: number; ranOnUnsetIds: number; missing: number; repeated: number; forgiven: number };
  workerSlotsInUse: number;
  verify: { ok: boolean; errors: string[]; checkedObjects: number };
  problems: string[];
}

/** Steps 1–3. The caller has released the published graphs and stopped every worker. */
export function auditBaseline(heap: Heap, ctx: AuditContext): AuditReport {
  const problems: string[] = [];

  // 1. Strong handles nobody can name any more.
  const stranded = handleCensus(heap).strong.filter((id) => !ctx.published.has(id));
  for (const id of stranded) heap.handle(id).release();
  if (stranded.length > ctx.publishKills) {
    problems.push(`${stranded.length} persistent handles were held by nobody at the end, but only ${ctx.publishKills} kills hit a publish: handles leak (ids ${stranded.slice(0, 8).join(', ')})`);
  }

  // 2. Settle.
  let rounds = 0;
  for (; rounds < MAX_SETTLE_ROUNDS; rounds++) {
    const e = heap.collect();
    if (e.freedObjects === 0 && e.finalizableObjects === 0 && heap.stats().pendingFinalizers === 0) break;
  }
  if (rounds === MAX_SETTLE_ROUNDS) problems.push(`the heap did not settle: collection ${MAX_SETTLE_ROUNDS} after releasing everything still freed objects or queued finalizers`);

  // 3. The baseline.
  const s = heap.stats();
  const objectPages = s.pages.small + s.pages.large + s.pages.orphan;
  const chunks = new Uint32Array(heap.buffer)[G_HANDLE_CHUNKS]!;
  const systemBound = chunks * largeSpanPages(HANDLE_CHUNK_BYTES) + END_ROOT_STACK_PAGES;
  if (objectPages > END_OBJECT_PAGES) {
    problems.push(`${objectPages} pages still hold objects with nothing live (small ${s.pages.small}, large ${s.pages.large}, orphan ${s.pages.orphan}; at most ${END_OBJECT_PAGES} allowed; ${s.allocatedObjects} objects allocated)`);
  }
  if (s.pages.orphan > 0) problems.push(`${s.pages.orphan} orphan pages left after every worker is gone`);
  if (s.pages.system > systemBound) problems.push(`${s.pages.system} system pages left; the handle table's ${chunks} chunks and the main thread's root stack account for ${systemBound}`);
  if (s.arenaBytes !== ctx.arenaBytes) problems.push(`the fixed-size arena changed size: ${s.arenaBytes} bytes, created with ${ctx.arenaBytes}`);

  const census = handleCensus(heap);
  if (census.strong.length > 0) problems.push(`${census.strong.length} persistent handles still held after releasing everything (ids ${census.strong.slice(0, 8).join(', ')})`);
  if (census.final > 0) problems.push(`${census.final} finalization entries left after the heap settled`);
  if (census.weakUncleared > 0) problems.push(`${census.weakUncleared} of ${census.weak} weak refs left behind still name an object, though nothing is live`);

  const fin = finalizerAudit(ctx, problems, s.finalizersInterrupted);

  const u32 = new Uint32Array(heap.buffer);
  const busy: string[] = [];
  for (let slot = 0; slot < MAX_WORKERS; slot++) {
    const state = Atomics.load(u32, workerWord(slot) + W_STATE);
    if (slot !== MAIN_SLOT && state !== WS_FREE) busy.push(`slot ${slot} ${WORKER_STATE_NAMES[state] ?? state}`);
  }
  if (busy.length > 0) problems.push(`worker slots still in use with every worker gone: ${busy.join(', ')}`);

  const v = heap.verify();
  if (!v.ok) problems.push(`verify() at the end: ${v.errors.slice(0, 5).join('; ')}${v.errors.length > 5 ? ` (and ${v.errors.length - 5} more)` : ''}`);

  return {
    strandedHandles: stranded.length,
    settleRounds: rounds + 1,
    pages: { small: s.pages.small, large: s.pages.large, orphan: s.pages.orphan, system: s.pages.system, free: s.pages.free, objectPages, systemBound },
    arenaBytes: s.arenaBytes,
    handles: { ...census, strongLeft: census.strong.length },
    finalizers: fin,
    workerSlotsInUse: busy.length + 1,
    verify: { ok: v.ok, errors: v.errors, checkedObjects: v.checkedObjects },
    problems,
  };
}

/**
 * Every finalizable object made must have been finalized exactly once, but for the runs the
 * heap counts as interrupted by their thread's death (stats().finalizersInterrupted): those
 * may be lost, never repeated.
 */
function finalizerAudit(ctx: AuditContext, problems: string[], interrupted: number): AuditReport['finalizers'] {
  const { ledger } = ctx;
  const last = Math.min(ledger.count(L_NEXT_ID), LEDGER_IDS);
  let made = 0;
  const missing: number[] = [];
  const repeated: string[] = [];
  for (let id = 1; id < last; id++) {
    const v = Atomics.load(ledger.ids, id);
    const runs = v & FINAL_RUNS_MASK;
    if ((v & FINAL_MADE) !== 0) made++;
    if (runs > 1) repeated.push(`#${id} ran ${runs} times`);
    else if (runs === 0 && (v & FINAL_MADE) !== 0) missing.push(id);
  }
  const unexplained = Math.max(0, missing.length - interrupted);
  if (repeated.length > 0) problems.push(`finalizers ran more than once: ${repeated.slice(0, 8).join(', ')}${repeated.length > 8 ? ` (${repeated.length} in all)` : ''}`);
  if (unexplained > 0) {
    problems.push(`${unexplained} finalizable objects died without their finalizer running (ids ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''}; the heap counts ${interrupted} runs interrupted by kills, ${ctx.lostInCallback.size + ctx.lostInCallbackUnknown} of them seen inside a callback)`);
  }
  return {
    made,
    ran: ledger.count(L_FINAL_RUNS),
    ranOnUnsetIds: ledger.count(L_FINAL_UNSET),
    missing: missing.length,
    repeated: repeated.length,
    forgiven: Math.min(missing.length, interrupted),
  };
}
