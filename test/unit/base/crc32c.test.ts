import { describe, expect, it } from 'vitest';
import { crc32c, crc32cPortable, maskCrc, unmaskCrc } from '../../../src/base/crc32c.js';

// Standard CRC32C vectors (RFC 3720 B.4 and LevelDB's util/crc32c_test.cc).
const VECTORS: [Uint8Array, number][] = [
  [new TextEncoder().encode('123456789'), 0xe3069283],
  [new Uint8Array(32), 0x8a9136aa],
  [new Uint8Array(32).fill(0xff), 0x62a8ab43],
  [Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
  [Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
];

describe('crc32c', () => {
  it.each(VECTORS.map(([d, c], i) => [i, d, c] as const))('vector %i matches, native and portable', (_i, data, expected) => {
    expect(crc32cPortable(data)).toBe(expected);
    expect(crc32c(data)).toBe(expected);
  });

  it('extends a running checksum the same as one pass', () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
    const whole = crc32c(data);
    for (const split of [0, 1, 63, 64, 65, 500, 999, 1000]) {
      expect(crc32c(data.subarray(split), crc32c(data.subarray(0, split)))).toBe(whole);
      expect(crc32cPortable(data.subarray(split), crc32cPortable(data.subarray(0, split)))).toBe(whole);
    }
  });

  it('masks as LevelDB does, and unmasks back', () => {
    const crc = crc32c(new TextEncoder().encode('foo'));
    expect(maskCrc(crc)).not.toBe(crc);
    expect(maskCrc(maskCrc(crc))).not.toBe(crc);
    expect(unmaskCrc(maskCrc(crc))).toBe(crc);
    expect(unmaskCrc(unmaskCrc(maskCrc(maskCrc(crc))))).toBe(crc);
  });
});
