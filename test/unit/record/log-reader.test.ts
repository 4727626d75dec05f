import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../../../src/base/errors.js';
import { BLOCK_SIZE, HEADER_SIZE, RECORD_FIRST, RECORD_FULL, RECORD_LAST, RECORD_MIDDLE } from '../../../src/record/format.js';
import { type DroppedRegion, LogReader, type RecoveryMode } from '../../../src/record/log-reader.js';
import { LogWriter } from '../../../src/record/log-writer.js';
import { MemFile, concat, expectRecords, fragment, patterned, text } from './mem-file.js';

const MODES: RecoveryMode[] = ['tolerateCorruptedTailRecords', 'absoluteConsistency', 'pointInTime', 'skipAnyCorruptedRecords'];

interface Written {
  data: Uint8Array;
  records: Uint8Array[];
  /** Offset of each record's first fragment header. */
  starts: number[];
  /** Offset just past each record's last fragment. */
  ends: number[];
}

function writeLog(records: Uint8Array[]): Written {
  const file = new MemFile();
  const w = new LogWriter(file);
  const starts: number[] = [];
  const ends: number[] = [];
  for (const r of records) {
    const left = BLOCK_SIZE - (w.size % BLOCK_SIZE);
    starts.push(left < HEADER_SIZE ? w.size + left : w.size);
    w.addRecord(r);
    ends.push(w.size);
  }
  return { data: file.contents(), records, starts, ends };
}

interface ReadResult {
  records: Uint8Array[];
  reader: LogReader;
  error: unknown;
  drops: DroppedRegion[];
}

function readLog(data: Uint8Array, mode: RecoveryMode): ReadResult {
  const drops: DroppedRegion[] = [];
  const reader = new LogReader(data, 'wal/000007.log', { mode, onDrop: (d) => drops.push(d) });
  const records: Uint8Array[] = [];
  let error: unknown;
  try {
    for (let r = reader.readRecord(); r !== undefined; r = reader.readRecord()) records.push(r.slice());
  } catch (err) {
    error = err;
  }
  return { records, reader, error, drops };
}

function expectCorruption(error: unknown, offset: number): void {
  expect(CorruptionError.is(error)).toBe(true);
  const e = error as CorruptionError;
  expect(e.file).toBe('wal/000007.log');
  expect(e.offset).toBe(offset);
  expect(e.message).toContain('wal/000007.log');
}

/** 100 records of 1000 bytes: about 32 per block, so damage in one block spares the others. */
function manySmall(): Written {
  return writeLog(Array.from({ length: 100 }, (_, i) => patterned(1000, i + 1)));
}

function flip(data: Uint8Array, offset: number): Uint8Array {
  const copy = data.slice();
  copy[offset]! ^= 0x10;
  return copy;
}

describe('LogReader on clean logs', () => {
  it('returns nothing for an empty file', () => {
    for (const mode of MODES) {
      const r = readLog(new Uint8Array(0), mode);
      expect(r.records).toEqual([]);
      expect(r.error).toBeUndefined();
      expect(r.reader.droppedBytes).toBe(0);
    }
  });

  it('returns single-fragment records as views into the file and tracks offsets', () => {
    const w = writeLog([text('a'), patterned(50_000, 1), text('c')]);
    const reader = new LogReader(w.data, 'x.log');
    const first = reader.readRecord()!;
    expect(first.buffer).toBe(w.data.buffer);
    expect([reader.lastRecordOffset, reader.endOfLastRecord]).toEqual([w.starts[0], w.ends[0]]);
    reader.readRecord();
    expect([reader.lastRecordOffset, reader.endOfLastRecord]).toEqual([w.starts[1], w.ends[1]]);
    expect(reader.readRecord()).toEqual(text('c'));
    expect(reader.readRecord()).toBeUndefined();
    expect(reader.readRecord()).toBeUndefined();
    expect(reader.stoppedAtOffset).toBeUndefined();
  });

  it('treats a file ending right after a block trailer as clean', () => {
    const w = writeLog([patterned(BLOCK_SIZE - HEADER_SIZE - 3, 1), text('lost')]);
    const cut = w.data.subarray(0, BLOCK_SIZE); // the trailer reached the file, the next record did not
    for (const mode of MODES) {
      const r = readLog(cut, mode);
      expect(r.error).toBeUndefined();
      expectRecords(r.records, w.records.slice(0, 1));
      expect(r.reader.droppedBytes).toBe(0);
    }
    // Cut inside the trailer instead: a torn write.
    expectCorruption(readLog(w.data.subarray(0, BLOCK_SIZE - 1), 'absoluteConsistency').error, BLOCK_SIZE - 3);
    expect(readLog(w.data.subarray(0, BLOCK_SIZE - 1), 'tolerateCorruptedTailRecords').reader.droppedBytes).toBe(2);
  });

  it('defaults to tolerateCorruptedTailRecords', () => {
    expect(new LogReader(new Uint8Array(0), 'x').mode).toBe('tolerateCorruptedTailRecords');
  });

  it('accepts an empty FIRST abandoned for a FULL (old LevelDB writer quirk)', () => {
    const data = concat(fragment(RECORD_FIRST, new Uint8Array(0)), fragment(RECORD_FULL, text('ok')));
    for (const mode of MODES) expectRecords(readLog(data, mode).records, [text('ok')]);
  });
});

