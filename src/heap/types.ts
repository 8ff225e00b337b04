// Types: descriptors in the arena's type table, mirrored by one HeapType object per thread.
//
// The collector traces from the arena's descriptors only (kind, ref offsets), so any
// thread can trace any object. A type is defined by name under the heap lock: the first
// definition assigns the id; the same name with the same layout gives the same id on every
// thread; another layout is an error.
//
// Every HeapType has the same hidden class (its own fields are the `$`-prefixed ones, set
// in one constructor), so `heap.alloc(T)` stays monomorphic however many types a program
// defines. Field offsets (`Node.left`) are getters on the shared prototype, one per field
// name ever defined on this thread, reading this type's offset table. The `$` fields and the
// constructor are tagged internal: public declarations show describe() and the offsets only.

import type { Arena } from './arena.js';
import {
  EK_F64, EK_I32, EK_REF, EK_U8, G_FINALIZABLE_TYPES, G_NAMES_USED, G_REFMAP_USED, G_TYPE_COUNT, HDR_TYPE_MASK, MAX_TYPES,
  NAMES_BYTE, NAMES_BYTES, REFMAP_WORD, REFMAP_WORDS, STRUCT_HEADER_BYTES, TF_FINALIZE,
  TK_ARRAY, TK_STRUCT, TLAB_WORDS, T_BYTES, T_KIND, T_NAME_BYTES, T_NAME_START, T_REF_COUNT, T_REF_START,
  W_NO_TLAB, W_TLAB, typeWord,
} from './layout.js';
import { CLASS_BLOCK_BYTES, MAX_SMALL_BYTES, NUM_SIZE_CLASSES } from './sizeclasses.js';
import { TypeDefinitionError } from '../errors.js';

export type FieldKind = 'ref' | 'i32' | 'f64';
export type ElementKind = 'ref' | 'i32' | 'f64' | 'u8';
export interface TypeOptions {
  /** Objects of this type are queued for `onFinalize` callbacks when they die. */
  finalize?: boolean;
}

/** The registered symbol Node's util.inspect calls (no node: import: browsers load this too). */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

const KIND_CODE: Record<string, number> = { ref: EK_REF, i32: EK_I32, f64: EK_F64, u8: EK_U8 };
const KIND_NAME = ['', 'ref', 'i32', 'f64', 'u8'];
const KIND_BYTES = [0, 4, 4, 8, 1];
const KIND_SHIFT = [0, 2, 2, 3, 0];

/** Smallest size class holding `bytes`, indexed by `(bytes + 7) >>> 3`. */
export const CLASS_OF_GRANULES: Uint8Array = (() => {
  const table = new Uint8Array((MAX_SMALL_BYTES >>> 3) + 1);
  let cls = 0;
  for (let g = 0; g < table.length; g++) {
    while (CLASS_BLOCK_BYTES[cls]! < g << 3) cls++;
    table[g] = cls;
  }
  return table;
})();

/** Block bytes of the class for `(bytes + 7) >>> 3` granules. */
export const CLASS_OF_GRANULES_BLOCK: Uint32Array = Uint32Array.from(CLASS_OF_GRANULES, (cls) => CLASS_BLOCK_BYTES[cls]!);

