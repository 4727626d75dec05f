import { describe, expect, it } from 'vitest';
import { ClosedError } from '../../../src/base/errors.js';
import { BLOCK_SIZE, HEADER_SIZE, RECORD_FIRST, RECORD_FULL, RECORD_LAST, RECORD_MIDDLE } from '../../../src/record/format.js';
import { LogReader } from '../../../src/record/log-reader.js';
import { LogWriter } from '../../../src/record/log-writer.js';
import { MemFile, concat, expectRecords, fragment, fromHex, hex, patterned, referenceCrc32c, referenceMask, text } from './mem-file.js';

/** Header fields of every physical record in a log written without damage. */
function physicalRecords(data: Uint8Array): { offset: number; length: number; type: number }[] {
  const out: { offset: number; length: number; type: number }[] = [];
  let pos = 0;
  while (pos < data.length) {
    const left = BLOCK_SIZE - (pos % BLOCK_SIZE);
    if (left < HEADER_SIZE) {
      expect(data.subarray(pos, pos + left).every((b) => b === 0)).toBe(true); // zero trailer
      pos += left;
      continue;
    }
    const length = data[pos + 4]! | (data[pos + 5]! << 8);
    out.push({ offset: pos, length, type: data[pos + 6]! });
    pos += HEADER_SIZE + length;
  }
  return out;
}

function readAll(data: Uint8Array): Uint8Array[] {
  const reader = new LogReader(data, 'test.log', { mode: 'absoluteConsistency' });
  const out: Uint8Array[] = [];
  for (let r = reader.readRecord(); r !== undefined; r = reader.readRecord()) out.push(r.slice());
  return out;
}

function write(records: Uint8Array[], file = new MemFile()): MemFile {
  const w = new LogWriter(file);
  for (const r of records) w.addRecord(r);
  return file;
}

describe('LogWriter golden bytes', () => {
  it('writes a FULL record with the masked CRC32C of type + payload', () => {
    const data = write([text('hello')]).contents();
    // Expected checksum from the LevelDB formula, computed here with a bitwise CRC32C, and as a
    // literal (0x5857b90b) worked out by hand for docs/format/record-log.md.
    const masked = referenceMask(referenceCrc32c(concat(Uint8Array.of(RECORD_FULL), text('hello'))));
    expect(masked).toBe(0x5857b90b);
    expect(hex(data)).toBe('0bb95758' + '0500' + '01' + '68656c6c6f');
  });

  it('writes an empty record as an empty FULL fragment', () => {
    expect(hex(write([new Uint8Array(0)]).contents())).toBe('052b2843' + '0000' + '01');
  });

  it('reproduces a MANIFEST written by LevelDB 1.23 (classic-level) byte for byte', () => {
    // MANIFEST-000002 of a fresh classic-level database: a snapshot edit naming the comparator,
    // then an edit with log number 3, prev log number 0, next file 4, last sequence 0.
    const leveldb = fromHex(
      '56f9b8f8 1c00 01 011a' + hex(text('leveldb.BytewiseComparator')) +
      'a49c8bbe 0800 01 0203 0900 0304 0400',
    );
    const edits = [leveldb.subarray(7, 35), leveldb.subarray(42)];
    expect(write(edits).contents()).toEqual(leveldb);
    expectRecords(readAll(leveldb), edits.map((e) => e.slice()));
  });

  it('matches hand-built fragments (short payloads and ones long enough for native CRC)', () => {
    expect(write([text('abc')]).contents()).toEqual(fragment(RECORD_FULL, text('abc')));
    const long = patterned(1000, 4);
    expect(hex(write([long]).contents())).toBe(hex(fragment(RECORD_FULL, long)));
  });
});

