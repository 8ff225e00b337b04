// Pins the arena layout of src/heap/layout.ts: the header regions chain without gaps or
// overlaps, every per-record word index fits its record, bit fields do not collide, and the
// derived sizes (span header, worker block, header pages) hold what they must.
import { describe, expect, it } from 'vitest';
import * as L from '../../src/heap/layout.js';
import { headInfo, tailInfo } from '../../src/heap/spans.js';
import { CLASS_SLOTS, NUM_SIZE_CLASSES } from '../../src/heap/sizeclasses.js';

/** Every exported numeric constant whose name starts with `prefix`. */
function constants(prefix: string, exclude: readonly string[] = []): [string, number][] {
  return Object.entries(L)
    .filter(([k, v]) => k.startsWith(prefix) && typeof v === 'number' && !exclude.includes(k))
    .map(([k, v]) => [k, v as number]);
}

describe('page geometry', () => {
  it('pages are 4 KiB and the page constants agree', () => {
    expect(L.PAGE_BYTES).toBe(4096);
    expect(1 << L.PAGE_LOG).toBe(L.PAGE_BYTES);
    expect(L.PAGE_MASK).toBe(L.PAGE_BYTES - 1);
    expect(L.PAGE_WORDS * 4).toBe(L.PAGE_BYTES);
  });

  it('the arena bounds are page multiples and refs fit a u32', () => {
    expect(L.MIN_ARENA_BYTES).toBe(1 << 20);
    expect(L.MAX_ARENA_BYTES % L.PAGE_BYTES).toBe(0);
    expect(L.MAX_ARENA_BYTES).toBeLessThan(2 ** 32);
  });
});

describe('header regions', () => {
  it('chain in order, each starting where the previous one ends', () => {
    expect(L.PAUSE_RING_WORD).toBe(L.GLOBAL_WORDS);
    expect(L.WORKER_TABLE_WORD).toBe(L.PAUSE_RING_WORD + L.PAUSE_RING_SIZE);
    expect(L.TYPE_TABLE_WORD).toBe(L.WORKER_TABLE_WORD + L.MAX_WORKERS * L.WORKER_WORDS);
    expect(L.REFMAP_WORD).toBe(L.TYPE_TABLE_WORD + L.MAX_TYPES * L.TYPE_WORDS);
    expect(L.HANDLE_DIR_WORD).toBe(L.REFMAP_WORD + L.REFMAP_WORDS);
    expect(L.NAMES_BYTE).toBe((L.HANDLE_DIR_WORD + L.HANDLE_CHUNKS_MAX) * 4);
    expect(L.PAGE_TABLE_WORD * 4).toBe(L.NAMES_BYTE + L.NAMES_BYTES);
  });

  it('regions do not overlap (as byte intervals)', () => {
    const regions: [string, number, number][] = [
      ['globals', 0, L.GLOBAL_WORDS * 4],
      ['pause ring', L.PAUSE_RING_WORD * 4, (L.PAUSE_RING_WORD + L.PAUSE_RING_SIZE) * 4],
      ['worker table', L.WORKER_TABLE_WORD * 4, (L.WORKER_TABLE_WORD + L.MAX_WORKERS * L.WORKER_WORDS) * 4],
      ['type table', L.TYPE_TABLE_WORD * 4, (L.TYPE_TABLE_WORD + L.MAX_TYPES * L.TYPE_WORDS) * 4],
      ['refmap', L.REFMAP_WORD * 4, (L.REFMAP_WORD + L.REFMAP_WORDS) * 4],
      ['handle directory', L.HANDLE_DIR_WORD * 4, (L.HANDLE_DIR_WORD + L.HANDLE_CHUNKS_MAX) * 4],
      ['names', L.NAMES_BYTE, L.NAMES_BYTE + L.NAMES_BYTES],
    ];
    const lay = L.arenaLayout(4096);
    regions.push(['page table', lay.pageTableWord * 4, (lay.pageTableWord + lay.maxPages * L.PT_WORDS) * 4]);
    regions.push(['free bitmap', lay.freeBitmapWord * 4, (lay.freeBitmapWord + lay.freeBitmapWords) * 4]);
    for (let i = 0; i < regions.length; i++) {
      const [name, start, end] = regions[i]!;
      expect(end, name).toBeGreaterThan(start);
      if (i > 0) expect(start, `${name} starts after ${regions[i - 1]![0]}`).toBeGreaterThanOrEqual(regions[i - 1]![2]);
    }
    expect(regions[regions.length - 1]![2]).toBeLessThanOrEqual(lay.headerBytes);
  });

  it('workerWord and typeWord index their tables', () => {
    expect(L.workerWord(0)).toBe(L.WORKER_TABLE_WORD);
    expect(L.workerWord(L.MAX_WORKERS - 1) + L.WORKER_WORDS).toBe(L.TYPE_TABLE_WORD);
    expect(L.typeWord(0)).toBe(L.TYPE_TABLE_WORD);
    expect(L.typeWord(L.MAX_TYPES - 1) + L.TYPE_WORDS).toBe(L.REFMAP_WORD);
  });
});

