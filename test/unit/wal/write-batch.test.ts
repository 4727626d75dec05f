import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../../../src/base/errors.js';
import { WRITE_BATCH_HEADER_SIZE, WriteBatch } from '../../../src/wal/write-batch.js';
import { fromHex, hex, text } from '../record/mem-file.js';

type Update = [kind: number, key: string, value: string];

function updates(batch: WriteBatch): Update[] {
  const out: Update[] = [];
  const dec = new TextDecoder();
  batch.forEach((kind, key, value) => out.push([kind, dec.decode(key), dec.decode(value)]));
  return out;
}

function sample(): WriteBatch {
  const b = new WriteBatch();
  b.put(text('k1'), text('v1'));
  b.delete(text('k2'));
  b.merge(text('k3'), text('+1'));
  b.deleteRange(text('a'), text('m'));
  return b;
}

describe('WriteBatch encoding', () => {
  it('starts as a 12-byte header with sequence 0 and count 0', () => {
    const b = new WriteBatch();
    expect(hex(b.rep())).toBe('00'.repeat(12));
    expect([b.count, b.byteSize, b.sequence]).toEqual([0, 12, 0]);
  });

  it('encodes LevelDB tags (1 value, 0 deletion) and RocksDB tags (2 merge, 0xF range deletion)', () => {
    const b = sample();
    b.setSequence(0x0102030405);
    expect(hex(b.rep())).toBe(
      '0504030201000000' + '04000000' +
      '01' + '02' + hex(text('k1')) + '02' + hex(text('v1')) +
      '00' + '02' + hex(text('k2')) +
      '02' + '02' + hex(text('k3')) + '02' + hex(text('+1')) +
      '0f' + '01' + hex(text('a')) + '01' + hex(text('m')),
    );
    expect(b.sequence).toBe(0x0102030405);
    expect(b.count).toBe(4);
    expect(b.byteSize).toBe(b.rep().length);
  });

  it('decodes the batch LevelDB 1.23 wrote for put(b)+del(a) at sequence 2', () => {
    const rep = fromHex('0200000000000000 02000000 01 0162 0132 00 0161');
    const b = WriteBatch.fromRep(rep);
    expect([b.sequence, b.count]).toEqual([2, 2]);
    expect(updates(b)).toEqual([[1, 'b', '2'], [0, 'a', '']]);
    const again = new WriteBatch();
    again.put(text('b'), text('2'));
    again.delete(text('a'));
    again.setSequence(2);
    expect(again.rep()).toEqual(rep);
  });

  it('round-trips through fromRep, copying the bytes', () => {
    const b = sample();
    b.setSequence(77);
    const rep = b.rep().slice();
    const c = WriteBatch.fromRep(rep);
    rep.fill(0xee);
    expect(updates(c)).toEqual(updates(b));
    expect([c.sequence, c.count]).toEqual([77, 4]);
    expect(updates(c)).toEqual([[1, 'k1', 'v1'], [0, 'k2', ''], [2, 'k3', '+1'], [0xf, 'a', 'm']]);
  });

  it('handles empty keys and values and large ones', () => {
    const b = new WriteBatch();
    const big = new Uint8Array(300_000).fill(7);
    b.put(new Uint8Array(0), new Uint8Array(0));
    b.put(text('big'), big);
    const c = WriteBatch.fromRep(b.rep());
    const seen: Uint8Array[] = [];
    c.forEach((_k, key, value) => seen.push(key, value));
    expect(seen[0]!.length + seen[1]!.length).toBe(0);
    expect(Buffer.from(seen[3]!).equals(Buffer.from(big))).toBe(true);
  });

  it('forEachRaw reports offsets into the rep', () => {
    const b = sample();
    const raw: number[][] = [];
    b.forEachRaw((kind, rep, ks, ke, vs, ve) => {
      expect(rep.buffer).toBe(b.rep().buffer);
      raw.push([kind, ke - ks, ve - vs]);
    });
    expect(raw).toEqual([[1, 2, 2], [0, 2, 0], [2, 2, 2], [0xf, 1, 1]]);
  });

  it('clear() empties the batch and resets the sequence', () => {
    const b = sample();
    b.setSequence(9);
    b.clear();
    expect([b.count, b.byteSize, b.sequence]).toEqual([0, WRITE_BATCH_HEADER_SIZE, 0]);
    expect(hex(b.rep())).toBe('00'.repeat(12));
    b.put(text('x'), text('y'));
    expect(updates(b)).toEqual([[1, 'x', 'y']]);
  });

  it('append() concatenates updates and keeps the first sequence', () => {
    const a = new WriteBatch();
    a.put(text('a'), text('1'));
    a.setSequence(10);
    const b = sample();
    b.setSequence(99);
    a.append(b);
    expect(a.count).toBe(5);
    expect(a.sequence).toBe(10);
    expect(updates(WriteBatch.fromRep(a.rep())).map((u) => u[1])).toEqual(['a', 'k1', 'k2', 'k3', 'a']);
    a.append(a);
    expect(a.count).toBe(10);
    expect(WriteBatch.fromRep(a.rep()).count).toBe(10);
  });

  it('grows its buffer across many updates', () => {
    const b = new WriteBatch();
    for (let i = 0; i < 10_000; i++) b.put(text(`key${i}`), text(`value${i}`));
    expect(WriteBatch.fromRep(b.rep()).count).toBe(10_000);
  });
});