describe('LogWriter fragmentation', () => {
  it('splits a record spanning many blocks into FIRST, MIDDLE..., LAST', () => {
    const record = patterned(100_000, 7);
    const data = write([record]).contents();
    const frags = physicalRecords(data);
    const max = BLOCK_SIZE - HEADER_SIZE;
    expect(frags.map((f) => f.type)).toEqual([RECORD_FIRST, RECORD_MIDDLE, RECORD_MIDDLE, RECORD_LAST]);
    expect(frags.map((f) => f.length)).toEqual([max, max, max, 100_000 - 3 * max]);
    expect(frags.map((f) => f.offset)).toEqual([0, BLOCK_SIZE, 2 * BLOCK_SIZE, 3 * BLOCK_SIZE]);
    expectRecords(readAll(data), [record]);
  });

  it('fills a block exactly with one FULL fragment and starts the next record at the boundary', () => {
    const a = patterned(BLOCK_SIZE - HEADER_SIZE, 1);
    const b = text('next');
    const data = write([a, b]).contents();
    expect(physicalRecords(data)).toEqual([
      { offset: 0, length: BLOCK_SIZE - HEADER_SIZE, type: RECORD_FULL },
      { offset: BLOCK_SIZE, length: 4, type: RECORD_FULL },
    ]);
    expectRecords(readAll(data), [a, b]);
  });

  it('emits an empty FIRST when exactly 7 bytes remain in the block', () => {
    const a = patterned(BLOCK_SIZE - 2 * HEADER_SIZE, 2);
    const b = text('spills');
    const data = write([a, b]).contents();
    expect(physicalRecords(data).slice(1)).toEqual([
      { offset: BLOCK_SIZE - HEADER_SIZE, length: 0, type: RECORD_FIRST },
      { offset: BLOCK_SIZE, length: 6, type: RECORD_LAST },
    ]);
    expectRecords(readAll(data), [a, b]);
  });

  it('fits an empty record into exactly 7 remaining bytes', () => {
    const a = patterned(BLOCK_SIZE - 2 * HEADER_SIZE, 3);
    const data = write([a, new Uint8Array(0), text('x')]).contents();
    expect(physicalRecords(data).slice(1, 3)).toEqual([
      { offset: BLOCK_SIZE - HEADER_SIZE, length: 0, type: RECORD_FULL },
      { offset: BLOCK_SIZE, length: 1, type: RECORD_FULL },
    ]);
    expectRecords(readAll(data), [a, new Uint8Array(0), text('x')]);
  });

  it('pads the last 1..6 bytes of a block with a zero trailer', () => {
    for (let leftover = 1; leftover < HEADER_SIZE; leftover++) {
      const a = patterned(BLOCK_SIZE - HEADER_SIZE - leftover, leftover);
      const data = write([a, text('b')]).contents();
      expect(data.length).toBe(BLOCK_SIZE + HEADER_SIZE + 1);
      expect(data.subarray(BLOCK_SIZE - leftover, BLOCK_SIZE).every((x) => x === 0)).toBe(true);
      expectRecords(readAll(data), [a, text('b')]);
    }
  });

  it('round-trips many records of mixed sizes, including empty ones', () => {
    const records = Array.from({ length: 200 }, (_, i) => patterned((i * 7919) % 70_000 * (i % 3 === 0 ? 0 : 1), i));
    expectRecords(readAll(write(records).contents()), records);
  });

  it('appends once per record', () => {
    const file = write([patterned(80_000, 1), text('a'), text('b')]);
    expect(file.appends).toBe(3);
  });
});

describe('LogWriter resume', () => {
  it('continues block alignment from the size of a reopened file', () => {
    const first = [patterned(40_000, 1), text('one')];
    const second = [patterned(30_000, 2), text('two'), patterned(5, 3)];
    const before = write(first).contents();
    const reopened = new MemFile('test.log', before);
    const w = new LogWriter(reopened);
    expect(w.size).toBe(before.length);
    for (const r of second) w.addRecord(r);
    expectRecords(readAll(reopened.contents()), [...first, ...second]);
    expect(reopened.contents()).toEqual(write([...first, ...second]).contents());
  });

  it('starts in the next block when the reopened file ends in the last 6 bytes of a block', () => {
    const a = patterned(BLOCK_SIZE - HEADER_SIZE - 3, 9);
    const before = write([a]).contents();
    const reopened = new MemFile('test.log', before);
    new LogWriter(reopened).addRecord(text('after'));
    const data = reopened.contents();
    expect(physicalRecords(data).at(-1)).toEqual({ offset: BLOCK_SIZE, length: 5, type: RECORD_FULL });
    expectRecords(readAll(data), [a, text('after')]);
  });
});

describe('LogWriter lifecycle', () => {
  it('syncs and closes the file; refuses records after close', () => {
    const file = new MemFile();
    const w = new LogWriter(file);
    w.addRecord(text('a'));
    w.sync();
    expect(file.syncs).toBe(1);
    w.close();
    w.close();
    expect(file.closed).toBe(true);
    expect(() => w.addRecord(text('b'))).toThrow(ClosedError);
  });

  it('refuses further records after a failed append', () => {
    const file = new MemFile();
    const w = new LogWriter(file);
    file.append = () => {
      throw new Error('disk full');
    };
    expect(() => w.addRecord(text('a'))).toThrow('disk full');
    expect(() => w.addRecord(text('b'))).toThrow(/failed earlier/);
  });
});
