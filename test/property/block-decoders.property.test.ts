/**
 * The TypeScript snappy and LZ4 decoders (src/sstable/block-decoders.ts) against the packages'
 * compressors and decompressors: every block the packages compress decodes to the original
 * bytes, through decompress (fresh buffer) and decompressInto (reused buffer); every damaged
 * block (truncated, bytes flipped, header changed) either decodes to exactly the declared size
 * or raises CorruptionError, never another error and never a write past the output.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CorruptionError } from '../../src/base/errors.js';
import { CompressionType, Scratch, codecFor, loadCodecs } from '../../src/sstable/compression.js';
import { PROPERTY_TIMEOUT, fcParams } from '../helpers/fc-params.js';

const require = createRequire(import.meta.url);
const snappyPackage = require('snappy') as { uncompressSync(b: Uint8Array): Uint8Array };

beforeAll(async () => {
  await loadCodecs();
});

/** Blocks like the ones tables hold: random bytes, runs, repeated phrases, JSON-ish text. */
const blockArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 5000 }),
  fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 300 })), { maxLength: 60 })
    .map((runs) => Uint8Array.from(runs.flatMap(([b, n]) => Array<number>(n).fill(b)))),
  fc.array(fc.constantFrom('{"n":', '12', '"user:', 'abc', ',"last":1714', '}', 'xxxxxxxx', '\u0000'), { maxLength: 600 })
    .map((parts) => new TextEncoder().encode(parts.join(''))),
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.integer({ min: 1, max: 400 }))
    .map(([unit, times]) => Uint8Array.from(Array.from({ length: times }, () => [...unit]).flat())),
);

const CODECS = [['snappy', CompressionType.Snappy], ['lz4', CompressionType.LZ4]] as const;

describe.each(CODECS)('%s decoder', (_name, type) => {
  it('decodes what the package compresses, into fresh and reused buffers', () => {
    const codec = codecFor(type);
    const scratch = new Scratch();
    fc.assert(fc.property(blockArb, (raw) => {
      const compressed = codec.compress(raw);
      if (compressed === undefined) return;
      const stored = compressed.slice();
      expect(Buffer.from(codec.decompress(stored)).equals(Buffer.from(raw))).toBe(true);
      expect(Buffer.from(codec.decompressInto(stored, scratch)).equals(Buffer.from(raw))).toBe(true);
      if (type === CompressionType.Snappy) expect(Buffer.from(snappyPackage.uncompressSync(stored)).equals(Buffer.from(raw))).toBe(true);
    }), fcParams(300));
  }, PROPERTY_TIMEOUT);

  it('raises CorruptionError or decodes to the declared size when a block is damaged', () => {
    const codec = codecFor(type);
    const scratch = new Scratch();
    const damageArb = fc.record({
      raw: blockArb.filter((b) => b.length > 0),
      cut: fc.nat(),
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
      truncate: fc.boolean(),
    });
    fc.assert(fc.property(damageArb, ({ raw, cut, flips, truncate }) => {
      const compressed = codec.compress(raw);
      if (compressed === undefined) return;
      let damaged = compressed.slice();
      if (truncate) damaged = damaged.subarray(0, cut % damaged.length);
      for (const [at, mask] of flips) if (damaged.length > 0) damaged[at % damaged.length]! ^= mask;
      for (const decode of [() => codec.decompress(damaged), () => codec.decompressInto(damaged, scratch)]) {
        try {
          decode();
        } catch (err) {
          expect(err).toBeInstanceOf(CorruptionError);
        }
      }
    }), fcParams(500));
  }, PROPERTY_TIMEOUT);
});
