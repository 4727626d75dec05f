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
import { ByteWriter } from '../base/coding.js';
import { assert } from '../base/errors.js';

export class BlockBuilder {
  readonly #out = new ByteWriter(8192);
  #restarts: number[] = [0];
  #counter = 0;
  #entries = 0;
  #lastKey = new Uint8Array(64);
  #lastKeyLength = 0;

  constructor(readonly restartInterval: number) {
    assert(restartInterval >= 1, 'restartInterval >= 1');
  }

  reset(): void {
    this.#out.reset();
    this.#restarts.length = 1;
    this.#restarts[0] = 0;
    this.#counter = 0;
    this.#entries = 0;
    this.#lastKeyLength = 0;
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

  /** Requires: key sorts after every key added since reset(). */
  add(key: Uint8Array, value: Uint8Array): void {
    let shared = 0;
    if (this.#counter < this.restartInterval) {
      const max = Math.min(this.#lastKeyLength, key.length);
      const last = this.#lastKey;
      while (shared < max && last[shared] === key[shared]) shared++;
    } else {
      this.#restarts.push(this.#out.length);
      this.#counter = 0;
    }
    const nonShared = key.length - shared;
    const out = this.#out;
    out.varint(shared);
    out.varint(nonShared);
    out.varint(value.length);
    out.bytes(key.subarray(shared));
    out.bytes(value);
    this.#rememberKey(key);
    this.#counter++;
    this.#entries++;
  }

  #rememberKey(key: Uint8Array): void {
    if (key.length > this.#lastKey.length) this.#lastKey = new Uint8Array(key.length * 2);
    this.#lastKey.set(key);
    this.#lastKeyLength = key.length;
  }

  /** The finished block contents, a view valid until the next reset(). */
  finish(): Uint8Array {
    for (const r of this.#restarts) this.#out.fixed32(r);
    this.#out.fixed32(this.#restarts.length);
    return this.#out.view();
  }
}