export class HeapType {
  /** Type id, the same on every thread. @internal */
  readonly $id: number;
  /** @internal */
  readonly $name: string;
  /** TK_STRUCT or TK_ARRAY. @internal */
  readonly $kind: number;
  /** Struct: object bytes including the header. Array: bytes per element. @internal */
  readonly $bytes: number;
  /** Array: element kind (EK_*), and log2 of its bytes. @internal */
  readonly $elemKind: number;
  /** @internal */
  readonly $elemShift: number;
  /** @internal */
  readonly $finalize: boolean;
  /** Struct: the word offset of this type's TLAB in a worker block (W_NO_TLAB for large
   *  structs and for arrays, whose class depends on their length). @internal */
  readonly $tlab: number;
  /** Struct: bytes per block of its size class (large structs: their size; arrays: 2^31). @internal */
  readonly $blockBytes: number;
  /** 0 for ordinary types; NUM_SIZE_CLASSES for finalizable ones (their own spans). @internal */
  readonly $classBias: number;
  /** Struct: kind of each 4-byte word (EK_*; the second word of an f64 is 0). @internal */
  readonly $wordKinds: Uint8Array;
  /** Struct: field name of each word, for error messages. @internal */
  readonly $wordNames: readonly string[];
  /** Offsets by this thread's field-name index (see fieldIndex). @internal */
  readonly $offsets: (number | undefined)[];
  /** The canonical layout string stored in the arena. @internal */
  readonly $layout: string;
  /** The arena this type belongs to: a type id means nothing in another heap. @internal */
  readonly $buffer: SharedArrayBuffer;

  /** @internal */
  constructor(id: number, layout: string, buffer: SharedArrayBuffer) {
    const parsed = parseLayout(layout);
    this.$id = id;
    this.$buffer = buffer;
    this.$name = parsed.name;
    this.$kind = parsed.kind;
    this.$finalize = parsed.finalize;
    this.$classBias = parsed.finalize ? NUM_SIZE_CLASSES : 0;
    this.$layout = layout;
    this.$offsets = [];
    // Both kinds assign the remaining fields in one order, keeping one hidden class.
    let bytes: number;
    let elemKind = 0;
    let elemShift = 0;
    let wordKinds = new Uint8Array(0);
    const wordNames: string[] = [];
    let blockBytes = 0;
    let tlab = W_NO_TLAB;
    if (parsed.kind === TK_STRUCT) {
      let off = STRUCT_HEADER_BYTES;
      const words: number[] = [0];
      wordNames.push('(header)');
      for (const [fname, fkind] of parsed.fields) {
        const code = KIND_CODE[fkind]!;
        const size = KIND_BYTES[code]!;
        off = (off + size - 1) & -size;
        while (words.length < off >>> 2) { words.push(0); wordNames.push('(padding)'); }
        words.push(code); wordNames.push(fname);
        if (size === 8) { words.push(0); wordNames.push(fname); }
        this.$offsets[fieldIndex(fname)] = off;
        off += size;
      }
      bytes = off;
      wordKinds = Uint8Array.from(words);
      if (off <= MAX_SMALL_BYTES) {
        const cls = CLASS_OF_GRANULES[(off + 7) >>> 3]!;
        blockBytes = CLASS_BLOCK_BYTES[cls]!;
        tlab = W_TLAB + (cls + this.$classBias) * TLAB_WORDS;
      } else {
        blockBytes = off; // with the always-empty TLAB, sends every allocation to the slow path
      }
    } else {
      blockBytes = 2 ** 31; // with the always-empty TLAB, alloc(arrayType) reaches the slow path's error
      elemKind = KIND_CODE[parsed.elem]!;
      bytes = KIND_BYTES[elemKind]!;
      elemShift = KIND_SHIFT[elemKind]!;
    }
    this.$bytes = bytes;
    this.$elemKind = elemKind;
    this.$elemShift = elemShift;
    this.$tlab = tlab;
    this.$blockBytes = blockBytes;
    this.$wordKinds = wordKinds;
    this.$wordNames = wordNames;
  }

  /** Field names and offsets of a struct type, or the element kind of an array type. */
  describe(): string {
    return this.$layout;
  }

  /** util.inspect and console.log print this line: `HeapType 'Node' #1 { next: ref @4, value: i32 @8 }`.
   *  A symbol key, so it can never shadow a field's offset getter. @internal */
  [INSPECT](): string {
    const p = parseLayout(this.$layout);
    const shape = p.kind === TK_ARRAY
      ? `${p.elem}[]`
      : p.fields.length === 0 ? '{}' : `{ ${p.fields.map(([name, kind]) => `${name}: ${kind} @${this.$offsets[fieldIndex(name)]}`).join(', ')} }`;
    return `HeapType '${this.$name}' #${this.$id} ${shape}${this.$finalize ? ' finalize' : ''}`;
  }
}

