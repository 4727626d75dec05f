/**
 * A table built by TableBuilder and read by TableReader agrees with a sorted model: cursor
 * (forward, reverse, seek, seekForPrev, any next/prev interleaving) and point lookups. Small
 * blocks (256 bytes) and restart intervals 1..4 put every key set across many blocks and
 * restart points; keys are binary, often prefixes of each other, with several versions each.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ValueKind } from '../../src/base/internal-key.js';
import { MemFileSystem } from '../../src/fs/mem-fs.js';
import { BlockCache } from '../../src/sstable/block-cache.js';
import { CompressionType, loadCodecs } from '../../src/sstable/compression.js';
import { TableBuilder } from '../../src/sstable/table-builder.js';
import { TableReader } from '../../src/sstable/table-reader.js';
import { PROPERTY_TIMEOUT, fcParams, hex } from '../helpers/fc-params.js';
import { type ModelEntry, checkIterator, entriesArb, ikeyOf, opsArb, targetArb } from '../helpers/iterator-model.js';

beforeAll(async () => {
  await loadCodecs();
});

interface TableConfig {
  restart: number;
  bloom: number;
  compression: CompressionType;
  /** Block cache bytes: 0 and tiny caches force re-reads and evictions. */
  cache: number;
}

const configArb: fc.Arbitrary<TableConfig> = fc.record({
  restart: fc.integer({ min: 1, max: 4 }),
  bloom: fc.constantFrom(0, 10),
  compression: fc.constantFrom(CompressionType.None, CompressionType.LZ4),
  cache: fc.constantFrom(0, 300, 1 << 20),
});

const nonEmpty = entriesArb({ kinds: [ValueKind.Value, ValueKind.Deletion], maxLength: 80 }).filter((es) => es.length > 0);

function build(es: ModelEntry[], config: TableConfig): TableReader {
  const fs = new MemFileSystem();
  fs.mkdir('/t');
  const file = fs.openWritable('/t/000001.sst');
  const builder = new TableBuilder(file, {
    blockSize: 256, blockRestartInterval: config.restart, bloomBitsPerKey: config.bloom, compression: config.compression,
  });
  for (const e of es) builder.add(ikeyOf(e), e.value);
  const result = builder.finish();
  file.sync();
  file.close();
  expect(hex(result.smallest)).toBe(hex(ikeyOf(es[0]!)));
  expect(hex(result.largest)).toBe(hex(ikeyOf(es[es.length - 1]!)));
  return TableReader.open(fs, '/t/000001.sst', { cache: new BlockCache(config.cache) });
}

describe('table properties', () => {
  it('iterator agrees with the sorted model under any seek/next/prev interleaving', () => {
    fc.assert(
      fc.property(configArb, nonEmpty.chain((es) => fc.tuple(fc.constant(es), opsArb(es, 60))), (config, [es, ops]) => {
        const reader = build(es, config);
        const it = reader.iterator();
        checkIterator(it, es, ops);
        it.close();
        reader.close();
      }),
      fcParams(150),
    );
  }, PROPERTY_TIMEOUT);

  it('full forward and reverse scans cross every block boundary', () => {
    fc.assert(
      fc.property(configArb, nonEmpty, (config, es) => {
        const reader = build(es, config);
        const it = reader.iterator();
        const forward: string[] = [];
        for (it.seekToFirst(); it.valid(); it.next()) forward.push(hex(it.key()));
        const backward: string[] = [];
        for (it.seekToLast(); it.valid(); it.prev()) backward.push(hex(it.key()));
        expect(forward).toEqual(es.map((e) => hex(ikeyOf(e))));
        expect(backward).toEqual([...forward].reverse());
        it.close();
        reader.close();
      }),
      fcParams(100),
    );
  }, PROPERTY_TIMEOUT);

  it('get returns the first entry at or after the lookup key when it has the same user key', () => {
    fc.assert(
      fc.property(
        configArb,
        nonEmpty.chain((es) => fc.tuple(fc.constant(es), fc.array(targetArb(es), { maxLength: 30 }))),
        (config, [es, lookups]) => {
          const reader = build(es, config);
          for (const t of lookups) {
            const lookup = { ...t, kind: 0xff };
            const first = es.find((e) => hex(e.user) === hex(t.user) && e.seq <= t.seq);
            const hit = reader.get(ikeyOf(lookup), t.user);
            const what = `get(${hex(t.user)}@${t.seq})`;
            if (first === undefined) {
              expect(hit, what).toBeUndefined();
            } else {
              expect(hit?.sequence, what).toBe(first.seq);
              expect(hit?.kind, what).toBe(first.kind);
              expect(hex(hit!.value), what).toBe(hex(first.value));
            }
          }
          reader.close();
        },
      ),
      fcParams(150),
    );
  }, PROPERTY_TIMEOUT);
});
