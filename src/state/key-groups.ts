/**
 * Key groups, as Flink's KeyGroupRangeAssignment: every key belongs to one of `maxParallelism`
 * key groups, and each of `parallelism` operator instances owns one contiguous range of them.
 * Rescaling moves whole key groups between instances, never single keys, so a restore only has to
 * select the key-group ranges it now owns.
 *
 * One difference from Flink: Flink hashes `key.hashCode()` (a Java value that other languages
 * and even other JVM classes cannot reproduce); we hash the key's serialized bytes with
 * MurmurHash3 x86 32-bit. The assignment is therefore stable across processes, Node versions and
 * languages: anything that can serialize the key the same way computes the same key group.
 */

/** Largest supported maxParallelism, as Flink's `KeyGroupRangeAssignment.UPPER_BOUND_MAX_PARALLELISM` (2^15). */
export const MAX_PARALLELISM_UPPER_BOUND = 32768;

/** Returns `n` when it is an integer in 1..32768; TypeError when not a number, RangeError otherwise. */
export function checkMaxParallelism(n: unknown): number {
  if (typeof n !== 'number') throw new TypeError(`maxParallelism must be a number, got ${typeof n}`);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARALLELISM_UPPER_BOUND) {
    throw new RangeError(`maxParallelism must be an integer in 1..${MAX_PARALLELISM_UPPER_BOUND}, got ${n}`);
  }
  return n;
}