export type StructType<F extends Record<string, FieldKind>> = HeapType & { readonly [K in keyof F]: number };
export type ArrayType = HeapType;

// Field names get a per-thread index and a getter on HeapType.prototype the first time any
// type uses them.
const fieldIndexes = new Map<string, number>();
function fieldIndex(name: string): number {
  let index = fieldIndexes.get(name);
  if (index === undefined) {
    index = fieldIndexes.size;
    fieldIndexes.set(name, index);
    const i = index;
    Object.defineProperty(HeapType.prototype, name, {
      get(this: HeapType) { return this.$offsets[i]; },
      enumerable: false,
      configurable: false,
    });
  }
  return index;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.:<>-]*$/;
const FIELD_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkFieldName(typeName: string, name: string): void {
  if (!FIELD_RE.test(name)) throw new TypeDefinitionError(`type '${typeName}': field name '${name}' is not an identifier`, typeName);
  if (name in Object.prototype || name === 'describe') {
    throw new TypeDefinitionError(`type '${typeName}': field name '${name}' is reserved`, typeName);
  }
}

export function structLayout(name: string, fields: Record<string, FieldKind>, options: TypeOptions): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) throw new TypeDefinitionError(`type name ${JSON.stringify(name)} is not valid`, String(name));
  if (fields === null || typeof fields !== 'object') throw new TypeDefinitionError(`type '${name}': fields must be an object`, name);
  const parts: string[] = [];
  for (const [fname, kind] of Object.entries(fields)) {
    checkFieldName(name, fname);
    if (kind !== 'ref' && kind !== 'i32' && kind !== 'f64') {
      throw new TypeDefinitionError(`type '${name}': field '${fname}' has kind ${JSON.stringify(kind)}; struct fields are 'ref', 'i32' or 'f64'`, name);
    }
    parts.push(`${fname}:${kind}`);
  }
  return `S|${name}|${parts.join(',')}|${options.finalize ? 'F' : ''}`;
}

export function arrayLayout(name: string, elem: ElementKind, options: TypeOptions): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) throw new TypeDefinitionError(`type name ${JSON.stringify(name)} is not valid`, String(name));
  if (!(elem in KIND_CODE)) throw new TypeDefinitionError(`type '${name}': element kind ${JSON.stringify(elem)}; arrays hold 'ref', 'i32', 'f64' or 'u8'`, name);
  return `A|${name}|${elem}|${options.finalize ? 'F' : ''}`;
}

interface ParsedLayout {
  kind: number;
  name: string;
  fields: [string, FieldKind][];
  elem: ElementKind;
  finalize: boolean;
}

function parseLayout(layout: string): ParsedLayout {
  const [k, name, body, flags] = layout.split('|') as [string, string, string, string];
  const finalize = flags === 'F';
  if (k === 'S') {
    const fields = body === '' ? [] : body.split(',').map((f) => f.split(':') as [string, FieldKind]);
    return { kind: TK_STRUCT, name, fields, elem: 'ref', finalize };
  }
  return { kind: TK_ARRAY, name, fields: [], elem: body as ElementKind, finalize };
}

/** Finds the type id of `name` in the arena, or 0. Caller holds the heap lock or only reads. */
function findByName(arena: Arena, name: string): number {
  const count = Atomics.load(arena.i32, G_TYPE_COUNT);
  for (let id = 1; id <= count; id++) {
    const layout = readLayout(arena, id);
    if (layout.split('|')[1] === name) return id;
  }
  return 0;
}

export function readLayout(arena: Arena, id: number): string {
  const t = typeWord(id);
  const start = arena.u32[t + T_NAME_START]!;
  const len = arena.u32[t + T_NAME_BYTES]!;
  return new TextDecoder().decode(arena.u8.slice(NAMES_BYTE + start, NAMES_BYTE + start + len));
}

/**
 * Writes a type into the arena, or finds the one already there. Returns its id. Caller
 * holds the heap lock.
 */