describe.each([
  ['truncated header', (w: Written) => w.data.subarray(0, w.starts[99]! + 3)],
  ['truncated payload', (w: Written) => w.data.subarray(0, w.ends[99]! - 1)],
  ['bad checksum on the last record', (w: Written) => flip(w.data, w.ends[99]! - 1)],
  ['zeroed last record', (w: Written) => concat(w.data.subarray(0, w.starts[99]!), new Uint8Array(w.ends[99]! - w.starts[99]!))],
])('torn tail: %s', (_name, damage) => {
  const w = manySmall();
  const data = damage(w);
  const lost = data.length - w.starts[99]!;

  it('tolerateCorruptedTailRecords drops it silently', () => {
    const r = readLog(data, 'tolerateCorruptedTailRecords');
    expect(r.error).toBeUndefined();
    expectRecords(r.records, w.records.slice(0, 99));
    expect(r.reader.droppedBytes).toBe(lost);
    expect(r.reader.stoppedAtOffset).toBe(w.starts[99]);
    expect(r.drops).toMatchObject([{ offset: w.starts[99], atTail: true }]);
  });

  it('absoluteConsistency throws, naming file and offset', () => {
    const r = readLog(data, 'absoluteConsistency');
    expectRecords(r.records, w.records.slice(0, 99));
    expectCorruption(r.error, w.starts[99]!);
    expect(() => r.reader.readRecord()).toThrow(CorruptionError);
  });

  it('pointInTime stops there', () => {
    const r = readLog(data, 'pointInTime');
    expect(r.error).toBeUndefined();
    expectRecords(r.records, w.records.slice(0, 99));
    expect(r.reader.stoppedAtOffset).toBe(w.starts[99]);
    expect(r.reader.droppedBytes).toBe(lost);
  });

  it('skipAnyCorruptedRecords skips it', () => {
    const r = readLog(data, 'skipAnyCorruptedRecords');
    expect(r.error).toBeUndefined();
    expectRecords(r.records, w.records.slice(0, 99));
    expect(r.reader.droppedBytes).toBe(lost);
  });
});

describe('torn tail inside a fragmented record', () => {
  const w = writeLog([text('a'), patterned(100_000, 5), text('never written')]);
  // The writer died after the FIRST and MIDDLE fragments of the big record reached the file.
  const data = w.data.subarray(0, 2 * BLOCK_SIZE + 100);

  it.each(MODES)('%s', (mode) => {
    const r = readLog(data, mode);
    expectRecords(r.records, [text('a')]);
    // The error points at the damaged fragment; the dropped region starts at the record.
    if (mode === 'absoluteConsistency') expectCorruption(r.error, 2 * BLOCK_SIZE);
    else expect(r.error).toBeUndefined();
    if (mode !== 'absoluteConsistency') expect(r.reader.droppedBytes).toBe(data.length - w.starts[1]!);
  });
});

describe('bit flip in the middle followed by valid records', () => {
  const w = manySmall();
  const victim = 5;
  const data = flip(w.data, w.starts[victim]! + HEADER_SIZE + 10);
  // The reader drops the rest of the damaged block; records that start in a later block survive.
  const survivors = w.records.filter((_, i) => i < victim || w.starts[i]! >= BLOCK_SIZE);

  it('tolerateCorruptedTailRecords throws after returning the records before it', () => {
    const r = readLog(data, 'tolerateCorruptedTailRecords');
    expectRecords(r.records, w.records.slice(0, victim));
    expectCorruption(r.error, w.starts[victim]!);
    expect((r.error as Error).message).toMatch(/checksum mismatch.*followed by valid records/);
  });

  it('absoluteConsistency throws', () => {
    const r = readLog(data, 'absoluteConsistency');
    expectRecords(r.records, w.records.slice(0, victim));
    expectCorruption(r.error, w.starts[victim]!);
  });

  it('pointInTime stops before it and returns nothing after', () => {
    const r = readLog(data, 'pointInTime');
    expect(r.error).toBeUndefined();
    expectRecords(r.records, w.records.slice(0, victim));
    expect(r.reader.stoppedAtOffset).toBe(w.starts[victim]);
    expect(r.reader.droppedBytes).toBe(data.length - w.starts[victim]!);
    expect(r.drops[0]).toMatchObject({ atTail: false });
  });

  it('skipAnyCorruptedRecords drops the damaged block and continues', () => {
    const r = readLog(data, 'skipAnyCorruptedRecords');
    expect(r.error).toBeUndefined();
    expectRecords(r.records, survivors);
    // The rest of block 0, then the orphaned LAST fragment of the record that crossed into block 1.
    const crossing = w.starts.findIndex((s, i) => s < BLOCK_SIZE && w.ends[i]! > BLOCK_SIZE);
    expect(r.reader.droppedBytes).toBe(w.ends[crossing]! - w.starts[victim]!);
    expect(r.drops.map((d) => d.reason)).toEqual(['checksum mismatch', 'missing start of fragmented record']);
  });
});