describe('WriteBatch argument checks', () => {
  it('accepts Buffers', () => {
    const b = new WriteBatch();
    b.put(Buffer.from('k'), Buffer.from('v'));
    expect(updates(b)).toEqual([[1, 'k', 'v']]);
  });

  it.each([
    ['put key', (b: WriteBatch) => b.put('k' as unknown as Uint8Array, text('v')), /put: key must be a Uint8Array.*got string/],
    ['put value', (b: WriteBatch) => b.put(text('k'), null as unknown as Uint8Array), /put: value must be a Uint8Array.*got null/],
    ['delete key', (b: WriteBatch) => b.delete(42 as unknown as Uint8Array), /delete: key.*got number/],
    ['merge operand', (b: WriteBatch) => b.merge(text('k'), [1] as unknown as Uint8Array), /merge: operand.*got Array/],
    ['deleteRange end', (b: WriteBatch) => b.deleteRange(text('a'), undefined as unknown as Uint8Array), /deleteRange: end.*got undefined/],
    ['a DataView', (b: WriteBatch) => b.put(new DataView(new ArrayBuffer(1)) as unknown as Uint8Array, text('v')), /got DataView/],
  ])('rejects a non-Uint8Array %s with TypeError', (_name, call, message) => {
    const b = new WriteBatch();
    expect(() => call(b)).toThrow(TypeError);
    expect(() => call(b)).toThrow(message);
    expect(b.count).toBe(0);
  });

  it('rejects deleteRange with start after end, allows start == end', () => {
    const b = new WriteBatch();
    expect(() => b.deleteRange(text('b'), text('a'))).toThrow(RangeError);
    expect(() => b.deleteRange(text('ab'), text('a'))).toThrow(RangeError);
    b.deleteRange(text('a'), text('a'));
    expect(b.count).toBe(1);
  });

  it('rejects bad sequence numbers', () => {
    expect(() => new WriteBatch().setSequence(-1)).toThrow(RangeError);
    expect(() => new WriteBatch().setSequence(1.5)).toThrow(RangeError);
    expect(() => new WriteBatch().setSequence(2 ** 53)).toThrow(RangeError);
  });
});

describe('WriteBatch.fromRep validation', () => {
  const good = (): Uint8Array => {
    const b = sample();
    b.setSequence(5);
    return b.rep().slice();
  };

  function corrupt(data: Uint8Array, message: RegExp): void {
    let error: unknown;
    try {
      WriteBatch.fromRep(data, 'db/000009.log');
    } catch (err) {
      error = err;
    }
    expect(CorruptionError.is(error)).toBe(true);
    expect((error as CorruptionError).file).toBe('db/000009.log');
    expect((error as Error).message).toMatch(message);
  }

  it('rejects a rep shorter than the header', () => corrupt(new Uint8Array(11), /shorter than its 12-byte header/));

  it('rejects a sequence number beyond 2^53', () => corrupt(fromHex('ffffffffffffffff 00000000'), /exceeds 2\^53/));

  it('rejects a wrong count', () => {
    const data = good();
    data[8] = 5;
    corrupt(data, /wrong count/);
  });

  it('rejects an unknown tag', () => {
    const data = good();
    data[12] = 0x07;
    corrupt(data, /unknown write batch tag 7 at byte 12/);
  });

  it('rejects every truncation inside the updates', () => {
    const data = good();
    const boundaries = new Set([19, 23, 30]); // ends of whole updates
    expect(data.length).toBe(35);
    for (let n = 13; n < data.length; n++) {
      corrupt(data.subarray(0, n), boundaries.has(n) ? /wrong count/ : /truncated write batch update/);
    }
  });

  it('leaves the file unnamed when none is given', () => {
    expect(() => WriteBatch.fromRep(new Uint8Array(3))).toThrow(CorruptionError);
  });
});
