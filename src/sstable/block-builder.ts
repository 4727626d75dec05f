/**
 * Builds a block of sorted entries with prefix-compressed keys (LevelDB's block format):
 *
 *   entry:    varint32 shared | varint32 nonShared | varint32 valueLength | key delta | value
 *   trailer:  fixed32 restart[numRestarts] | fixed32 numRestarts
 *
 * Every `restartInterval` entries the full key is stored and its offset recorded as a restart
 * point, so readers binary-search restarts and scan forward at most that many entries.
 * One builder is reused for every block of a table (`reset()` keeps its buffers).
 */
import { ByteWriter, encodeVarint } from '../base/coding.js';
import { assert } from '../base/errors.js';
import { PrefixViews } from '../base/reusable-bytes.js';

/** Values shorter than this are copied by a loop rather than a native set(). */
const SHORT_VALUE = 64;

/** Writes v as a varint at buf[at] (room is ensured by the caller); returns the end. */
function putVarint32(buf: Uint8Array, at: number, v: number): number {
  if (v < 0x80) {
    buf[at] = v;
    return at + 1;
  }
  return encodeVarint(buf, at, v);
}

/** Length of the common prefix of last[0, lastLength) and key. */
export function commonPrefixLength(last: Uint8Array, lastLength: number, key: Uint8Array): number {
  const max = Math.min(lastLength, key.length);
  let i = 0;
  while (i < max && last[i] === key[i]) i++;
  return i;
}

export class BlockBuilder {
  readonly #out = new ByteWriter(8192);
  #restarts: number[] = [0];
  #counter = 0;
  #entries = 0;
  #lastKey = new Uint8Array(64);
  #lastKeyLength = 0;
  readonly #lastKeyViews = new PrefixViews(this.#lastKey);

  constructor(readonly restartInterval: number) {
    assert(restartInterval >= 1, 'restartInterval >= 1');
  }

  reset(): void {
    this.#out.reset();
    this.#restarts.length = 1;
    this.#restarts[0] = 0;
    this.#counter = 0;
    this.#entries = 0;
  }

  get isEmpty(): boolean {
    return this.#entries === 0;
  }

  get entryCount(): number {
    return this.#entries;
  }

  /** Size of the block if finished now. */
  get estimatedSize(): number {
    return this.#out.length + this.#restarts.length * 4 + 4;
  }

  /**
   * Requires: key sorts after every key added since reset(). `common`, when given, is the
   * length of the prefix key shares with lastKey() (a caller that compared them already).
   */
  add(key: Uint8Array, value: Uint8Array, common = -1): void {
    let shared = 0;
    if (this.#counter < this.restartInterval && this.#entries > 0) {
      shared = common >= 0 ? common : commonPrefixLength(this.#lastKey, this.#lastKeyLength, key);
    } else if (this.#entries > 0) {
      this.#restarts.push(this.#out.length);
      this.#counter = 0;
    }
    const nonShared = key.length - shared;
    const out = this.#out;
    out.ensure(15 + nonShared + value.length);
    const buf = out.buf;
    let at = putVarint32(buf, out.length, shared);
    at = putVarint32(buf, at, nonShared);
    at = putVarint32(buf, at, value.length);
    // Deltas and most values are short: loops beat native copies (and allocate nothing).
    for (let i = shared; i < key.length; i++) buf[at++] = key[i]!;
    if (value.length < SHORT_VALUE) {
      for (let i = 0; i < value.length; i++) buf[at++] = value[i]!;
    } else {
      buf.set(value, at);
      at += value.length;
    }
    out.length = at;
    this.#rememberKey(key, shared);
    this.#counter++;
    this.#entries++;
  }

  /**
   * The last key added, kept across reset() (a table builder asks for the previous key when
   * the next block starts). A view valid until the next add.
   */
  lastKey(): Uint8Array {
    return this.#lastKeyViews.get(this.#lastKeyLength);
  }

  /** Keeps the key for prefix compression; the first `shared` bytes are already there. */
  #rememberKey(key: Uint8Array, shared: number): void {
    if (key.length > this.#lastKey.length) {
      const grown = new Uint8Array(key.length * 2);
      grown.set(this.#lastKey.subarray(0, shared));
      this.#lastKey = grown;
      this.#lastKeyViews.reset(grown);
    }
    const last = this.#lastKey;
    for (let i = shared; i < key.length; i++) last[i] = key[i]!;
    this.#lastKeyLength = key.length;
  }

  /** The finished block contents, a view valid until the next reset(). */
  finish(): Uint8Array {
    for (const r of this.#restarts) this.#out.fixed32(r);
    this.#out.fixed32(this.#restarts.length);
    return this.#out.view();
  }
}
