import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../../../src/base/errors.js';
import { makeInternalKey } from '../../../src/base/internal-key.js';
import {
  TAG_COMPACT_POINTER, TAG_COMPARATOR, TAG_DELETED_FILE, TAG_LAST_SEQUENCE, TAG_LOG_NUMBER, TAG_NEW_FILE,
  TAG_NEXT_FILE_NUMBER, TAG_PREV_LOG_NUMBER, TAG_RETIRED_LARGE_VALUE_REF,
} from '../../../src/manifest/format.js';
import { VersionEdit } from '../../../src/manifest/version-edit.js';
import { fromHex, hex, text } from '../record/mem-file.js';

const COMPARATOR = 'leveldb.BytewiseComparator';

function richEdit(): VersionEdit {
  const e = new VersionEdit();
  // Fields set out of LevelDB's order on purpose: encode() must reorder them.
  e.lastSequence = 300;
  e.newFiles.push({ level: 0, meta: { number: 6, size: 1234, smallest: makeInternalKey(text('a'), 1, 1), largest: makeInternalKey(text('z'), 2, 1) } });
  e.deleteFile(2, 9);
  e.deleteFile(1, 4);
  e.deleteFile(1, 4);
  e.setCompactPointer(1, makeInternalKey(text('k'), 5, 1));
  e.nextFileNumber = 7;
  e.prevLogNumber = 0;
  e.logNumber = 5;
  e.comparatorName = COMPARATOR;
  return e;
}

/** Worked out by hand from LevelDB's VersionEdit::EncodeTo (also in docs/format/manifest.md). */
const RICH_GOLDEN =
  '01 1a' + hex(text(COMPARATOR)) +
  '02 05' + // log number 5
  '09 00' + // prev log number 0
  '03 07' + // next file number 7
  '04 ac02' + // last sequence 300
  '05 01 09 6b 0105000000000000' + // compact pointer: level 1, "k" @ seq 5, value
  '06 01 04' + '06 02 09' + // deleted files, sorted by (level, number), duplicate dropped
  '07 00 06 d209 09 61 0101000000000000 09 7a 0102000000000000'; // new file 6 at level 0