describe('arenaLayout', () => {
  const cases = [256, 257, 4096, 16384, 65536, Math.floor(L.MAX_ARENA_BYTES / L.PAGE_BYTES)];

  it.each(cases)('maxPages %i: page table, free bitmap and remembered set follow the fixed header; headerBytes is page-aligned', (maxPages) => {
    const lay = L.arenaLayout(maxPages);
    expect(lay.maxPages).toBe(maxPages);
    expect(lay.pageTableWord).toBe(L.PAGE_TABLE_WORD);
    expect(lay.freeBitmapWord).toBe(L.PAGE_TABLE_WORD + maxPages * L.PT_WORDS);
    expect(lay.freeBitmapWords * 32).toBeGreaterThanOrEqual(maxPages);
    expect(lay.freeBitmapWords * 32 - maxPages).toBeLessThan(32);
    expect(lay.headerBytes % L.PAGE_BYTES).toBe(0);
    expect(lay.remsetWord).toBe(lay.freeBitmapWord + lay.freeBitmapWords);
    expect(lay.headerBytes).toBeGreaterThanOrEqual((lay.remsetWord + lay.freeBitmapWords) * 4);
    expect(lay.headerBytes - (lay.remsetWord + lay.freeBitmapWords) * 4).toBeLessThan(L.PAGE_BYTES);
    expect(lay.headerPages * L.PAGE_BYTES).toBe(lay.headerBytes);
  });

  it('the header of a 1 MiB arena leaves room for pages', () => {
    const lay = L.arenaLayout(L.MIN_ARENA_BYTES / L.PAGE_BYTES);
    expect(lay.headerBytes).toBeLessThan(L.MIN_ARENA_BYTES / 2);
  });
});

describe('globals', () => {
  const globals = constants('G_');

  it('every G_* word is below GLOBAL_WORDS, including the central list heads', () => {
    expect(globals.length).toBeGreaterThan(20);
    for (const [name, word] of globals) {
      const words = name === 'G_CENTRAL' ? [word, word + L.NUM_ALLOC_CLASSES - 1] : [word];
      for (const w of words) {
        expect(w, name).toBeGreaterThanOrEqual(0);
        expect(w, name).toBeLessThan(L.GLOBAL_WORDS);
      }
    }
    expect(L.GLOBAL_WORDS).toBeGreaterThan(L.G_CENTRAL + L.NUM_ALLOC_CLASSES);
  });

  it('no two globals share a word', () => {
    const owner = new Map<number, string>();
    for (const [name, word] of globals) {
      const words = name === 'G_CENTRAL' ? Array.from({ length: L.NUM_ALLOC_CLASSES }, (_, c) => word + c) : [word];
      for (const w of words) {
        expect(owner.get(w), `${name} collides at word ${w}`).toBeUndefined();
        owner.set(w, name);
      }
    }
  });

  it('NUM_ALLOC_CLASSES is every size class and its finalizable twin', () => {
    expect(L.NUM_ALLOC_CLASSES).toBe(NUM_SIZE_CLASSES * 2);
  });
});

