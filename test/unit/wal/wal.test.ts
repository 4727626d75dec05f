import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../../../src/base/errors.js';
import { BLOCK_SIZE, RECORD_FULL } from '../../../src/record/format.js';
import type { RecoveryMode } from '../../../src/record/log-reader.js';
import { replayWal } from '../../../src/wal/wal-replay.js';
import { WalWriter } from '../../../src/wal/wal-writer.js';
import { WriteBatch } from '../../../src/wal/write-batch.js';
import { MemFile, concat, fragment, memFs, patterned, text } from '../record/mem-file.js';

const PATH = 'db/000012.log';

interface Wal {
  data: Uint8Array;
  /** Offset of each batch's record and just past it. */
  starts: number[];
  ends: number[];
}

/** Batch i holds i % 4 + 1 puts of 500-byte values, so a few batches fit in each block. */
function writeWal(n: number): Wal {
  const file = new MemFile(PATH);
  const wal = new WalWriter(file);
  const starts: number[] = [];
  const ends: number[] = [];
  let seq = 1;
  for (let i = 0; i < n; i++) {
    const b = new WriteBatch();
    for (let j = 0; j <= i % 4; j++) b.put(text(`k${i}.${j}`), patterned(500, i * 10 + j));
    b.setSequence(seq);
    seq += b.count;
    starts.push(wal.size);
    wal.add(b);
    ends.push(wal.size);
  }
  wal.sync();
  expect(file.syncs).toBe(1);
  return { data: file.contents(), starts, ends };
}

function replay(data: Uint8Array, mode: RecoveryMode): { keys: string[]; sequences: number[]; result?: ReturnType<typeof replayWal>; error?: unknown } {
  const keys: string[] = [];
  const sequences: number[] = [];
  try {
    const result = replayWal(memFs(new Map([[PATH, data]])), PATH, mode, (batch) => {
      sequences.push(batch.sequence);
      batch.forEach((_kind, key) => keys.push(new TextDecoder().decode(key)));
    });
    return { keys, sequences, result };
  } catch (error) {
    return { keys, sequences, error };
  }
}

/** Sequence numbers of the first n batches written by writeWal. */
function firstSequences(n: number): number[] {
  const out: number[] = [];
  let seq = 1;
  for (let i = 0; i < n; i++) {
    out.push(seq);
    seq += (i % 4) + 1;
  }
  return out;
}

describe('WalWriter + replayWal', () => {
  it('replays every batch in order with the last sequence number', () => {
    const wal = writeWal(40);
    const r = replay(wal.data, 'absoluteConsistency');
    expect(r.error).toBeUndefined();
    expect(r.sequences).toEqual(firstSequences(40));
    expect(r.result).toEqual({ batches: 40, lastSequence: firstSequences(41)[40]! - 1, droppedBytes: 0 });
    expect(r.keys.slice(0, 4)).toEqual(['k0.0', 'k1.0', 'k1.1', 'k2.0']);
  });

  it('resumes an existing WAL file', () => {
    const first = writeWal(3).data;
    const file = new MemFile(PATH, first);
    const wal = new WalWriter(file);
    expect(wal.size).toBe(first.length);
    const b = new WriteBatch();
    b.delete(text('gone'));
    b.setSequence(100);
    wal.add(b);
    wal.close();
    expect(file.closed).toBe(true);
    const r = replay(file.contents(), 'absoluteConsistency');
    expect(r.result).toMatchObject({ batches: 4, lastSequence: 100 });
    expect(r.keys.at(-1)).toBe('gone');
  });

  it('reports an empty file as no batches', () => {
    expect(replay(new Uint8Array(0), 'absoluteConsistency').result).toEqual({ batches: 0, lastSequence: 0, droppedBytes: 0 });
  });

  it('propagates a missing file', () => {
    expect(() => replayWal(memFs(new Map()), PATH, 'pointInTime', () => {})).toThrow(/no such file/);
  });
});

