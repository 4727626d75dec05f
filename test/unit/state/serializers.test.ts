import { describe, expect, expectTypeOf, it } from 'vitest';
import { type TypeSerializer, Serializers } from '../../../src/state/serializers.js';
import { hex } from '../../helpers/fc-params.js';

const S = Serializers;

describe('names and fixed lengths', () => {
  it('are stable', () => {
    const table: [TypeSerializer<unknown>, string, number | undefined][] = [
      [S.string, 'string', undefined],
      [S.int32, 'int32', 4],
      [S.int64, 'int64', 8],
      [S.float64, 'float64', 8],
      [S.boolean, 'boolean', 1],
      [S.bytes, 'bytes', undefined],
      [S.json, 'json', undefined],
      [S.void, 'void', 0],
      [S.tuple(S.string, S.int64), 'tuple(string,int64)', undefined],
      [S.tuple(S.int32, S.boolean, S.void), 'tuple(int32,boolean,void)', 5],
      [S.tuple(), 'tuple()', 0],
      [S.list(S.int32), 'list(int32)', undefined],
      [S.list(S.tuple(S.string, S.list(S.float64))), 'list(tuple(string,list(float64)))', undefined],
    ];
    for (const [s, name, fixed] of table) expect([s.name, s.fixedLength]).toEqual([name, fixed]);
  });
});

describe('int32', () => {
  it('is big-endian with the sign bit flipped (golden bytes)', () => {
    expect(hex(S.int32.serialize(0))).toBe('80000000');
    expect(hex(S.int32.serialize(1))).toBe('80000001');
    expect(hex(S.int32.serialize(-1))).toBe('7fffffff');
    expect(hex(S.int32.serialize(-0x80000000))).toBe('00000000');
    expect(hex(S.int32.serialize(0x7fffffff))).toBe('ffffffff');
    for (const v of [0, 1, -1, -0x80000000, 0x7fffffff, 123456]) expect(S.int32.deserialize(S.int32.serialize(v))).toBe(v);
  });

  it('rejects wrong types, non-integers and out-of-range values', () => {
    expect(() => S.int32.serialize('1' as unknown as number)).toThrow(TypeError);
    expect(() => S.int32.serialize(1n as unknown as number)).toThrow(TypeError);
    for (const v of [1.5, Number.NaN, Infinity, 0x80000000, -0x80000001]) expect(() => S.int32.serialize(v)).toThrow(RangeError);
    expect(() => S.int32.deserialize(new Uint8Array(3))).toThrow(RangeError);
    expect(() => S.int32.deserialize(new Uint8Array(5))).toThrow(RangeError);
  });
});

describe('int64', () => {
  it('is big-endian with the sign bit flipped (golden bytes)', () => {
    expect(hex(S.int64.serialize(0n))).toBe('8000000000000000');
    expect(hex(S.int64.serialize(-1n))).toBe('7fffffffffffffff');
    expect(hex(S.int64.serialize(-(1n << 63n)))).toBe('0000000000000000');
    expect(hex(S.int64.serialize((1n << 63n) - 1n))).toBe('ffffffffffffffff');
    expect(hex(S.int64.serialize(0x0102030405060708n))).toBe('8102030405060708');
  });

  it('rejects numbers and out-of-range bigints', () => {
    expect(() => S.int64.serialize(1 as unknown as bigint)).toThrow(TypeError);
    expect(() => S.int64.serialize(1n << 63n)).toThrow(RangeError);
    expect(() => S.int64.serialize(-(1n << 63n) - 1n)).toThrow(RangeError);
    expect(() => S.int64.deserialize(new Uint8Array(7))).toThrow(RangeError);
  });

  it('reads from a view at an odd offset', () => {
    const buf = new Uint8Array(11);
    buf.set(S.int64.serialize(-42n), 3);
    expect(S.int64.deserialize(buf.subarray(3))).toBe(-42n);
  });
});

