import { describe, expect, it } from 'vitest';
import { compareBytesRange } from '../../../src/base/comparator.js';
import { CorruptionError } from '../../../src/base/errors.js';
import { Block } from '../../../src/sstable/block.js';
import { BlockBuilder } from '../../../src/sstable/block-builder.js';

const k = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('BlockBuilder', () => {
  it('prefix-compresses keys and writes restart points (golden bytes)', () => {
    const b = new BlockBuilder(16);
    b.add(k('abc'), k('1'));
    b.add(k('abd'), k('22'));
    expect([...b.finish()]).toEqual([
      0, 3, 1, 0x61, 0x62, 0x63, 0x31, // shared 0, nonShared 3, value 1, "abc", "1"
      2, 1, 2, 0x64, 0x32, 0x32, //       shared 2, nonShared 1, value 2, "d", "22"
      0, 0, 0, 0, 1, 0, 0, 0, //          restart[0] = 0, numRestarts = 1
    ]);
  });

  it('stores the full key at every restart interval', () => {
    const b = new BlockBuilder(2);
    for (const key of ['aa', 'ab', 'ac']) b.add(k(key), k(''));
    const bytes = b.finish();
    // third entry (index 2) starts a new restart run: shared must be 0
    const block = new Block(bytes.slice(), 't', 0);
    expect(block.numRestarts).toBe(2);
    expect(bytes[block.restartPoint(1)]).toBe(0);
  });
});

describe('BlockIterator', () => {
  const keys = Array.from({ length: 100 }, (_, i) => `key${String(i * 2).padStart(4, '0')}`);
  const block = (() => {
    const b = new BlockBuilder(4);
    for (const key of keys) b.add(k(key), k(`v-${key}`));
    return new Block(b.finish().slice(), 'test.sst', 0);
  })();

  it('walks forward and backward over every entry', () => {
    const it = block.iterator(compareBytesRange);
    const fwd: string[] = [];
    for (it.seekToFirst(); it.valid(); it.next()) fwd.push(str(it.key()));
    expect(fwd).toEqual(keys);
    const back: string[] = [];
    for (it.seekToLast(); it.valid(); it.prev()) back.push(str(it.key()));
    expect(back).toEqual([...keys].reverse());
  });

  it('seeks to the first key >= target and seekForPrev to the last <= target', () => {
    const it = block.iterator(compareBytesRange);
    it.seek(k('key0013'));
    expect(str(it.key())).toBe('key0014');
    expect(str(it.value())).toBe('v-key0014');
    it.seek(k('key0014'));
    expect(str(it.key())).toBe('key0014');
    it.seek(k('zzz'));
    expect(it.valid()).toBe(false);
    it.seekForPrev(k('key0013'));
    expect(str(it.key())).toBe('key0012');
    it.seekForPrev(k('a'));
    expect(it.valid()).toBe(false);
  });

  it('raises CorruptionError naming the file for a bad restart count or entry', () => {
    expect(() => new Block(Uint8Array.of(0xff, 0xff, 0, 0), 'bad.sst', 7)).toThrow(CorruptionError);
    const b = new BlockBuilder(16);
    b.add(k('abc'), k('value'));
    const bytes = b.finish().slice();
    bytes[2] = 200; // value length runs past the entries
    const it = new Block(bytes, 'bad.sst', 4096).iterator(compareBytesRange);
    expect(() => it.seekToFirst()).toThrow(/bad.sst, offset 4096/);
  });
});