export function defineInArena(arena: Arena, layout: string): number {
  const name = layout.split('|')[1]!;
  const existing = findByName(arena, name);
  if (existing !== 0) {
    const had = readLayout(arena, existing);
    if (had !== layout) {
      throw new TypeDefinitionError(`type '${name}' is already defined with another layout: ${describeLayout(had)}; this definition is ${describeLayout(layout)}`, name);
    }
    return existing;
  }
  const { u32, u8 } = arena;
  const id = Atomics.load(u32, G_TYPE_COUNT) + 1;
  if (id >= MAX_TYPES) throw new TypeDefinitionError(`cannot define type '${name}': the type table holds ${MAX_TYPES - 1} types`, name);
  const bytes = new TextEncoder().encode(layout);
  const namesUsed = u32[G_NAMES_USED]!;
  if (namesUsed + bytes.length > NAMES_BYTES) throw new TypeDefinitionError(`cannot define type '${name}': the type name area is full`, name);
  const type = new HeapType(id, layout, arena.buffer);
  const refs: number[] = [];
  if (type.$kind === TK_STRUCT) {
    type.$wordKinds.forEach((k, w) => { if (k === EK_REF) refs.push(w); });
  }
  const refStart = u32[G_REFMAP_USED]!;
  if (refStart + refs.length > REFMAP_WORDS) throw new TypeDefinitionError(`cannot define type '${name}': the ref map area is full`, name);

  u8.set(bytes, NAMES_BYTE + namesUsed);
  u32[G_NAMES_USED] = namesUsed + bytes.length;
  for (let i = 0; i < refs.length; i++) u32[REFMAP_WORD + refStart + i] = refs[i]!;
  u32[G_REFMAP_USED] = refStart + refs.length;
  const t = typeWord(id);
  u32[t + T_BYTES] = type.$bytes;
  u32[t + T_REF_START] = refStart;
  u32[t + T_REF_COUNT] = type.$kind === TK_STRUCT ? refs.length : type.$elemKind === EK_REF ? 1 : 0;
  u32[t + T_NAME_START] = namesUsed;
  u32[t + T_NAME_BYTES] = bytes.length;
  if (type.$finalize) u32[G_FINALIZABLE_TYPES] = u32[G_FINALIZABLE_TYPES]! + 1;
  Atomics.store(u32, t + T_KIND, type.$kind | (type.$elemKind << 8) | ((type.$finalize ? TF_FINALIZE : 0) << 16));
  Atomics.store(u32, G_TYPE_COUNT, id);
  return id;
}

function describeLayout(layout: string): string {
  const p = parseLayout(layout);
  const fin = p.finalize ? ' (finalize)' : '';
  if (p.kind === TK_ARRAY) return `array of ${p.elem}${fin}`;
  return `{ ${p.fields.map(([n, k]) => `${n}: ${k}`).join(', ')} }${fin}`;
}

/** This thread's HeapType objects by id, loaded from the arena on first use. */
export class TypeCache {
  private readonly byId: (HeapType | undefined)[] = [];
  constructor(private readonly arena: Arena) {}

  get(id: number): HeapType | undefined {
    let t = this.byId[id];
    if (t === undefined) {
      if (id <= 0 || id > Atomics.load(this.arena.i32, G_TYPE_COUNT) || Atomics.load(this.arena.u32, typeWord(id) + T_KIND) === 0) return undefined;
      t = new HeapType(id, readLayout(this.arena, id), this.arena.buffer);
      this.byId[id] = t;
    }
    return t;
  }

  remember(t: HeapType): HeapType {
    const had = this.byId[t.$id];
    if (had !== undefined) return had;
    this.byId[t.$id] = t;
    return t;
  }

  /** Name of the type in an object header, for error messages. */
  nameOfHeader(header: number): string {
    const t = this.get(header & HDR_TYPE_MASK);
    return t === undefined ? `(no type ${header & HDR_TYPE_MASK})` : t.$name;
  }
}

export { KIND_NAME };