describe('zeroed tail', () => {
  const w = manySmall();
  const zeros = 40_000; // spans a block boundary
  const data = concat(w.data, new Uint8Array(zeros));

  it.each(MODES)('%s', (mode) => {
    const r = readLog(data, mode);
    if (mode === 'absoluteConsistency') {
      expectCorruption(r.error, w.data.length);
      expect((r.error as Error).message).toMatch(/zero-filled region.*at the end of the log/);
      return;
    }
    expect(r.error).toBeUndefined();
    expectRecords(r.records, w.records);
    expect(r.reader.droppedBytes).toBe(zeros);
  });

  it('zeros in the middle followed by valid records are corruption', () => {
    const middle = w.data.slice();
    middle.fill(0, BLOCK_SIZE, 2 * BLOCK_SIZE);
    const r = readLog(middle, 'tolerateCorruptedTailRecords');
    expectCorruption(r.error, BLOCK_SIZE);
  });
});

describe('logical damage between valid fragments', () => {
  it('a FIRST abandoned by a FULL: tolerate throws, skip returns the FULL', () => {
    const data = concat(fragment(RECORD_FULL, text('a')), fragment(RECORD_FIRST, text('part')), fragment(RECORD_FULL, text('b')));
    const tolerate = readLog(data, 'tolerateCorruptedTailRecords');
    expectRecords(tolerate.records, [text('a')]);
    expectCorruption(tolerate.error, 8);
    const skip = readLog(data, 'skipAnyCorruptedRecords');
    expectRecords(skip.records, [text('a'), text('b')]);
    expect(skip.reader.droppedBytes).toBe(11);
    const pit = readLog(data, 'pointInTime');
    expectRecords(pit.records, [text('a')]);
    expect(pit.reader.stoppedAtOffset).toBe(8);
  });

  it('orphan MIDDLE and LAST fragments are skipped or reported', () => {
    const data = concat(fragment(RECORD_MIDDLE, text('m')), fragment(RECORD_LAST, text('l')), fragment(RECORD_FULL, text('ok')));
    expectRecords(readLog(data, 'skipAnyCorruptedRecords').records, [text('ok')]);
    expectCorruption(readLog(data, 'tolerateCorruptedTailRecords').error, 0);
  });

  it('an unknown record type with a valid checksum is corruption', () => {
    const data = concat(fragment(9, text('future')), fragment(RECORD_FULL, text('ok')));
    const r = readLog(data, 'tolerateCorruptedTailRecords');
    expectCorruption(r.error, 0);
    expect((r.error as Error).message).toContain('unknown record type 9');
    expectRecords(readLog(data, 'skipAnyCorruptedRecords').records, [text('ok')]);
  });

  it('a length running past its block is corruption', () => {
    const bad = fragment(RECORD_FULL, text('x'));
    bad[4] = 0xff;
    bad[5] = 0xff;
    const data = concat(bad, new Uint8Array(BLOCK_SIZE - bad.length), fragment(RECORD_FULL, text('ok')));
    const r = readLog(data, 'tolerateCorruptedTailRecords');
    expect((r.error as Error).message).toContain('record length runs past its block');
    expectRecords(readLog(data, 'skipAnyCorruptedRecords').records, [text('ok')]);
  });

  it('skipping long runs of garbage stays fast', () => {
    const garbage = patterned(64 * BLOCK_SIZE, 3);
    const data = concat(garbage, writeLog([text('end')]).data);
    const start = performance.now();
    const r = readLog(data, 'skipAnyCorruptedRecords');
    expect(performance.now() - start).toBeLessThan(1000);
    expectRecords(r.records, [text('end')]);
    expect(r.reader.droppedBytes).toBe(garbage.length);
  });
});