function checkBound(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number, got ${typeof v}`);
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

/**
 * An inclusive range of key groups `[start, end]`; empty when `end < start`. Every empty range is
 * normalised to {@link KeyGroupRange.EMPTY} = `[0, -1]` (Flink's `EMPTY_KEY_GROUP_RANGE`).
 */
export class KeyGroupRange {
  static readonly EMPTY: KeyGroupRange = new KeyGroupRange(0, -1);

  private constructor(
    readonly start: number,
    readonly end: number,
  ) {}

  /**
   * `[start, end]`, inclusive. TypeError for non-numbers; RangeError for negative or non-integer
   * bounds, except `end = -1`, which (like any `end < start`) gives the empty range, so that
   * `EMPTY.toJSON()` reads back.
   */
  static of(start: number, end: number): KeyGroupRange {
    checkBound('key group range start', start, 0);
    checkBound('key group range end', end, -1);
    if (end < start) return KeyGroupRange.EMPTY;
    return new KeyGroupRange(start, end);
  }

  isEmpty(): boolean {
    return this.end < this.start;
  }

  get size(): number {
    return this.end < this.start ? 0 : this.end - this.start + 1;
  }

  contains(keyGroup: number): boolean {
    return keyGroup >= this.start && keyGroup <= this.end;
  }

  intersection(other: KeyGroupRange): KeyGroupRange {
    const start = Math.max(this.start, other.start);
    const end = Math.min(this.end, other.end);
    return end < start ? KeyGroupRange.EMPTY : new KeyGroupRange(start, end);
  }

  equals(other: KeyGroupRange): boolean {
    if (this.isEmpty() || other.isEmpty()) return this.isEmpty() && other.isEmpty();
    return this.start === other.start && this.end === other.end;
  }

  *[Symbol.iterator](): IterableIterator<number> {
    for (let kg = this.start; kg <= this.end; kg++) yield kg;
  }

  toJSON(): { start: number; end: number } {
    return { start: this.start, end: this.end };
  }

  /** Reads `toJSON()` output: TypeError when `v` is not `{start: number, end: number}`, RangeError for bad bounds. */
  static fromJSON(v: unknown): KeyGroupRange {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new TypeError('key group range must be an object {start, end}');
    }
    const { start, end } = v as { start?: unknown; end?: unknown };
    if (typeof start !== 'number' || typeof end !== 'number') {
      throw new TypeError('key group range must have numeric start and end');
    }
    return KeyGroupRange.of(start, end);
  }

  toString(): string {
    return `[${this.start}, ${this.end}]`;
  }
}

/** RangeError unless `range` lies within `0..maxParallelism-1` (an empty range always does). */
export function checkRangeWithin(range: KeyGroupRange, maxParallelism: number): void {
  checkMaxParallelism(maxParallelism);
  if (range.isEmpty()) return;
  if (range.start < 0 || range.end >= maxParallelism) {
    throw new RangeError(`key group range ${range.toString()} exceeds [0, ${maxParallelism - 1}] (maxParallelism ${maxParallelism})`);
  }
}

/** Bytes of the key-group prefix of a state key: 1 when maxParallelism <= 128, else 2 (as Flink's RocksDB backend). */
export function keyGroupPrefixBytes(maxParallelism: number): 1 | 2 {
  return checkMaxParallelism(maxParallelism) <= 128 ? 1 : 2;
}

/** MurmurHash3 x86 32-bit (Austin Appleby's MurmurHash3_x86_32) of `bytes`; the result is unsigned. */
export function murmur3_32(bytes: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const len = bytes.length;
  const blocksEnd = len & ~3;
  let h = seed >>> 0;
  for (let i = 0; i < blocksEnd; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = len & 3;
  if (tail !== 0) {
    let k = bytes[blocksEnd]!;
    if (tail > 1) k |= bytes[blocksEnd + 1]! << 8;
    if (tail > 2) k |= bytes[blocksEnd + 2]! << 16;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The key group of a key: `murmur3_32(serializedKey, 0) % maxParallelism`. Flink computes
 * `murmurHash(key.hashCode()) % maxParallelism`; we hash the serialized key bytes instead, which
 * every process and language computes identically (see the file header).
 */
export function assignToKeyGroup(serializedKey: Uint8Array, maxParallelism: number): number {
  return murmur3_32(serializedKey, 0) % checkMaxParallelism(maxParallelism);
}

function checkParallelism(maxParallelism: number, parallelism: number): void {
  checkMaxParallelism(maxParallelism);
  if (typeof parallelism !== 'number') throw new TypeError(`parallelism must be a number, got ${typeof parallelism}`);
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > maxParallelism) {
    throw new RangeError(`parallelism must be an integer in 1..maxParallelism (${maxParallelism}), got ${parallelism}`);
  }
}

/**
 * The key groups owned by operator instance `operatorIndex` of `parallelism`, as Flink's
 * `KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex`: the ranges of all instances
 * partition `0..maxParallelism-1` into contiguous runs whose sizes differ by at most one.
 */
export function keyGroupRangeForOperator(maxParallelism: number, parallelism: number, operatorIndex: number): KeyGroupRange {
  checkParallelism(maxParallelism, parallelism);
  if (typeof operatorIndex !== 'number') throw new TypeError(`operatorIndex must be a number, got ${typeof operatorIndex}`);
  if (!Number.isInteger(operatorIndex) || operatorIndex < 0 || operatorIndex >= parallelism) {
    throw new RangeError(`operatorIndex must be an integer in 0..${parallelism - 1}, got ${operatorIndex}`);
  }
  // Products stay below 2^31 (both factors <= 2^15), so the arithmetic is exact.
  const start = Math.floor((operatorIndex * maxParallelism + parallelism - 1) / parallelism);
  const end = Math.floor(((operatorIndex + 1) * maxParallelism - 1) / parallelism);
  return KeyGroupRange.of(start, end);
}

/** The operator instance that owns `keyGroup`, as Flink's `computeOperatorIndexForKeyGroup`. */
export function operatorIndexForKeyGroup(maxParallelism: number, parallelism: number, keyGroup: number): number {
  checkParallelism(maxParallelism, parallelism);
  if (typeof keyGroup !== 'number') throw new TypeError(`keyGroup must be a number, got ${typeof keyGroup}`);
  if (!Number.isInteger(keyGroup) || keyGroup < 0 || keyGroup >= maxParallelism) {
    throw new RangeError(`keyGroup must be an integer in 0..${maxParallelism - 1}, got ${keyGroup}`);
  }
  return Math.floor((keyGroup * parallelism) / maxParallelism);
}
