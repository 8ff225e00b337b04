// The worker registry: claiming a slot, and the transitions a thread makes on itself
// (park, unpark, stop at a safepoint). The state table and who may make each transition
// are in layout.ts (WS_*); the collector's side is in rendezvous.ts.
//
// Memory ordering: every state change is a sequentially consistent Atomics operation, and
// so is every read of G_GC_OWNER. A thread publishes RUNNING and then reads G_GC_OWNER; the
// collector publishes G_GC_OWNER and then reads every state. Of two such store-then-load
// pairs at least one sees the other's store, so a collector never misses a running thread
// and a thread never runs past a collection that has begun. Plain stores a thread made
// before its state change (root stack, TLAB words) are visible to the collector that reads
// that state, because seq-cst atomics order the plain accesses around them.

import {
  G_ARRIVALS, G_DEATHS, G_EPOCH, G_GC_OWNER, G_WORKER_SEQ, MAX_WORKERS, W_GEN, W_RESERVER, W_STATE, WS_DEAD, WS_FREE, WS_PARKED,
  WS_RESERVED, WS_RUNNING, WS_STOPPED, workerWord,
} from '../heap/layout.js';
import { HeapUsageError } from '../errors.js';

/**
 * Claims a free slot (FREE → RESERVED). Its generation is the one `newGeneration` gave it as
 * it was freed, so no death notice for an earlier occupant matches it. Returns the slot or -1.
 */
export function claimFreeSlot(i32: Int32Array, from: number): number {
  for (let slot = from; slot < MAX_WORKERS; slot++) {
    if (Atomics.compareExchange(i32, workerWord(slot) + W_STATE, WS_FREE, WS_RESERVED) === WS_FREE) return slot;
  }
  return -1;
}

/**
 * Gives a slot a generation no thread has held, before it becomes FREE: a late death notice
 * for the thread that held it (declareDead compares generations) can then never match the
 * next occupant, even before that one has published anything.
 */
export function newGeneration(i32: Int32Array, slot: number): void {
  Atomics.store(i32, workerWord(slot) + W_GEN, takeGeneration(i32));
}

/** A generation stamp no slot has had yet. */
export function takeGeneration(i32: Int32Array): number {
  return (Atomics.add(i32, G_WORKER_SEQ, 1) + 1) & 0xffffff;
}

/** Gives back a slot reserved for a worker that never started (RESERVED → FREE). */
export function releaseReservation(i32: Int32Array, slot: number): void {
  if (Atomics.load(i32, workerWord(slot) + W_STATE) !== WS_RESERVED) return;
  Atomics.store(i32, workerWord(slot) + W_RESERVER, 0);
  newGeneration(i32, slot);
  Atomics.compareExchange(i32, workerWord(slot) + W_STATE, WS_RESERVED, WS_FREE);
}

/** Slots in `state`. */
export function countSlots(i32: Int32Array, state: number): number {
  let n = 0;
  for (let slot = 0; slot < MAX_WORKERS; slot++) if (Atomics.load(i32, workerWord(slot) + W_STATE) === state) n++;
  return n;
}

/** Moves a reserved slot to PARKED once its control block is ready. */
export function publishParked(i32: Int32Array, slot: number, gen: number): void {
  const w = workerWord(slot);
  if ((Atomics.load(i32, w + W_GEN) & 0xffffff) !== (gen & 0xffffff)) {
    throw new HeapUsageError(`worker slot ${slot} was reserved for generation ${gen} but now holds ${Atomics.load(i32, w + W_GEN)}`, { workerId: slot });
  }
  if (Atomics.compareExchange(i32, w + W_STATE, WS_RESERVED, WS_PARKED) !== WS_RESERVED) {
    throw new HeapUsageError(`worker slot ${slot} is ${Atomics.load(i32, w + W_STATE)}, not reserved: it was declared dead before it attached`, { workerId: slot });
  }
}

/** Tells a collector waiting at the rendezvous that some worker's state changed. */
export function announceArrival(i32: Int32Array): void {
  Atomics.add(i32, G_ARRIVALS, 1);
  Atomics.notify(i32, G_ARRIVALS);
}

/** What a waiting thread does when the collector it waits for turns out to be dead. */
export interface PauseWaiter {
  readonly i32: Int32Array;
  readonly slot: number;
  readonly canBlock: boolean;
  /** Called when the collector's slot is dead: take the collection over, or return. */
  collectorDied(owner: number): void;
}

const SPIN_ROUNDS = 200;
const WAIT_SLICE_MS = 20;

/**
 * Waits until the epoch moves past `epoch` (the pause ends), spinning briefly, then
 * blocking in slices. Between slices it checks that the collector is still alive.
 */