describe.each<[string, (w: Wal) => Uint8Array, number]>([
  ['torn tail', (w) => w.data.subarray(0, w.ends[29]! - 100), 29],
  ['zeroed tail', (w) => concat(w.data, new Uint8Array(BLOCK_SIZE + 10)), 30],
])('WAL %s', (_name, damage, intact) => {
  const wal = writeWal(30);
  const data = damage(wal);
  it.each<RecoveryMode>(['tolerateCorruptedTailRecords', 'pointInTime', 'skipAnyCorruptedRecords'])('%s keeps the intact prefix', (mode) => {
    const r = replay(data, mode);
    expect(r.error).toBeUndefined();
    expect(r.sequences).toEqual(firstSequences(intact));
    expect(r.result!.droppedBytes).toBe(data.length - (wal.ends[intact - 1] ?? 0));
  });
  it('absoluteConsistency throws naming the file', () => {
    const r = replay(data, 'absoluteConsistency');
    expect(CorruptionError.is(r.error)).toBe(true);
    expect((r.error as CorruptionError).file).toBe(PATH);
    expect(r.sequences).toEqual(firstSequences(intact));
  });
});

describe('WAL bit flip followed by valid batches', () => {
  const wal = writeWal(60);
  const victim = 3;
  const data = wal.data.slice();
  data[wal.starts[victim]! + 20]! ^= 1;

  it('tolerateCorruptedTailRecords and absoluteConsistency throw', () => {
    for (const mode of ['tolerateCorruptedTailRecords', 'absoluteConsistency'] as const) {
      const r = replay(data, mode);
      expect(CorruptionError.is(r.error)).toBe(true);
      expect((r.error as CorruptionError).offset).toBe(wal.starts[victim]);
      expect(r.sequences).toEqual(firstSequences(victim));
    }
  });

  it('pointInTime stops before it', () => {
    const r = replay(data, 'pointInTime');
    expect(r.sequences).toEqual(firstSequences(victim));
    expect(r.result!.droppedBytes).toBe(data.length - wal.starts[victim]!);
  });

  it('skipAnyCorruptedRecords replays the batches of later blocks', () => {
    const r = replay(data, 'skipAnyCorruptedRecords');
    const expected = firstSequences(60).filter((_, i) => i < victim || wal.starts[i]! >= BLOCK_SIZE);
    expect(r.sequences).toEqual(expected);
    expect(r.result!.batches).toBe(expected.length);
    expect(r.result!.droppedBytes).toBeGreaterThan(0);
  });
});

describe('WAL records that are not write batches', () => {
  const good = (seq: number): Uint8Array => {
    const b = new WriteBatch();
    b.put(text(`k${seq}`), text('v'));
    b.setSequence(seq);
    return fragment(RECORD_FULL, b.rep());
  };
  const short = fragment(RECORD_FULL, new Uint8Array(5)); // valid checksum, too short for a batch

  it('a short record in the middle: tolerate throws, pointInTime stops, skip skips', () => {
    const data = concat(good(1), short, good(2));
    const tolerate = replay(data, 'tolerateCorruptedTailRecords');
    expect((tolerate.error as CorruptionError).offset).toBe(good(1).length);
    expect((tolerate.error as Error).message).toMatch(/shorter than its 12-byte header.*000012\.log/);
    expect(replay(data, 'absoluteConsistency').error).toBeInstanceOf(CorruptionError);
    const pit = replay(data, 'pointInTime');
    expect(pit.keys).toEqual(['k1']);
    expect(pit.result!.droppedBytes).toBe(short.length + good(2).length);
    const skip = replay(data, 'skipAnyCorruptedRecords');
    expect(skip.keys).toEqual(['k1', 'k2']);
    expect(skip.result).toEqual({ batches: 2, lastSequence: 2, droppedBytes: short.length });
  });

  it('a short record at the tail is dropped by tolerate', () => {
    const data = concat(good(1), short);
    const r = replay(data, 'tolerateCorruptedTailRecords');
    expect(r.keys).toEqual(['k1']);
    expect(r.result!.droppedBytes).toBe(short.length);
  });

  it('a bad batch followed only by a torn tail counts as tail damage', () => {
    const data = concat(good(1), short, good(2).subarray(0, 10));
    const r = replay(data, 'tolerateCorruptedTailRecords');
    expect(r.keys).toEqual(['k1']);
    expect(r.result!.droppedBytes).toBe(short.length + 10);
  });
});