describe('float64', () => {
  it('is order-preserving IEEE 754 (golden bytes)', () => {
    expect(hex(S.float64.serialize(1))).toBe('bff0000000000000');
    expect(hex(S.float64.serialize(-1))).toBe('400fffffffffffff');
    expect(hex(S.float64.serialize(0))).toBe('8000000000000000');
    expect(hex(S.float64.serialize(-0))).toBe('7fffffffffffffff');
    expect(hex(S.float64.serialize(Infinity))).toBe('fff0000000000000');
    expect(hex(S.float64.serialize(-Infinity))).toBe('000fffffffffffff');
  });

  it('keeps -0 distinct from +0 and canonicalises NaN (sorting above +Infinity)', () => {
    expect(Object.is(S.float64.deserialize(S.float64.serialize(-0)), -0)).toBe(true);
    expect(Object.is(S.float64.deserialize(S.float64.serialize(0)), 0)).toBe(true);
    const nan = S.float64.serialize(Number.NaN);
    expect(hex(nan)).toBe('fff8000000000000');
    expect(Number.isNaN(S.float64.deserialize(nan))).toBe(true);
    // Another NaN bit pattern (negative, with payload) encodes the same.
    const odd = new DataView(new ArrayBuffer(8));
    odd.setUint32(0, 0xfff12345);
    expect(hex(S.float64.serialize(odd.getFloat64(0)))).toBe('fff8000000000000');
  });

  it('rejects non-numbers and wrong lengths', () => {
    expect(() => S.float64.serialize('1' as unknown as number)).toThrow(TypeError);
    expect(() => S.float64.deserialize(new Uint8Array(4))).toThrow(RangeError);
  });
});

describe('string', () => {
  it('is UTF-8', () => {
    expect(hex(S.string.serialize('aé€😀'))).toBe('61c3a9e282acf09f9880');
    expect(S.string.serialize('').length).toBe(0);
    for (const s of ['', 'a\u0000b', '\uFEFFbom', 'aé€😀', '\uFFFF']) expect(S.string.deserialize(S.string.serialize(s))).toBe(s);
  });

  it('rejects lone surrogates and invalid UTF-8 with RangeError, non-strings with TypeError', () => {
    for (const s of ['\uD800', 'a\uDC00', '\uDBFF\uDBFF\uDC00x\uD800']) expect(() => S.string.serialize(s)).toThrow(RangeError);
    expect(() => S.string.serialize(1 as unknown as string)).toThrow(TypeError);
    for (const b of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
      expect(() => S.string.deserialize(Uint8Array.from(b))).toThrow(RangeError);
    }
  });
});

describe('boolean', () => {
  it('is one byte 0 or 1', () => {
    expect(hex(S.boolean.serialize(false))).toBe('00');
    expect(hex(S.boolean.serialize(true))).toBe('01');
    expect(S.boolean.deserialize(Uint8Array.of(1))).toBe(true);
    expect(S.boolean.deserialize(Uint8Array.of(0))).toBe(false);
    expect(() => S.boolean.deserialize(Uint8Array.of(2))).toThrow(RangeError);
    expect(() => S.boolean.deserialize(new Uint8Array(0))).toThrow(RangeError);
    expect(() => S.boolean.serialize(1 as unknown as boolean)).toThrow(TypeError);
  });
});

