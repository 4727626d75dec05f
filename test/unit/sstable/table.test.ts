import { beforeAll, describe, expect, it } from 'vitest';
import { AssertionError, CorruptionError, LsmError } from '../../../src/base/errors.js';
import { ValueKind, makeInternalKey, userKeyOf } from '../../../src/base/internal-key.js';
import { MemFileSystem } from '../../../src/fs/mem-fs.js';
import { BlockCache } from '../../../src/sstable/block-cache.js';
import { BloomFilter, BloomFilterBuilder, bloomHash } from '../../../src/sstable/bloom-filter.js';
import { CompressionType, loadCodecs } from '../../../src/sstable/compression.js';
import { TableBuilder } from '../../../src/sstable/table-builder.js';
import { TableReader } from '../../../src/sstable/table-reader.js';

const k = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);
const key = (i: number): string => `user${String(i).padStart(6, '0')}`;

function buildTable(fs: MemFileSystem, path: string, n: number, compression: CompressionType): void {
  fs.mkdir('/db');
  const file = fs.openWritable(path);
  const builder = new TableBuilder(file, { blockSize: 512, blockRestartInterval: 4, bloomBitsPerKey: 10, compression });
  for (let i = 0; i < n; i++) {
    // Two versions of every third key: the newer one (higher sequence) sorts first.
    if (i % 3 === 0) builder.add(makeInternalKey(k(key(i)), 2 * n + i, ValueKind.Value), k(`new-${i}`.repeat(3)));
    builder.add(makeInternalKey(k(key(i)), i + 1, i % 7 === 0 ? ValueKind.Deletion : ValueKind.Value), i % 7 === 0 ? new Uint8Array(0) : k(`old-${i}`.repeat(3)));
  }
  builder.finish();
  file.sync();
  file.close();
}

beforeAll(async () => {
  await loadCodecs();
});

describe('table format', () => {
  it('ends with the 48-byte LevelDB footer and magic (golden bytes)', () => {
    const fs = new MemFileSystem();
    buildTable(fs, '/db/000001.sst', 10, CompressionType.None);
    const bytes = fs.readFile('/db/000001.sst');
    expect([...bytes.subarray(bytes.length - 8)]).toEqual([0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb]);
  });

  for (const [name, type] of [['none', CompressionType.None], ['snappy', CompressionType.Snappy], ['lz4', CompressionType.LZ4], ['zstd', CompressionType.ZSTD]] as const) {
    it(`round-trips point lookups and iteration with ${name} compression`, () => {
      const fs = new MemFileSystem();
      const n = 2000;
      buildTable(fs, '/db/000001.sst', n, type);
      const reader = TableReader.open(fs, '/db/000001.sst', { cache: new BlockCache(1 << 20) });
      expect(reader.properties.numEntries).toBe(n + Math.ceil(n / 3));
      expect(reader.properties.compression).toBe(name);
      for (let i = 0; i < n; i += 7) {
        const hit = reader.get(makeInternalKey(k(key(i)), 10 * n, 0xff), k(key(i)));
        expect(hit).toBeDefined();
        if (i % 3 === 0) expect(str(hit!.value)).toBe(`new-${i}`.repeat(3));
        // Reading at an older sequence sees the older version.
        const old = reader.get(makeInternalKey(k(key(i)), i + 1, 0xff), k(key(i)));
        expect(old?.kind).toBe(i % 7 === 0 ? ValueKind.Deletion : ValueKind.Value);
      }
      expect(reader.get(makeInternalKey(k('nope'), 10 * n, 0xff), k('nope'))).toBeUndefined();
      const it = reader.iterator();
      let count = 0;
      let last = '';
      for (it.seekToFirst(); it.valid(); it.next()) {
        const u = str(userKeyOf(it.key()));
        expect(u >= last).toBe(true);
        last = u;
        count++;
      }
      expect(count).toBe(n + Math.ceil(n / 3));
      let back = 0;
      for (it.seekToLast(); it.valid(); it.prev()) back++;
      expect(back).toBe(count);
      it.close();
      reader.close();
    });
  }

  it('detects a flipped byte in a data block with a CorruptionError naming file and offset', () => {
    const fs = new MemFileSystem();
    buildTable(fs, '/db/000001.sst', 500, CompressionType.None);
    fs.corrupt('/db/000001.sst', 10);
    const reader = TableReader.open(fs, '/db/000001.sst', { cache: new BlockCache(1 << 20) });
    const it = reader.iterator();
    let err: unknown;
    try {
      it.seekToFirst();
    } catch (e) {
      err = e;
    }
    expect(CorruptionError.is(err)).toBe(true);
    expect((err as CorruptionError).file).toBe('/db/000001.sst');
    expect((err as CorruptionError).offset).toBe(0);
    it.close();
    reader.close();
  });

  it('rejects a truncated table and a bad magic number', () => {
    const fs = new MemFileSystem();
    buildTable(fs, '/db/000001.sst', 100, CompressionType.LZ4);
    const size = fs.fileSize('/db/000001.sst');
    fs.truncate('/db/000001.sst', size - 3);
    expect(() => TableReader.open(fs, '/db/000001.sst', { cache: new BlockCache(1 << 20) })).toThrow(/bad table magic/);
    fs.truncate('/db/000001.sst', 20);
    expect(() => TableReader.open(fs, '/db/000001.sst', { cache: new BlockCache(1 << 20) })).toThrow(CorruptionError);
  });

  it('names the npm package when a table needs a codec that is not installed', async () => {
    const { __setCodecAvailabilityForTest } = await import('../../../src/sstable/compression.js');
    const fs = new MemFileSystem();
    buildTable(fs, '/db/000001.sst', 300, CompressionType.Snappy);
    __setCodecAvailabilityForTest('snappy', false);
    try {
      const reader = TableReader.open(fs, '/db/000001.sst', { cache: new BlockCache(1 << 20) });
      const it = reader.iterator();
      let err: unknown;
      try { it.seekToFirst(); } catch (e) { err = e; }
      expect(LsmError.is(err, 'LSM_CODEC_MISSING')).toBe(true);
      expect(String((err as Error).message)).toMatch(/snappy/);
      it.close();
      reader.close();
    } finally {
      __setCodecAvailabilityForTest('snappy', undefined);
    }
  });
});

