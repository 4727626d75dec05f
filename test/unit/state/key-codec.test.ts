import { describe, expect, it } from 'vitest';
import {
  MAX_STATE_ID, REGISTRY_STATE_ID, StateKeyLayout, decodeKeyGroup, decodeStateId, encodeStateId, escape, escapedLength,
  prefixSuccessor, readEscaped, unescape, writeEscaped,
} from '../../../src/state/key-codec.js';
import { fromHex, hex } from '../../helpers/fc-params.js';

const b = (...x: number[]): Uint8Array => Uint8Array.from(x);

describe('escaping', () => {
  it('writes 0x00 as 0x00 0xFF and ends with 0x00 0x01 (golden bytes)', () => {
    expect(hex(escape(b()))).toBe('0001');
    expect(hex(escape(b(0)))).toBe('00ff0001');
    expect(hex(escape(b(1, 0, 0, 0xff)))).toBe('0100ff00ffff0001');
    expect(escapedLength(b(1, 0, 0, 0xff))).toBe(8);
  });

  it('writes at an offset and reports the end', () => {
    const out = new Uint8Array(8).fill(0xee);
    expect(writeEscaped(out, 2, b(0, 7))).toBe(7);
    expect(hex(out)).toBe('eeee00ff070001ee');
    expect(readEscaped(out, 2)).toEqual({ value: b(0, 7), end: 7 });
  });

  it('reads back fresh arrays', () => {
    const enc = escape(b(5, 6));
    const { value } = readEscaped(enc, 0);
    enc[0] = 9;
    expect([...value]).toEqual([5, 6]);
    expect(unescape(escape(b(0, 0, 1)))).toEqual(b(0, 0, 1));
  });

  it('rejects unterminated parts, bad escapes and trailing bytes', () => {
    expect(() => readEscaped(b(1, 2), 0)).toThrow(RangeError);
    expect(() => readEscaped(b(1, 0), 0)).toThrow(RangeError);
    expect(() => readEscaped(b(1, 0, 2, 0, 1), 0)).toThrow(RangeError);
    expect(() => unescape(b(0, 1, 5))).toThrow(RangeError);
  });
});

describe('state ids', () => {
  it('are u16 big-endian', () => {
    expect(REGISTRY_STATE_ID).toBe(0);
    expect(MAX_STATE_ID).toBe(0xffff);
    expect(hex(encodeStateId(0x0102))).toBe('0102');
    expect(hex(encodeStateId(0xffff))).toBe('ffff');
    expect(decodeStateId(b(0xab, 0xcd, 1))).toBe(0xabcd);
    for (const v of [-1, 0x10000, 1.5]) expect(() => encodeStateId(v)).toThrow(RangeError);
    expect(() => decodeStateId(b(1))).toThrow(RangeError);
  });

  it('are followed by the key group', () => {
    expect(decodeKeyGroup(b(0, 1, 0x7f), 1)).toBe(0x7f);
    expect(decodeKeyGroup(b(0, 1, 0x7f, 0x12), 2)).toBe(0x7f12);
    expect(() => decodeKeyGroup(b(0, 1, 0x7f), 2)).toThrow(RangeError);
  });
});

describe('prefixSuccessor', () => {
  it('increments the last byte that is not 0xFF and drops the rest', () => {
    expect(hex(prefixSuccessor(b(1, 2))!)).toBe('0103');
    expect(hex(prefixSuccessor(b(1, 0xff, 0xff))!)).toBe('02');
    expect(hex(prefixSuccessor(b(0))!)).toBe('01');
    expect(prefixSuccessor(b(0xff, 0xff))).toBeUndefined();
    expect(prefixSuccessor(b())).toBeUndefined();
  });

  it('never modifies its argument, also when it is a Buffer', () => {
    const p = Buffer.from([1, 2, 0xff]);
    expect(hex(prefixSuccessor(p)!)).toBe('0103');
    expect(hex(p)).toBe('0102ff');
  });
});

