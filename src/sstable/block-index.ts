/**
 * A table's index block, decoded once at open (index blocks are pinned anyway): separator keys
 * packed into one buffer with an offsets array, and the block handles as numbers. A lookup is a
 * binary search over packed keys: no varint decoding, no allocation.
 */
import { CorruptionError } from '../base/errors.js';
import { compareInternalKeysRange } from '../base/internal-key.js';
import type { Block } from './block.js';
import { decodeBlockHandle } from './block-handle.js';

export class BlockIndex {
  readonly count: number;
  readonly #keys: Uint8Array;
  /** Key i is #keys[#keyStarts[i], #keyStarts[i + 1]). */
  readonly #keyStarts: Int32Array;
  readonly #offsets: Float64Array;
  readonly #sizes: Float64Array;

  constructor(block: Block, compare = compareInternalKeysRange) {
    const it = block.iterator(compare);
    const keys: Uint8Array[] = [];
    const offsets: number[] = [];
    const sizes: number[] = [];
    for (it.seekToFirst(); it.valid(); it.next()) {
      keys.push(it.keyCopy());
      try {
        const h = decodeBlockHandle(it.value(), { pos: 0 });
        offsets.push(h.offset);
        sizes.push(h.size);
      } catch (err) {
        throw new CorruptionError('bad block handle in index', { file: block.file, offset: block.offset }, { cause: err });
      }
    }
    this.count = keys.length;
    this.#keyStarts = new Int32Array(keys.length + 1);
    let total = 0;
    keys.forEach((k, i) => {
      this.#keyStarts[i] = total;
      total += k.length;
    });
    this.#keyStarts[keys.length] = total;
    this.#keys = new Uint8Array(total);
    keys.forEach((k, i) => this.#keys.set(k, this.#keyStarts[i]!));
    this.#offsets = Float64Array.from(offsets);
    this.#sizes = Float64Array.from(sizes);
  }

  /** First entry whose separator >= target (count when none). */
  seek(target: Uint8Array): number {
    let lo = 0;
    let hi = this.count;
    const keys = this.#keys;
    const starts = this.#keyStarts;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareInternalKeysRange(keys, starts[mid]!, starts[mid + 1]!, target, 0, target.length) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  blockOffset(i: number): number {
    return this.#offsets[i]!;
  }

  blockSize(i: number): number {
    return this.#sizes[i]!;
  }
}