describe('table builder key order', () => {
  const ikey = (user: string, seq: number): Uint8Array => makeInternalKey(k(user), seq, ValueKind.Value);
  const builder = (): TableBuilder => new TableBuilder(new MemFileSystem().openWritable('/t.sst'), {
    blockSize: 64, blockRestartInterval: 2, bloomBitsPerKey: 10, compression: CompressionType.None,
  });
  it('accepts internal-key order: shorter user key first, equal user keys by descending sequence, across blocks', () => {
    const b = builder();
    const keys = [ikey('a', 5), ikey('ab', 9), ikey('ab', 3), ikey('abc', 1), ikey('b', 1), ikey('b', 0)];
    for (let i = 0; i < 40; i++) keys.push(ikey(`c${String(i).padStart(3, '0')}`, 1));
    for (const key of keys) b.add(key, k('v'.repeat(20)));
    expect(b.entryCount).toBe(keys.length);
  });
  it.each([
    ['a smaller user key', ikey('b', 1), ikey('a', 1)],
    ['a longer user key before its prefix', ikey('ab', 1), ikey('a', 1)],
    ['a higher sequence after a lower one', ikey('a', 1), ikey('a', 2)],
    ['the same key twice', ikey('a', 1), ikey('a', 1)],
  ])('throws an AssertionError for %s', (_what, first, second) => {
    const b = builder();
    b.add(first, k('v'));
    expect(() => b.add(second, k('v'))).toThrow(AssertionError);
  });
});

describe('bloom filter', () => {
  it("hashes as LevelDB's Hash with the bloom seed (util/hash_test.cc vectors)", () => {
    const h = (bytes: number[]): number => bloomHash(Uint8Array.from(bytes));
    expect(h([])).toBe(0xbc9f1d34);
    expect(h([0x62])).toBe(0xef1345c4);
    expect(h([0xc3, 0x97])).toBe(0x5b663814);
    expect(h([0xe2, 0x99, 0xa5])).toBe(0x323c078f);
    expect(h([0xe1, 0x80, 0xb9, 0x32])).toBe(0xed21633a);
    // A key inside a larger buffer hashes as the key alone.
    expect(bloomHash(Uint8Array.from([9, 0xe1, 0x80, 0xb9, 0x32, 9]), 1, 5)).toBe(0xed21633a);
  });

  it('has no false negatives and about 1% false positives at 10 bits per key', () => {
    const b = new BloomFilterBuilder(10);
    for (let i = 0; i < 10000; i++) b.addKey(k(`present-${i}`));
    const f = new BloomFilter(b.finish());
    for (let i = 0; i < 10000; i++) expect(f.mayContain(k(`present-${i}`))).toBe(true);
    let fp = 0;
    for (let i = 0; i < 10000; i++) if (f.mayContain(k(`absent-${i}`))) fp++;
    expect(fp / 10000).toBeLessThan(0.02);
  });
});