export function waitForPauseEnd(w: PauseWaiter, epoch: number): void {
  const i32 = w.i32;
  for (let spin = 0; spin < SPIN_ROUNDS; spin++) {
    if (Atomics.load(i32, G_EPOCH) !== epoch) return;
  }
  const ctl = workerWord(w.slot);
  for (;;) {
    if (Atomics.load(i32, G_EPOCH) !== epoch) return;
    if (w.canBlock) Atomics.wait(i32, G_EPOCH, epoch, WAIT_SLICE_MS);
    if (Atomics.load(i32, G_EPOCH) !== epoch) return;
    const owner = Atomics.load(i32, G_GC_OWNER);
    if (owner === 0) return; // the collector ended the pause but died before the epoch bump
    if (Atomics.load(i32, workerWord(owner - 1) + W_STATE) === WS_DEAD) {
      w.collectorDied(owner);
    } else if (Atomics.compareExchange(i32, ctl + W_STATE, WS_RUNNING, WS_STOPPED) === WS_RUNNING) {
      // A collector that died half-way through its resume set this thread running, and a
      // new collector now waits for it: stop again.
      announceArrival(i32);
    }
  }
}

/**
 * RUNNING → STOPPED at a safepoint while a collection is requested, then waits for the
 * pause to end. The collector sets the state back to RUNNING before it ends the pause.
 */
export function stopAtSafepoint(w: PauseWaiter): void {
  const i32 = w.i32;
  const ctl = workerWord(w.slot);
  for (;;) {
    const epoch = Atomics.load(i32, G_EPOCH);
    if (Atomics.load(i32, G_GC_OWNER) === 0) return;
    if (Atomics.compareExchange(i32, ctl + W_STATE, WS_RUNNING, WS_STOPPED) !== WS_RUNNING) {
      throw new HeapUsageError(`worker ${w.slot} reached a safepoint while ${Atomics.load(i32, ctl + W_STATE)}, not running`, { workerId: w.slot });
    }
    announceArrival(i32);
    waitForPauseEnd(w, epoch);
    // A takeover collector may have ended the pause with this thread still stopped.
    Atomics.compareExchange(i32, ctl + W_STATE, WS_STOPPED, WS_RUNNING);
  }
}

/** PARKED → RUNNING, waiting first for any collection in progress. */
export function unpark(w: PauseWaiter): void {
  const i32 = w.i32;
  const ctl = workerWord(w.slot);
  for (;;) {
    const epoch = Atomics.load(i32, G_EPOCH);
    const was = Atomics.compareExchange(i32, ctl + W_STATE, WS_PARKED, WS_RUNNING);
    if (was !== WS_PARKED) {
      throw new HeapUsageError(`worker ${w.slot} cannot enter a scope: it is ${was === WS_DEAD ? 'detached or declared dead' : `in state ${was}`}`, { workerId: w.slot });
    }
    const owner = Atomics.load(i32, G_GC_OWNER);
    if (owner === 0 || owner === w.slot + 1) return;
    // A collection is on: step back to PARKED and wait for its end.
    park(i32, w.slot);
    waitForPauseEnd(w, epoch);
  }
}

/**
 * RUNNING → PARKED. A collector waiting at the rendezvous is told. A CAS, like every
 * transition a worker makes on itself, so that a slot declared dead never comes back.
 */
export function park(i32: Int32Array, slot: number): void {
  const was = Atomics.compareExchange(i32, workerWord(slot) + W_STATE, WS_RUNNING, WS_PARKED);
  if (was !== WS_RUNNING) {
    throw new HeapUsageError(`worker ${slot} cannot park: it is ${was === WS_DEAD ? 'detached or declared dead' : `in state ${was}`}`, { workerId: slot });
  }
  if (Atomics.load(i32, G_GC_OWNER) !== 0) announceArrival(i32);
}

/** Declares a slot dead if it still holds generation `gen` (used by the supervisor and detach). */
export function declareDead(i32: Int32Array, slot: number, gen: number): boolean {
  const w = workerWord(slot);
  for (;;) {
    if ((Atomics.load(i32, w + W_GEN) & 0xffffff) !== (gen & 0xffffff)) return false;
    const state = Atomics.load(i32, w + W_STATE);
    if (state === WS_FREE || state === WS_DEAD) return false;
    if (Atomics.compareExchange(i32, w + W_STATE, state, WS_DEAD) === state) break;
  }
  Atomics.add(i32, G_DEATHS, 1);
  announceArrival(i32);
  Atomics.notify(i32, G_EPOCH);
  return true;
}
