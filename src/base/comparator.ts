/**
 * Bytewise ordering of user keys, the same as LevelDB's BytewiseComparator, whose name is
 * recorded in the MANIFEST so LevelDB and lsm-state agree on order when they open each other's
 * databases.
 */

export const BYTEWISE_COMPARATOR_NAME = 'leveldb.BytewiseComparator';

/**
 * Bytes compared by a JS loop before handing the rest to the native Buffer.compare: the native
 * call costs ~150 ns (two Buffer views and the call), a loop ~0.5 ns a byte, so the loop wins
 * for the first ~128 bytes. Keys of keyed state share long prefixes (state id, key group,
 * key), so most comparisons end inside it.
 */
const LOOP_BYTES = 128;

/** Compares a[aStart, aEnd) with b[bStart, bEnd) bytewise; returns <0, 0 or >0. */
export function compareBytesRange(
  a: Uint8Array, aStart: number, aEnd: number,
  b: Uint8Array, bStart: number, bEnd: number,
): number {
  const aLen = aEnd - aStart;
  const bLen = bEnd - bStart;
  const n = aLen < bLen ? aLen : bLen;
  const m = n < LOOP_BYTES ? n : LOOP_BYTES;
  for (let i = 0; i < m; i++) {
    const d = a[aStart + i]! - b[bStart + i]!;
    if (d !== 0) return d;
  }
  if (n > m) {
    const c = Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset + aStart + m, n - m),
      Buffer.from(b.buffer, b.byteOffset + bStart + m, n - m),
    );
    if (c !== 0) return c;
  }
  return aLen - bLen;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return compareBytesRange(a, 0, a.length, b, 0, b.length);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytesRange(a, 0, a.length, b, 0, b.length) === 0;
}

/**
 * A short key k with start <= k < limit, used as an index-block separator so index entries
 * stay small (LevelDB's FindShortestSeparator). Returns `start` when no shorter key exists.
 */
export function shortestSeparator(start: Uint8Array, limit: Uint8Array): Uint8Array {
  const minLen = Math.min(start.length, limit.length);
  let diff = 0;
  while (diff < minLen && start[diff] === limit[diff]) diff++;
  if (diff >= minLen) return start; // one is a prefix of the other
  const b = start[diff]!;
  if (b < 0xff && b + 1 < limit[diff]!) {
    const out = start.slice(0, diff + 1);
    out[diff] = b + 1;
    return out;
  }
  return start;
}

/** A short key k >= key (LevelDB's FindShortSuccessor). */
export function shortSuccessor(key: Uint8Array): Uint8Array {
  for (let i = 0; i < key.length; i++) {
    if (key[i] !== 0xff) {
      const out = key.slice(0, i + 1);
      out[i] = key[i]! + 1;
      return out;
    }
  }
  return key;
}
