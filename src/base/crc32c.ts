/**
 * CRC32C (Castagnoli) and LevelDB's checksum masking (util/crc32c.h).
 *
 * The native `@node-rs/crc32` is used when installed (SSE4.2 hardware CRC); otherwise a
 * slice-by-8 table implementation in TypeScript keeps the core portable. Both produce the same
 * values; test/unit/base/crc32c.test.ts checks the fallback against the standard vectors.
 */
import { createRequire } from 'node:module';

const POLY = 0x82f63b78;
const TABLES: Uint32Array[] = [];
for (let t = 0; t < 8; t++) TABLES.push(new Uint32Array(256));
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  TABLES[0]![i] = c >>> 0;
}
for (let i = 0; i < 256; i++) {
  for (let t = 1; t < 8; t++) {
    const prev = TABLES[t - 1]![i]!;
    TABLES[t]![i] = (prev >>> 8) ^ TABLES[0]![prev & 0xff]!;
  }
}
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [
  Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array,
];

/** Portable CRC32C, extending `crc` (0 for a fresh checksum) with `data`. */
export function crc32cPortable(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    c ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    c =
      T7[c & 0xff]! ^ T6[(c >>> 8) & 0xff]! ^ T5[(c >>> 16) & 0xff]! ^ T4[c >>> 24]! ^
      T3[data[i + 4]!]! ^ T2[data[i + 5]!]! ^ T1[data[i + 6]!]! ^ T0[data[i + 7]!]!;
    i += 8;
  }
  while (i < n) c = T0[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

type NativeCrc = (input: Uint8Array, initial?: number) => number;

function loadNative(): NativeCrc | undefined {
  if (process.env['LSM_STATE_PORTABLE_CRC'] === '1') return undefined;
  try {
    const require = createRequire(import.meta.url);
    const mod = require('@node-rs/crc32') as { crc32c: NativeCrc };
    // Sanity-check the binding against the standard test vector before trusting it.
    return mod.crc32c(Buffer.from('123456789')) === 0xe3069283 ? mod.crc32c : undefined;
  } catch {
    return undefined;
  }
}

const native = loadNative();

/** Native calls cost a fixed ~100 ns; below this size the table loop is faster. */
const NATIVE_MIN_BYTES = 64;

/** CRC32C of `data`, extending `crc` (0 for a fresh checksum). */
export function crc32c(data: Uint8Array, crc = 0): number {
  if (native !== undefined && data.length >= NATIVE_MIN_BYTES) {
    return native(Buffer.from(data.buffer, data.byteOffset, data.length), crc) >>> 0;
  }
  return crc32cPortable(data, crc);
}

export const crc32cImplementation: 'native' | 'portable' = native ? 'native' : 'portable';

const MASK_DELTA = 0xa282ead8;

/**
 * LevelDB stores masked CRCs: computing the CRC of a string that contains embedded CRCs is
 * problematic, so the stored value is rotated and offset.
 */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

export function unmaskCrc(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}