describe('VersionEdit golden bytes', () => {
  it('uses LevelDB tag numbers, with 8 retired', () => {
    expect([TAG_COMPARATOR, TAG_LOG_NUMBER, TAG_NEXT_FILE_NUMBER, TAG_LAST_SEQUENCE, TAG_COMPACT_POINTER, TAG_DELETED_FILE, TAG_NEW_FILE, TAG_RETIRED_LARGE_VALUE_REF, TAG_PREV_LOG_NUMBER])
      .toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('encodes every field in LevelDB order', () => {
    expect(hex(richEdit().encode())).toBe(RICH_GOLDEN.replace(/\s+/g, ''));
  });

  it('matches the two edits LevelDB 1.23 (classic-level) wrote to a fresh MANIFEST', () => {
    const snapshot = new VersionEdit();
    snapshot.comparatorName = COMPARATOR;
    expect(hex(snapshot.encode())).toBe('011a' + hex(text(COMPARATOR)));
    const open = new VersionEdit();
    open.logNumber = 3;
    open.prevLogNumber = 0;
    open.nextFileNumber = 4;
    open.lastSequence = 0;
    expect(hex(open.encode())).toBe('02030900030404 00'.replace(/\s/g, ''));
  });

  it('encodes an empty edit as no bytes', () => {
    expect(new VersionEdit().encode().length).toBe(0);
  });

  it('decodes what it encodes', () => {
    const d = VersionEdit.decode(fromHex(RICH_GOLDEN));
    expect(d.comparatorName).toBe(COMPARATOR);
    expect([d.logNumber, d.prevLogNumber, d.nextFileNumber, d.lastSequence]).toEqual([5, 0, 7, 300]);
    expect(d.compactPointers).toEqual([{ level: 1, key: makeInternalKey(text('k'), 5, 1) }]);
    expect(d.deletedFiles).toEqual([{ level: 1, number: 4 }, { level: 2, number: 9 }]);
    expect(d.newFiles).toEqual([{ level: 0, meta: { number: 6, size: 1234, smallest: makeInternalKey(text('a'), 1, 1), largest: makeInternalKey(text('z'), 2, 1) } }]);
    expect(hex(d.encode())).toBe(hex(fromHex(RICH_GOLDEN)));
  });

  it('round-trips large numbers up to 2^53 - 1', () => {
    const e = new VersionEdit();
    e.lastSequence = Number.MAX_SAFE_INTEGER;
    e.nextFileNumber = 2 ** 40;
    e.newFiles.push({ level: 6, meta: { number: 2 ** 33, size: 2 ** 45 + 3, smallest: new Uint8Array(8), largest: new Uint8Array(20) } });
    const d = VersionEdit.decode(e.encode());
    expect([d.lastSequence, d.nextFileNumber, d.newFiles[0]!.meta.number, d.newFiles[0]!.meta.size]).toEqual([Number.MAX_SAFE_INTEGER, 2 ** 40, 2 ** 33, 2 ** 45 + 3]);
  });

  it('refuses to encode invalid fields', () => {
    const bad = (f: (e: VersionEdit) => void) => {
      const e = new VersionEdit();
      f(e);
      return () => e.encode();
    };
    expect(bad((e) => { e.logNumber = -1; })).toThrow(RangeError);
    expect(bad((e) => { e.lastSequence = 1.5; })).toThrow(RangeError);
    expect(bad((e) => e.deleteFile(7, 1))).toThrow(/bad level 7/);
    expect(bad((e) => e.setCompactPointer(0, text('short')))).toThrow(/not an internal key/);
  });
});

describe('VersionEdit.decode corruption', () => {
  function corruption(data: Uint8Array): CorruptionError {
    try {
      VersionEdit.decode(data, 'db/MANIFEST-000004', 123);
    } catch (err) {
      expect(CorruptionError.is(err)).toBe(true);
      const e = err as CorruptionError;
      expect(e.file).toBe('db/MANIFEST-000004');
      expect(e.offset).toBe(123);
      return e;
    }
    throw new Error('decode accepted corrupt bytes');
  }

  it('rejects an unknown tag', () => {
    expect(corruption(fromHex('0205 63 00')).message).toMatch(/unknown tag 99 at byte 2/);
    expect(corruption(fromHex('64')).message).toMatch(/unknown tag 100/); // RocksDB's kNewFile4: not ours
  });

  it('rejects the retired tag 8', () => {
    expect(corruption(fromHex('08 00')).message).toMatch(/retired tag 8/);
  });

  it('rejects a truncated field', () => {
    const golden = fromHex(RICH_GOLDEN);
    const ends = new Set<number>();
    // Byte counts at which a whole field ends: truncating there is a valid (shorter) edit.
    for (const n of [28, 30, 32, 34, 37, 49, 52, 55, golden.length]) ends.add(n);
    for (let n = 1; n < golden.length; n++) {
      if (ends.has(n)) VersionEdit.decode(golden.subarray(0, n));
      else corruption(golden.subarray(0, n));
    }
  });

  it('rejects a level out of range and keys too short for an internal key', () => {
    expect(corruption(fromHex('06 07 01')).message).toMatch(/level 7 out of range/);
    expect(corruption(fromHex('05 00 03 616263')).message).toMatch(/shorter than an internal key/);
  });

  it('rejects numbers beyond 2^53 and a non-UTF-8 comparator name', () => {
    expect(corruption(fromHex('04 ffffffffffffffff7f')).message).toMatch(/exceeds 2\^53/);
    expect(corruption(fromHex('01 02 c328')).message).toMatch(/malformed comparator name/);
  });
});