describe('worker control block', () => {
  it('holds its scalar words, the empty TLAB and one TLAB per allocation class', () => {
    const scalars = constants('W_', ['W_NO_TLAB', 'W_TLAB']);
    for (const [name, w] of scalars) expect(w, name).toBeLessThan(L.W_NO_TLAB);
    expect(L.W_NO_TLAB + L.TLAB_WORDS).toBeLessThanOrEqual(L.W_TLAB);
    expect(L.WORKER_WORDS).toBeGreaterThanOrEqual(L.W_TLAB + L.NUM_ALLOC_CLASSES * L.TLAB_WORDS);
    expect(new Set(scalars.map(([, w]) => w)).size).toBe(scalars.length);
  });

  it('TLAB fields are distinct and fit TLAB_WORDS', () => {
    const f = [L.TLAB_CURSOR, L.TLAB_LIMIT, L.TLAB_START];
    expect(new Set(f).size).toBe(3);
    for (const w of f) expect(w).toBeLessThan(L.TLAB_WORDS);
  });

  it('worker states are distinct and named', () => {
    const states = [L.WS_FREE, L.WS_RESERVED, L.WS_PARKED, L.WS_RUNNING, L.WS_STOPPED, L.WS_DEAD];
    expect(states).toEqual([0, 1, 2, 3, 4, 5]);
    expect(L.WORKER_STATE_NAMES.length).toBe(states.length);
    expect(L.WORKER_STATE_NAMES[L.WS_RUNNING]).toBe('running');
  });
});

describe('type table and objects', () => {
  it('type fields fit TYPE_WORDS', () => {
    const t = constants('T_');
    expect(t.length).toBe(6);
    for (const [name, w] of t) expect(w, name).toBeLessThan(L.TYPE_WORDS);
    expect(new Set(t.map(([, w]) => w)).size).toBe(t.length);
  });

  it('a type id fits the header, and the zap word never decodes as a type', () => {
    expect(L.MAX_TYPES - 1).toBeLessThanOrEqual(L.HDR_TYPE_MASK);
    expect(L.HDR_FINALIZED & L.HDR_TYPE_MASK).toBe(0);
    expect(L.ZAP_WORD & L.HDR_TYPE_MASK).toBeGreaterThanOrEqual(L.MAX_TYPES);
  });

  it('array elements start 8-byte aligned after the length word', () => {
    expect(L.ARRAY_HEADER_BYTES).toBe(8);
    expect(L.ARRAY_LENGTH_WORD * 4).toBeLessThan(L.ARRAY_HEADER_BYTES);
    expect(L.STRUCT_HEADER_BYTES).toBe(4);
  });
});

describe('span header', () => {
  it('is 128 bytes and holds the scalars and all three bitmaps', () => {
    expect(L.SPAN_HEADER_BYTES).toBe(128);
    expect(L.SPAN_HEADER_WORDS * 4).toBe(L.SPAN_HEADER_BYTES);
    const scalars = [L.S_BLOCK_BYTES, L.S_SLOTS, L.S_NEXT, L.S_SCAN, L.S_INV_F32, L.S_AGE, L.S_PAGES];
    expect(new Set(scalars).size).toBe(scalars.length);
    for (const w of scalars) expect(w).toBeLessThan(L.S_MARK);
    expect(L.S_DIRTY + L.BITMAP_WORDS).toBeLessThanOrEqual(L.SPAN_HEADER_WORDS);
  });

  it('S_MARK, S_ALLOC and S_DIRTY do not overlap', () => {
    const maps = [L.S_MARK, L.S_ALLOC, L.S_DIRTY].map((s) => [s, s + L.BITMAP_WORDS] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < maps.length; i++) expect(maps[i]![0]).toBeGreaterThanOrEqual(maps[i - 1]![1]);
  });

  it('MAX_SLOTS is the bitmap width and bounds every class', () => {
    expect(L.MAX_SLOTS).toBe(L.BITMAP_WORDS * 32);
    for (let c = 0; c < NUM_SIZE_CLASSES; c++) expect(CLASS_SLOTS[c], `class ${c}`).toBeLessThanOrEqual(L.MAX_SLOTS);
  });

  it('the first root stack fills whole pages', () => {
    expect(L.ROOT_CHUNK_SLOTS * 4 + L.SPAN_HEADER_BYTES).toBe(L.PAGE_BYTES);
  });
});

