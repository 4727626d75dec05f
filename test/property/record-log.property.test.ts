/**
 * Properties of the record log: any sequence of records round-trips, and a file cut at any byte
 * (a crash mid-append) reads back, in tolerate mode, as exactly the records that were complete.
 * fast-check prints the seed of a failure; rerun it with FC_SEED=<seed> (FC_RUNS sets the run count).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../../src/base/errors.js';
import { BLOCK_SIZE } from '../../src/record/format.js';
import { LogReader, type RecoveryMode } from '../../src/record/log-reader.js';
import { LogWriter } from '../../src/record/log-writer.js';
import { MemFile } from '../unit/record/mem-file.js';

const seed = process.env['FC_SEED'] === undefined ? undefined : Number(process.env['FC_SEED']);
const params = { seed, numRuns: Number(process.env['FC_RUNS'] ?? 150) };

/** Mostly small records, sometimes empty, sometimes spanning several blocks. */
const record = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: BLOCK_SIZE - 20, maxLength: BLOCK_SIZE + 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 * BLOCK_SIZE }).map((n) => new Uint8Array(n).fill(n & 0xff)) },
);
const records = fc.array(record, { maxLength: 25 });

function writeAll(rs: Uint8Array[]): { data: Uint8Array; ends: number[] } {
  const file = new MemFile();
  const w = new LogWriter(file);
  const ends = rs.map((r) => {
    w.addRecord(r);
    return w.size;
  });
  return { data: file.contents(), ends };
}

function readAll(data: Uint8Array, mode: RecoveryMode): Uint8Array[] {
  const reader = new LogReader(data, 'prop.log', { mode });
  const out: Uint8Array[] = [];
  for (let r = reader.readRecord(); r !== undefined; r = reader.readRecord()) out.push(r);
  return out;
}

function sameRecords(actual: Uint8Array[], expected: Uint8Array[]): boolean {
  return actual.length === expected.length && actual.every((a, i) => Buffer.from(a).equals(Buffer.from(expected[i]!)));
}

describe('record log properties', () => {
  it('round-trips any sequence of records in every mode', () => {
    fc.assert(
      fc.property(records, (rs) => {
        const { data } = writeAll(rs);
        for (const mode of ['absoluteConsistency', 'tolerateCorruptedTailRecords', 'skipAnyCorruptedRecords'] as const) {
          expect(sameRecords(readAll(data, mode), rs)).toBe(true);
        }
      }),
      params,
    );
  });

  it('a file cut at any byte reads back as the records completed before the cut', () => {
    fc.assert(
      fc.property(records, fc.double({ min: 0, max: 1, noNaN: true }), (rs, where) => {
        const { data, ends } = writeAll(rs);
        const cut = Math.floor(where * data.length);
        const complete = ends.filter((end) => end <= cut).length;
        const reader = new LogReader(data.subarray(0, cut), 'prop.log');
        const got: Uint8Array[] = [];
        for (let r = reader.readRecord(); r !== undefined; r = reader.readRecord()) got.push(r);
        expect(sameRecords(got, rs.slice(0, complete))).toBe(true);
        // Dropped: the torn bytes after the last complete record, unless they are just the zero
        // trailer that ends a block (padding, not data).
        const torn = cut - (complete === 0 ? 0 : ends[complete - 1]!);
        const onlyTrailer = cut % BLOCK_SIZE === 0 && torn < 7;
        expect(reader.droppedBytes).toBe(onlyTrailer ? 0 : torn);
        // A cut exactly at a record boundary is a clean log, even for absoluteConsistency.
        if (cut === 0 || ends.includes(cut)) expect(sameRecords(readAll(data.subarray(0, cut), 'absoluteConsistency'), rs.slice(0, complete))).toBe(true);
      }),
      params,
    );
  });

  it('a flipped bit never yields a record that was not written', () => {
    fc.assert(
      fc.property(records.filter((rs) => rs.some((r) => r.length > 0)), fc.nat(), fc.integer({ min: 0, max: 7 }), (rs, at, bit) => {
        const { data } = writeAll(rs);
        const damaged = data.slice();
        damaged[at % damaged.length]! ^= 1 << bit;
        const written = new Set(rs.map((r) => Buffer.from(r).toString('base64')));
        for (const r of readAll(damaged, 'skipAnyCorruptedRecords')) expect(written.has(Buffer.from(r).toString('base64'))).toBe(true);
        const pit = readAll(damaged, 'pointInTime');
        expect(sameRecords(pit, rs.slice(0, pit.length))).toBe(true);
        try {
          readAll(damaged, 'absoluteConsistency');
        } catch (err) {
          expect(CorruptionError.is(err)).toBe(true);
        }
      }),
      params,
    );
  });
});