describe('bytes', () => {
  it('copies both ways', () => {
    const input = Uint8Array.of(1, 0, 2);
    const out = S.bytes.serialize(input);
    input[0] = 9;
    expect([...out]).toEqual([1, 0, 2]);
    const back = S.bytes.deserialize(out);
    out[0] = 7;
    expect([...back]).toEqual([1, 0, 2]);
    expect(Object.getPrototypeOf(S.bytes.serialize(Buffer.from('ab')))).toBe(Uint8Array.prototype);
    expect(() => S.bytes.serialize('ab' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => S.bytes.serialize([1, 2] as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('json', () => {
  it('round-trips JSON values', () => {
    for (const v of [null, 0, -1.5, 'x', true, [], [1, 'a', null], { a: { b: [1, 2] }, c: 'é' }]) {
      expect(S.json.deserialize(S.json.serialize(v))).toEqual(v);
    }
    expect(new TextDecoder().decode(S.json.serialize({ a: 1 }))).toBe('{"a":1}');
  });

  it('rejects values without a JSON form (TypeError) and bytes that are not JSON (RangeError)', () => {
    expect(() => S.json.serialize(undefined)).toThrow(TypeError);
    expect(() => S.json.serialize(() => 1)).toThrow(TypeError);
    expect(() => S.json.serialize(1n)).toThrow(TypeError);
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    expect(() => S.json.serialize(cyclic)).toThrow(TypeError);
    expect(() => S.json.deserialize(new TextEncoder().encode('{'))).toThrow(RangeError);
    expect(() => S.json.deserialize(Uint8Array.of(0xff))).toThrow(RangeError);
  });
});

describe('void', () => {
  it('is zero bytes for undefined', () => {
    expect(S.void.serialize(undefined).length).toBe(0);
    expect(S.void.deserialize(new Uint8Array(0))).toBeUndefined();
    expect(() => S.void.serialize(null as unknown as undefined)).toThrow(TypeError);
    expect(() => S.void.deserialize(new Uint8Array(1))).toThrow(RangeError);
  });
});

describe('tuple', () => {
  it('writes fixed elements raw, variable ones escaped except the last (golden bytes)', () => {
    const t = S.tuple(S.string, S.int32);
    expect(hex(t.serialize(['a\u0000', 1]))).toBe('6100ff000180000001');
    expect(t.deserialize(t.serialize(['a\u0000', 1]))).toEqual(['a\u0000', 1]);
    const u = S.tuple(S.int32, S.string);
    expect(hex(u.serialize([1, 'a\u0000']))).toBe('8000000161' + '00');
    expect(u.deserialize(u.serialize([1, 'a\u0000']))).toEqual([1, 'a\u0000']);
    const v = S.tuple(S.string, S.bytes, S.string);
    expect(hex(v.serialize(['', Uint8Array.of(0), 'z']))).toBe('0001' + '00ff0001' + '7a');
    expect(S.tuple().serialize([]).length).toBe(0);
    expect(S.tuple().deserialize(new Uint8Array(0))).toEqual([]);
  });

  it('nests', () => {
    const t = S.tuple(S.tuple(S.string, S.string), S.list(S.int64), S.void, S.boolean);
    const value: [[string, string], bigint[], undefined, boolean] = [['a', ''], [1n, -2n], undefined, true];
    expect(t.deserialize(t.serialize(value))).toEqual(value);
  });

  it('rejects wrong shapes and malformed bytes', () => {
    const t = S.tuple(S.string, S.int32);
    expect(() => t.serialize('ab' as unknown as [string, number])).toThrow(TypeError);
    expect(() => t.serialize(['a'] as unknown as [string, number])).toThrow(TypeError);
    expect(() => t.serialize(['a', 1, 2] as unknown as [string, number])).toThrow(TypeError);
    expect(() => t.serialize(['a', 'b'] as unknown as [string, number])).toThrow(TypeError);
    expect(() => t.serialize(['a', 1.5])).toThrow(RangeError);
    expect(() => t.deserialize(Uint8Array.of(0x61, 0x00, 0x01, 0x80))).toThrow(RangeError); // short int32
    expect(() => t.deserialize(Uint8Array.of(0x61, 0x00, 0x01, 0x80, 0, 0, 1, 9))).toThrow(RangeError); // trailing
    expect(() => t.deserialize(Uint8Array.of(0x61, 0x80, 0, 0, 1))).toThrow(RangeError); // unterminated
    expect(() => t.deserialize(Uint8Array.of(0x61, 0x00, 0x02, 0x80, 0, 0, 1))).toThrow(RangeError); // bad escape
    expect(() => S.tuple(S.int32, S.int32).deserialize(new Uint8Array(7))).toThrow(RangeError);
  });

  it('types its elements', () => {
    expectTypeOf(S.tuple(S.string, S.int64)).toEqualTypeOf<TypeSerializer<[string, bigint]>>();
    expectTypeOf(S.tuple(S.int32, S.list(S.boolean))).toEqualTypeOf<TypeSerializer<[number, boolean[]]>>();
    expectTypeOf(S.list(S.tuple(S.string, S.void))).toEqualTypeOf<TypeSerializer<[string, undefined][]>>();
  });
});

describe('list', () => {
  it('escapes and terminates every element (golden bytes)', () => {
    const l = S.list(S.int32);
    expect(hex(l.serialize([]))).toBe('');
    expect(hex(l.serialize([1]))).toBe('8000ff00ff010001');
    expect(hex(l.serialize([-0x80000000, 1]))).toBe('00ff00ff00ff00ff0001' + '8000ff00ff010001');
    expect(l.deserialize(l.serialize([-0x80000000, 1]))).toEqual([-0x80000000, 1]);
    const ls = S.list(S.string);
    expect(ls.deserialize(ls.serialize(['', '', 'a']))).toEqual(['', '', 'a']);
    const lv = S.list(S.void);
    expect(lv.deserialize(lv.serialize([undefined, undefined]))).toEqual([undefined, undefined]);
  });

  it('rejects non-arrays, bad elements and malformed bytes', () => {
    const l = S.list(S.int32);
    expect(() => l.serialize(1 as unknown as number[])).toThrow(TypeError);
    expect(() => l.serialize(['1'] as unknown as number[])).toThrow(TypeError);
    expect(() => l.deserialize(Uint8Array.of(0x80, 0, 0, 1))).toThrow(RangeError);
    expect(() => l.deserialize(Uint8Array.of(0x80, 0, 0, 0x00, 0x01))).toThrow(RangeError); // 3-byte element
    expect(() => l.deserialize(Uint8Array.of(0x00, 0x00))).toThrow(RangeError);
  });
});