describe('StateKeyLayout', () => {
  const varLayout = new StateKeyLayout({ stateId: 0x0102, keyGroupPrefixBytes: 2, keyFixedLength: undefined, namespaceFixedLength: undefined });
  const fixedLayout = new StateKeyLayout({ stateId: 7, keyGroupPrefixBytes: 1, keyFixedLength: 4, namespaceFixedLength: 0 });

  it('lays out [stateId][keyGroup][key][namespace][userKey] (golden bytes)', () => {
    expect(hex(varLayout.entryKey(0x0304, b(0x61, 0), b(0x6e)))).toBe('0102' + '0304' + '6100ff0001' + '6e0001');
    expect(hex(varLayout.entryKey(5, b(), b(), b(0, 9)))).toBe('0102' + '0005' + '0001' + '0001' + '0009');
    expect(hex(fixedLayout.entryKey(200, b(0x80, 0, 0, 1), b()))).toBe('0007' + 'c8' + '80000001');
    expect(hex(fixedLayout.entryKey(200, b(0x80, 0, 0, 1), b(), b(0xaa)))).toBe('0007c880000001aa');
  });

  it('builds the prefixes', () => {
    expect(hex(varLayout.statePrefix())).toBe('0102');
    expect(hex(varLayout.keyGroupPrefix(0x0304))).toBe('01020304');
    expect(hex(varLayout.keyPrefix(0x0304, b(0x61)))).toBe('01020304' + '610001');
    expect(hex(varLayout.keyNamespacePrefix(0x0304, b(0x61), b(0)))).toBe('01020304' + '610001' + '00ff0001');
    expect(hex(fixedLayout.keyGroupPrefix(3))).toBe('000703');
    expect(hex(fixedLayout.keyPrefix(3, b(1, 2, 3, 4)))).toBe('00070301020304');
  });

  it('decodes what it encodes, into fresh arrays', () => {
    const key = varLayout.entryKey(0x0304, b(0x61, 0), b(0, 0), b(0, 1));
    const d = varLayout.decode(key);
    expect(d).toEqual({ stateId: 0x0102, keyGroup: 0x0304, key: b(0x61, 0), namespace: b(0, 0), userKey: b(0, 1) });
    key.fill(0xee);
    expect(d.userKey).toEqual(b(0, 1));
    const f = fixedLayout.decode(Buffer.from(fixedLayout.entryKey(9, b(1, 2, 3, 4), b())));
    expect(f).toEqual({ stateId: 7, keyGroup: 9, key: b(1, 2, 3, 4), namespace: b(), userKey: b() });
    expect(Object.getPrototypeOf(f.key)).toBe(Uint8Array.prototype);
  });

  it('rejects malformed keys with RangeError', () => {
    expect(() => varLayout.decode(b(1))).toThrow(RangeError); // no state id
    expect(() => varLayout.decode(b(1, 2, 3))).toThrow(RangeError); // short key group
    expect(() => varLayout.decode(fromHex('0102030461'))).toThrow(RangeError); // unterminated key
    expect(() => varLayout.decode(fromHex('010203046100020001'))).toThrow(RangeError); // bad escape
    expect(() => varLayout.decode(fromHex('0103030400010001'))).toThrow(RangeError); // another state's key
    expect(() => fixedLayout.decode(fromHex('000703010203'))).toThrow(RangeError); // short fixed key
  });

  it('rejects bad arguments with RangeError', () => {
    expect(() => fixedLayout.entryKey(256, b(1, 2, 3, 4), b())).toThrow(RangeError);
    expect(() => fixedLayout.entryKey(-1, b(1, 2, 3, 4), b())).toThrow(RangeError);
    expect(() => varLayout.entryKey(0x10000, b(), b())).toThrow(RangeError);
    expect(() => fixedLayout.entryKey(1, b(1, 2, 3), b())).toThrow(RangeError);
    expect(() => fixedLayout.entryKey(1, b(1, 2, 3, 4), b(0))).toThrow(RangeError);
    expect(() => fixedLayout.keyPrefix(1, b(1))).toThrow(RangeError);
    const opts = { stateId: 1, keyGroupPrefixBytes: 1 as const, keyFixedLength: undefined, namespaceFixedLength: undefined };
    expect(() => new StateKeyLayout({ ...opts, stateId: 0x10000 })).toThrow(RangeError);
    expect(() => new StateKeyLayout({ ...opts, keyGroupPrefixBytes: 3 as 1 })).toThrow(RangeError);
    expect(() => new StateKeyLayout({ ...opts, keyFixedLength: -1 })).toThrow(RangeError);
    expect(() => new StateKeyLayout({ ...opts, namespaceFixedLength: 1.5 })).toThrow(RangeError);
    expect(new StateKeyLayout({ ...opts, stateId: REGISTRY_STATE_ID }).stateId).toBe(0);
  });
});
