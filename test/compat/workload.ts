/**
 * Deterministic workloads for the compatibility tests: a sequence of puts and deletes over text
 * and binary keys (with empty, small, binary and ~100 KB values), applied to a model as they are
 * generated. No vitest import here: make-fixtures.ts uses this module outside the test runner.
 */

export type Op =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'del'; key: Uint8Array };

export type Entry = [key: Uint8Array, value: Uint8Array];

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
export const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Byte-wise comparison, LevelDB's BytewiseComparator. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Deterministic PRNG (mulberry32); `int(n)` is uniform in [0, n). */
export class Rand {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** The expected state: live keys with their values, and keys that were deleted and stayed so. */
export class Model {
  readonly live = new Map<string, Entry>();
  readonly deleted = new Map<string, Uint8Array>();
  /** Every key ever written, in first-write order (overwrite/delete targets are drawn from it). */
  readonly keys: Uint8Array[] = [];

  apply(op: Op): void {
    const h = hex(op.key);
    if (!this.live.has(h) && !this.deleted.has(h)) this.keys.push(op.key);
    if (op.type === 'put') {
      this.live.set(h, [op.key, op.value]);
      this.deleted.delete(h);
    } else {
      this.live.delete(h);
      this.deleted.set(h, op.key);
    }
  }

  /** Live entries in key order. */
  sorted(): Entry[] {
    return [...this.live.values()].sort((a, b) => compareBytes(a[0], b[0]));
  }

  deletedKeys(): Uint8Array[] {
    return [...this.deleted.values()];
  }
}

export interface Profile {
  /** Probability that an op writes a key never written before. */
  pNew: number;
  /** Probability that an op deletes an earlier key (the rest overwrite one, or bring it back). */
  pDelete: number;
  /** Probability that a put's value is large. */
  pLarge: number;
  /** Size of large values. */
  largeSize: number;
  /** Upper bound of small values. */
  smallMax: number;
}

export const DEFAULT_PROFILE: Profile = { pNew: 0.55, pDelete: 0.2, pLarge: 0.003, largeSize: 100 * 1024, smallMax: 160 };

/** Like the default, without large values: for phases whose size must stay predictable. */
export const SMALL_PROFILE: Profile = { ...DEFAULT_PROFILE, pLarge: 0 };

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789 -_';

/** Generates keys and values; remembers which keys it handed out so new keys are new. */
export class Generator {
  readonly #rand: Rand;
  readonly #model: Model;
  readonly #profile: Profile;
  #textCounter = 0;

  constructor(rand: Rand, model: Model, profile: Profile = DEFAULT_PROFILE) {
    this.#rand = rand;
    this.#model = model;
    this.#profile = profile;
  }

  /** Keys that exercise edge cases of the byte-wise order and of prefix compression. */
  specialKeys(): Uint8Array[] {
    return [
      new Uint8Array(0),
      new Uint8Array([0x00]),
      new Uint8Array([0x00, 0x00]),
      new Uint8Array([0xff]),
      new Uint8Array(40).fill(0xff),
      utf8('key-000001\u0000'),
      new Uint8Array([...utf8('key-000002'), 0xff, 0x00]),
      utf8('\u00e9t\u00e9 \u{1f600}'),
      new Uint8Array(1500).fill(0x61),
    ];
  }

  newKey(): Uint8Array {
    const r = this.#rand;
    for (;;) {
      let key: Uint8Array;
      if (r.next() < 0.6) {
        key = utf8(`key-${String(this.#textCounter++).padStart(6, '0')}`);
      } else {
        // Binary keys, biased towards 0x00 and 0xff so order edge cases come up.
        key = new Uint8Array(1 + r.int(24));
        for (let i = 0; i < key.length; i++) {
          const p = r.next();
          key[i] = p < 0.15 ? 0x00 : p < 0.3 ? 0xff : r.int(256);
        }
      }
      const h = hex(key);
      if (!this.#model.live.has(h) && !this.#model.deleted.has(h)) return key;
    }
  }

  value(profile: Profile = this.#profile): Uint8Array {
    const r = this.#rand;
    const p = r.next();
    if (p < profile.pLarge) {
      const size = profile.largeSize - 512 + r.int(1024);
      return r.next() < 0.5 ? r.bytes(size) : this.compressibleValue(size);
    }
    if (p < 0.08) return new Uint8Array(0);
    if (p < 0.2) return r.bytes(1 + r.int(profile.smallMax));
    const n = 1 + r.int(profile.smallMax);
    let s = '';
    for (let i = 0; i < n; i++) s += ALPHABET[r.int(ALPHABET.length)];
    return utf8(s);
  }

  /** `count` ops, each applied to the model as it is generated. */
  ops(count: number, profile: Profile = this.#profile): Op[] {
    const r = this.#rand;
    const m = this.#model;
    const out: Op[] = [];
    const push = (op: Op): void => {
      m.apply(op);
      out.push(op);
    };
    for (let i = 0; i < count; i++) {
      const p = r.next();
      if (m.keys.length === 0 || p < profile.pNew) {
        push({ type: 'put', key: this.newKey(), value: this.value(profile) });
      } else {
        const key = m.keys[r.int(m.keys.length)]!;
        if (p < profile.pNew + profile.pDelete) push({ type: 'del', key });
        else push({ type: 'put', key, value: this.value(profile) });
      }
    }
    return out;
  }

  /** Puts of the special keys (first write or overwrite). */
  specialOps(): Op[] {
    const out: Op[] = [];
    for (const key of this.specialKeys()) {
      const op: Op = { type: 'put', key, value: this.value() };
      this.#model.apply(op);
      out.push(op);
    }
    return out;
  }

  /** An op for a chosen key: overwrite with a fresh value, or delete. */
  opFor(key: Uint8Array, type: 'put' | 'del', value?: Uint8Array): Op {
    const op: Op = type === 'put' ? { type, key, value: value ?? this.value({ ...this.#profile, pLarge: 0 }) } : { type, key };
    this.#model.apply(op);
    return op;
  }

  /** A value snappy shrinks well: a short random pattern repeated, a few random bytes sprinkled in. */
  compressibleValue(size: number): Uint8Array {
    const r = this.#rand;
    const pattern = r.bytes(64);
    const v = new Uint8Array(size);
    for (let i = 0; i < size; i++) v[i] = pattern[i % 64]!;
    for (let i = 0; i < size; i += 997) v[i] = r.int(256);
    return v;
  }

  largeValue(size = this.#profile.largeSize): Uint8Array {
    return this.#rand.bytes(size);
  }
}

/** Splits ops into batches of 1..maxBatch ops (deterministic). */
export function chunk(rand: Rand, ops: Op[], maxBatch: number): Op[][] {
  const out: Op[][] = [];
  for (let i = 0; i < ops.length;) {
    const n = 1 + rand.int(maxBatch);
    out.push(ops.slice(i, i + n));
    i += n;
  }
  return out;
}
