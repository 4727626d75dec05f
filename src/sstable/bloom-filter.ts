/**
 * Whole-table bloom filter over user keys, stored as a meta block named
 * FULL_FILTER_META_NAME (docs/format/sstable.md). The bit layout follows LevelDB's bloom
 * policy: a bit array followed by one byte holding the probe count k; probes use double
 * hashing h, h + delta, ... with delta = rotate(h, 15) and h = LevelDB's 32-bit Hash with seed
 * 0xbc9f1d34. One filter per table means a point lookup checks one filter, not one per block.
 */

const HASH_SEED = 0xbc9f1d34;
const HASH_M = 0xc6a4a793;

/**
 * LevelDB's util/hash.cc Hash (a murmur-like 32-bit hash). Written in int32 arithmetic
 * (Math.imul, |, ^) so it runs without heap numbers: it hashes every key a table gets.
 */
export function bloomHash(data: Uint8Array, start = 0, end = data.length): number {
  let h = HASH_SEED ^ Math.imul(end - start, HASH_M);
  let i = start;
  for (const limit = end - 3; i < limit; i += 4) {
    const w = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    h = Math.imul(h + w, HASH_M);
    h ^= h >>> 16;
  }
  const rest = end - i;
  if (rest === 3) h += data[i + 2]! << 16;
  if (rest >= 2) h += data[i + 1]! << 8;
  if (rest >= 1) {
    h = Math.imul(h + data[i]!, HASH_M);
    h ^= h >>> 24;
  }
  return h >>> 0;
}

export function probesFor(bitsPerKey: number): number {
  // k = ln(2) * bits per key minimises the false-positive rate.
  return Math.min(30, Math.max(1, Math.floor(bitsPerKey * 0.69)));
}

/** Collects key hashes while a table is built; `finish()` lays out the filter. */
export class BloomFilterBuilder {
  #hashes = new Uint32Array(1024);
  #count = 0;

  constructor(readonly bitsPerKey: number) {}

  addKey(userKey: Uint8Array): void {
    this.#push(bloomHash(userKey));
  }

  /** Adds the user-key part [start, end) of a larger buffer without copying. */
  addKeyRange(buf: Uint8Array, start: number, end: number): void {
    this.#push(bloomHash(buf, start, end));
  }

  #push(hash: number): void {
    if (this.#count === this.#hashes.length) {
      const grown = new Uint32Array(this.#hashes.length * 2);
      grown.set(this.#hashes);
      this.#hashes = grown;
    }
    this.#hashes[this.#count++] = hash;
  }

  get keyCount(): number {
    return this.#count;
  }

  finish(): Uint8Array {
    const k = probesFor(this.bitsPerKey);
    // At least 64 bits keeps the false-positive rate sane for tiny tables.
    const bits = Math.max(64, this.#count * this.bitsPerKey);
    const bytes = Math.ceil(bits / 8);
    const totalBits = bytes * 8;
    const out = new Uint8Array(bytes + 1);
    const hashes = this.#hashes;
    for (let i = 0; i < this.#count; i++) {
      let h = hashes[i]!;
      const delta = (h >>> 17) | (h << 15);
      for (let j = 0; j < k; j++) {
        const bit = (h >>> 0) % totalBits;
        out[bit >>> 3]! |= 1 << (bit & 7);
        h = (h + delta) | 0;
      }
    }
    out[bytes] = k;
    return out;
  }
}

/** Reads a filter built by BloomFilterBuilder. */
export class BloomFilter {
  readonly #bits: Uint8Array;
  readonly #totalBits: number;
  readonly #k: number;

  constructor(data: Uint8Array) {
    this.#bits = data;
    this.#totalBits = (data.length - 1) * 8;
    this.#k = data.length > 0 ? data[data.length - 1]! : 0;
  }

  /** False only when the key is certainly absent. */
  mayContain(userKey: Uint8Array): boolean {
    // A malformed or reserved encoding answers "maybe", as LevelDB does: never a false negative.
    if (this.#totalBits === 0 || this.#k < 1 || this.#k > 30) return true;
    let h = bloomHash(userKey);
    const delta = (h >>> 17) | (h << 15);
    for (let j = 0; j < this.#k; j++) {
      const bit = (h >>> 0) % this.#totalBits;
      if ((this.#bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
      h = (h + delta) | 0;
    }
    return true;
  }
}
