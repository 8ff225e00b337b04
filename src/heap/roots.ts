// Root stacks: one per worker, in a system span of the arena, so the collector reads every
// worker's roots in place at the rendezvous.
//
//   W_ROOT_BASE                       W_ROOT_TOP                W_ROOT_LIMIT
//   v                                 v                         v
//   [ frame 0 ........ | esc | frame 1 ... | free ...................... ]
//
// A scope pushes one escape slot (0 unless `escape` fills it), then every ref allocated or
// rooted inside it. Leaving the scope pops back to the escape slot, keeping it when it holds
// a ref, so the escaped ref stays rooted in the parent frame. Frames are remembered relative
// to W_ROOT_BASE because the stack moves when it grows.
//
// Root-stack spans are freed by the sweep, never by their worker: a stack it outgrew is
// disowned (owner NO_OWNER), a dead worker's stacks are orphaned. A worker killed in the
// middle of growing its stack therefore leaves nothing behind that the next sweep misses.

import type { Thread } from './thread.js';
import { allocSystemSpan } from './allocator.js';
import {
  NO_OWNER, PAGE_LOG, PAGE_TABLE_WORD, PI_OWNER_SHIFT, PT_INFO, PT_WORDS, ROOT_STACK_INITIAL_SLOTS,
  SPAN_HEADER_WORDS, SYS_ROOT_STACK, W_ROOT_BASE, W_ROOT_LIMIT, W_ROOT_SPAN, W_ROOT_TOP,
} from './layout.js';

/** Gives up a root-stack span: the next sweep frees it. Only its head page's entry counts. */
function disownSpan(u32: Uint32Array, span: number): void {
  const pt = PAGE_TABLE_WORD + (span >>> PAGE_LOG) * PT_WORDS + PT_INFO;
  u32[pt] = ((u32[pt]! & 0xffff) | (NO_OWNER << PI_OWNER_SHIFT)) >>> 0;
}

/** Gives a worker a fresh, empty root stack. */
export function createRootStack(t: Thread): void {
  const span = allocSystemSpan(t, ROOT_STACK_INITIAL_SLOTS * 4, SYS_ROOT_STACK);
  const base = (span >>> 2) + SPAN_HEADER_WORDS;
  const u32 = t.u32;
  u32[t.ctl + W_ROOT_SPAN] = span;
  u32[t.ctl + W_ROOT_BASE] = base;
  u32[t.ctl + W_ROOT_TOP] = base;
  u32[t.ctl + W_ROOT_LIMIT] = base + ROOT_STACK_INITIAL_SLOTS;
}

/** Doubles the root stack, moving its contents. Runs only on the owning thread. */
export function growRootStack(t: Thread): void {
  const ctl = t.ctl;
  const oldSpan = t.u32[ctl + W_ROOT_SPAN]!;
  const oldBase = t.u32[ctl + W_ROOT_BASE]!;
  const used = t.u32[ctl + W_ROOT_TOP]! - oldBase;
  const capacity = (t.u32[ctl + W_ROOT_LIMIT]! - oldBase) * 2;
  const span = allocSystemSpan(t, capacity * 4, SYS_ROOT_STACK);
  const u32 = t.u32;
  const base = (span >>> 2) + SPAN_HEADER_WORDS;
  u32.copyWithin(base, oldBase, oldBase + used);
  // The control block switches to the new stack in an order in which the collector, which
  // only reads it while this thread is stopped, sees either stack whole.
  u32[ctl + W_ROOT_BASE] = base;
  u32[ctl + W_ROOT_TOP] = base + used;
  u32[ctl + W_ROOT_LIMIT] = base + capacity;
  u32[ctl + W_ROOT_SPAN] = span;
  disownSpan(u32, oldSpan);
  if (t.depth > 0) t.rootLimit = base + capacity;
}