describe('page table entries', () => {
  it('kind, flags, class and owner fields do not overlap', () => {
    const owner = 0xffff << L.PI_OWNER_SHIFT;
    const cls = L.PI_CLASS_MASK << L.PI_CLASS_SHIFT;
    const fields = [L.PI_KIND_MASK, L.PI_OLD, L.PI_ORPHAN, L.PI_CLEAN, cls, owner >>> 0];
    for (let i = 0; i < fields.length; i++) {
      for (let j = i + 1; j < fields.length; j++) expect(fields[i]! & fields[j]!, `fields ${i} and ${j}`).toBe(0);
    }
  });

  it('every allocation class and worker slot fits its field', () => {
    expect(L.NUM_ALLOC_CLASSES - 1).toBeLessThanOrEqual(L.PI_CLASS_MASK);
    expect(L.MAX_WORKERS).toBeLessThan(L.NO_OWNER);
    const kinds = constants('PK_');
    expect(new Set(kinds.map(([, k]) => k)).size).toBe(kinds.length);
    for (const [name, k] of kinds) {
      expect(k, name).toBeLessThanOrEqual(L.PI_KIND_MASK);
      expect(L.PAGE_KIND_NAMES[k], name).toBeDefined();
    }
    expect(L.PK_SMALL_TAIL).toBe(L.PK_SMALL_HEAD + 1);
    expect(L.PK_LARGE_TAIL).toBe(L.PK_LARGE_HEAD + 1);
    expect(L.PK_SYSTEM_TAIL).toBe(L.PK_SYSTEM_HEAD + 1);
  });

  it('headInfo packs and the masks unpack', () => {
    const info = headInfo(L.PK_SMALL_HEAD, L.NUM_ALLOC_CLASSES - 1, L.MAX_WORKERS - 1);
    expect(info & L.PI_KIND_MASK).toBe(L.PK_SMALL_HEAD);
    expect((info >>> L.PI_CLASS_SHIFT) & L.PI_CLASS_MASK).toBe(L.NUM_ALLOC_CLASSES - 1);
    expect(info >>> L.PI_OWNER_SHIFT).toBe(L.MAX_WORKERS - 1);
    expect(headInfo(L.PK_LARGE_HEAD, 0, L.NO_OWNER) >>> L.PI_OWNER_SHIFT).toBe(L.NO_OWNER);
    expect(tailInfo(L.PK_LARGE_HEAD, 3) & L.PI_KIND_MASK).toBe(L.PK_LARGE_TAIL);
  });

  it('page flags do not overlap the kind, the class or the owner', () => {
    const flags = [L.PI_OLD, L.PI_ORPHAN, L.PI_CLEAN];
    for (const f of flags) {
      expect(f & L.PI_KIND_MASK).toBe(0);
      expect(f & (L.PI_CLASS_MASK << L.PI_CLASS_SHIFT)).toBe(0);
      expect(f >>> L.PI_OWNER_SHIFT).toBe(0);
    }
    expect(new Set(flags).size).toBe(flags.length);
  });
});

describe('handle table', () => {
  it('entry fields fit HANDLE_WORDS and kinds fit the mask', () => {
    const h = [L.H_REF, L.H_META, L.H_NEXT, L.H_OWNER];
    expect(new Set(h).size).toBe(4);
    for (const w of h) expect(w).toBeLessThan(L.HANDLE_WORDS);
    for (const k of [L.HK_FREE, L.HK_STRONG, L.HK_WEAK, L.HK_FINAL]) expect(k & ~L.HK_MASK).toBe(0);
    expect(1 << L.HANDLE_GEN_SHIFT).toBeGreaterThan(L.HK_MASK);
  });

  it('every handle index fits below the generation factor, and ids stay safe integers', () => {
    expect(L.HANDLES_PER_CHUNK * L.HANDLE_CHUNKS_MAX).toBeLessThanOrEqual(L.HANDLE_ID_GEN_FACTOR);
    expect(L.HANDLE_ID_GEN_FACTOR).toBe(2 ** L.HANDLE_INDEX_BITS);
    expect(2 ** (32 - L.HANDLE_GEN_SHIFT) * L.HANDLE_ID_GEN_FACTOR).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
    expect(L.HANDLE_CHUNK_BYTES).toBe(L.HANDLES_PER_CHUNK * L.HANDLE_WORDS * 4);
  });
});
