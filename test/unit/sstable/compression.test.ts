import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptionError, LsmError } from '../../../src/base/errors.js';
import {
  __setCodecAvailabilityForTest,
  type Codec,
  CompressionType,
  codecFor,
  compressionName,
  compressionTypeFromName,
  createCodec,
  describeCodecs,
  initZstdWasm,
  isGoodCompressionRatio,
  loadCodecs,
  rocksdbCompressionName,
  type ZstdBackend,
} from '../../../src/sstable/compression.js';

await loadCodecs();
const wasmReady = await initZstdWasm();

function tryCodec(make: () => Codec): Codec | undefined {
  try {
    return make();
  } catch (err) {
    if (LsmError.is(err, 'LSM_CODEC_MISSING')) return undefined;
    throw err;
  }
}

const zstdBackends: ZstdBackend[] = ['zstd-napi', '@bokuweb/zstd-wasm'];
const codecs: [string, Codec][] = [];
for (const [label, make] of [
  ['none', () => createCodec(CompressionType.None)],
  ['snappy', () => createCodec(CompressionType.Snappy)],
  ['lz4', () => createCodec(CompressionType.LZ4)],
  ...zstdBackends.map((b) => [`zstd/${b}`, () => createCodec(CompressionType.ZSTD, { zstdBackend: b })] as const),
] as const) {
  const c = tryCodec(make);
  if (c !== undefined) codecs.push([label, c]);
}
const compressing = codecs.filter(([, c]) => c.type !== CompressionType.None);
const sizePrefixed = codecs.filter(([, c]) => c.type === CompressionType.LZ4 || c.type === CompressionType.ZSTD);

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** xorshift32: deterministic pseudo-random bytes. */
function randomBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** db_bench-like: 16-byte keys and 100-byte values of 50 random printable bytes repeated. */
function dbBenchLike(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  const rnd = randomBytes(n, seed);
  let p = 0;
  let k = 0;
  while (p < n) {
    const key = enc(String(k++).padStart(16, '0'));
    for (let i = 0; i < 16 && p < n; i++) out[p++] = key[i]!;
    const start = p;
    for (let i = 0; i < 50 && p < n; i++) out[p++] = 0x20 + (rnd[p]! % 95);
    for (let i = 0; i < 50 && p < n; i++, p++) out[p] = out[start + i]!;
  }
  return out;
}

function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function catchErr(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

const inputs: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['one byte', Uint8Array.of(42)],
  ['tiny', enc('hello')],
  ['4 KiB db_bench-like', dbBenchLike(4096)],
  ['16 KiB JSON', enc(JSON.stringify(Array.from({ length: 300 }, (_, i) => ({ id: i, name: `user-${i}`, ok: i % 3 === 0 }))).slice(0, 16384))],
  ['1 MiB db_bench-like', dbBenchLike(1 << 20)],
  ['1 MiB zeros', new Uint8Array(1 << 20)],
  ['64 KiB incompressible', randomBytes(65536, 99)],
  ['view with byteOffset', dbBenchLike(10_000).subarray(1234, 7777)],
];

describe('names and ids', () => {
  it('maps names to RocksDB ids and back', () => {
    expect(compressionTypeFromName('none')).toBe(0);
    expect(compressionTypeFromName('snappy')).toBe(1);
    expect(compressionTypeFromName('lz4')).toBe(4);
    expect(compressionTypeFromName('zstd')).toBe(7);
    for (const n of ['none', 'snappy', 'lz4', 'zstd'] as const) expect(compressionName(compressionTypeFromName(n))).toBe(n);
    expect(rocksdbCompressionName(7)).toBe('ZSTD');
    expect(rocksdbCompressionName(0)).toBe('NoCompression');
  });

  it('rejects unknown names and ids', () => {
    expect(() => compressionTypeFromName('gzip')).toThrow(RangeError);
    expect(() => compressionTypeFromName('LZ4')).toThrow(RangeError);
    expect(() => compressionTypeFromName(4 as unknown as string)).toThrow(TypeError);
    expect(() => compressionName(2)).toThrow(RangeError);
    expect(() => compressionName(1.5)).toThrow(TypeError);
  });

  it('applies the 1/8 ratio rule', () => {
    expect(isGoodCompressionRatio(4096, 3583)).toBe(true);
    expect(isGoodCompressionRatio(4096, 3584)).toBe(false);
    expect(isGoodCompressionRatio(0, 0)).toBe(false);
  });
});

describe('round trips', () => {
  it('has the bundled codecs', () => {
    const labels = codecs.map(([l]) => l);
    expect(labels).toContain('none');
    expect(labels).toContain('lz4');
    expect(describeCodecs().lz4).toBe('lz4-wasm-nodejs');
  });

  describe.each(codecs)('%s', (_label, codec) => {
    it.each(inputs)('%s', (_name, input) => {
      const original = input.slice();
      const compressed = codec.compress(input);
      expect(compressed).toBeDefined();
      const stored = compressed!.slice(); // compress output is only valid until the next call
      const out = codec.decompress(stored, 'f.sst', 0);
      expect(out.constructor).toBe(Uint8Array);
      expect(out.length).toBe(input.length);
      expect(Buffer.from(out).equals(Buffer.from(original))).toBe(true);
      expect(Buffer.from(input).equals(Buffer.from(original))).toBe(true); // input untouched
      // The result is the caller's: later calls must not overwrite it.
      codec.compress(randomBytes(input.length + 17, 5));
      codec.decompress(codec.compress(dbBenchLike(3000))!.slice());
      expect(Buffer.from(out).equals(Buffer.from(original))).toBe(true);
      if (input.length > 0 && codec.type !== CompressionType.None) expect(out.buffer).not.toBe(stored.buffer);
    });

    if (codec.type !== CompressionType.None) {
      it('compresses compressible blocks and barely expands incompressible ones', () => {
        expect(codec.compress(dbBenchLike(4096))!.length).toBeLessThan(4096 * 0.7);
        expect(codec.compress(randomBytes(4096))!.length).toBeLessThan(4096 + 64);
      });
    }
  });
});

describe('block layout', () => {
  it.each(sizePrefixed)('%s starts with the varint32 uncompressed length', (_label, codec) => {
    for (const n of [0, 1, 127, 128, 300, 4096, 16384, (1 << 20) + 3]) {
      const block = codec.compress(dbBenchLike(n))!;
      const header = varint(n);
      expect(Array.from(block.subarray(0, header.length))).toEqual(header);
      if (codec.type === CompressionType.ZSTD) {
        // then a zstd frame: magic 0xFD2FB528 little-endian
        expect(Array.from(block.subarray(header.length, header.length + 4))).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
      }
    }
  });

  it('snappy blocks are raw (snappy varint preamble, no framing)', () => {
    const snappy = codecs.find(([l]) => l === 'snappy')?.[1];
    if (snappy === undefined) return;
    const block = snappy.compress(dbBenchLike(300))!;
    expect(Array.from(block.subarray(0, 2))).toEqual(varint(300));
  });

  it('decodes hand-made blocks (known answers)', () => {
    const hello = enc('hello world');
    const lz4 = codecs.find(([l]) => l === 'lz4')?.[1];
    // 11 literals: token 0xB0, then the bytes; RocksDB format 2 puts varint 11 first.
    expect(Buffer.from(lz4!.decompress(Uint8Array.of(11, 0xb0, ...hello))).toString()).toBe('hello world');
    const snappy = codecs.find(([l]) => l === 'snappy')?.[1];
    // snappy: varint 11, literal tag (11-1)<<2
    if (snappy) expect(Buffer.from(snappy.decompress(Uint8Array.of(11, 0x28, ...hello))).toString()).toBe('hello world');
    // zstd frame of 'hello hello hello hello hello hello' (35 bytes, libzstd 1.5 level 3)
    const frame = [0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x23, 0x65, 0x00, 0x00, 0x30, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x01, 0x00, 0xb9, 0x4b, 0x11];
    for (const [, z] of codecs.filter(([, c]) => c.type === CompressionType.ZSTD)) {
      expect(Buffer.from(z.decompress(Uint8Array.of(35, ...frame))).toString()).toBe('hello hello hello hello hello hello');
    }
  });

  const both = zstdBackends.map((b) => tryCodec(() => createCodec(CompressionType.ZSTD, { zstdBackend: b })));
  it.skipIf(both.some((c) => c === undefined))('zstd-napi and zstd-wasm read each other', () => {
    const [napi, wasm] = both as [Codec, Codec];
    for (const input of [new Uint8Array(0), dbBenchLike(4096), randomBytes(20000)]) {
      expect(Buffer.from(wasm.decompress(napi.compress(input)!.slice())).equals(Buffer.from(input))).toBe(true);
      expect(Buffer.from(napi.decompress(wasm.compress(input)!.slice())).equals(Buffer.from(input))).toBe(true);
    }
  });
});

function hasTool(name: string): boolean {
  try {
    execFileSync(name, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('interoperability with the reference command-line tools', () => {
  const input = dbBenchLike(4096, 3);

  it.skipIf(!hasTool('zstd'))('zstd CLI reads our frames and we read its frames', () => {
    for (const [, z] of codecs.filter(([, c]) => c.type === CompressionType.ZSTD)) {
      const block = z.compress(input)!.slice();
      const frame = block.subarray(varint(input.length).length);
      expect(Buffer.from(execFileSync('zstd', ['-d', '-c', '-q'], { input: frame })).equals(Buffer.from(input))).toBe(true);
      const theirs = execFileSync('zstd', ['-c', '-q', '-19'], { input });
      const ours = Uint8Array.from([...varint(input.length), ...theirs]);
      expect(Buffer.from(z.decompress(ours)).equals(Buffer.from(input))).toBe(true);
    }
  });

  it.skipIf(!hasTool('lz4'))('lz4 CLI (liblz4) reads our blocks and we read its blocks', () => {
    const lz4 = codecs.find(([l]) => l === 'lz4')![1];
    // An LZ4 frame without checksums, 64 KiB independent blocks: 7-byte header, u32 block size, block, end mark.
    const frame = execFileSync('lz4', ['-c', '-q', '--no-frame-crc', '-B4', '-BI'], { input });
    expect(Array.from(frame.subarray(0, 6))).toEqual([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40]);
    const size = frame.readUInt32LE(7);
    expect(size & 0x80000000).toBe(0); // compressed block
    const theirBlock = frame.subarray(11, 11 + size);
    const ours = Uint8Array.from([...varint(input.length), ...theirBlock]);
    expect(Buffer.from(lz4.decompress(ours)).equals(Buffer.from(input))).toBe(true);

    const ourRaw = lz4.compress(input)!.subarray(varint(input.length).length);
    const sizeLE = Buffer.alloc(4);
    sizeLE.writeUInt32LE(ourRaw.length);
    const ourFrame = Buffer.concat([frame.subarray(0, 7), sizeLE, ourRaw, Buffer.alloc(4)]);
    expect(Buffer.from(execFileSync('lz4', ['-d', '-c', '-q'], { input: ourFrame })).equals(Buffer.from(input))).toBe(true);
  });
});

describe('corruption', () => {
  const expectCorruption = (fn: () => unknown, file = 'x.sst', offset = 1234): CorruptionError => {
    const err = catchErr(fn);
    expect(CorruptionError.is(err), String(err)).toBe(true);
    const c = err as CorruptionError;
    expect(c.file).toBe(file);
    expect(c.offset).toBe(offset);
    expect(c.message).toContain(file);
    return c;
  };

  describe.each(compressing)('%s', (_label, codec) => {
    const input = dbBenchLike(4096, 11);
    const good = codec.compress(input)!.slice();

    it('rejects empty, truncated and garbage input', () => {
      expectCorruption(() => codec.decompress(new Uint8Array(0), 'x.sst', 1234));
      expectCorruption(() => codec.decompress(good.subarray(0, good.length >> 1), 'x.sst', 1234));
      expectCorruption(() => codec.decompress(good.subarray(0, 1), 'x.sst', 1234));
      expectCorruption(() => codec.decompress(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), 'x.sst', 1234));
      expectCorruption(() => codec.decompress(Uint8Array.of(...varint(100), ...randomBytes(40, 3)), 'x.sst', 1234));
    });

    it('rejects a wrong uncompressed length header', () => {
      const hdr = varint(input.length).length;
      const body = good.subarray(hdr);
      for (const n of [input.length - 1, input.length + 1, 0, 0xffffffff]) {
        expectCorruption(() => codec.decompress(Uint8Array.of(...varint(n), ...body), 'x.sst', 1234));
      }
    });

    it('never crashes on mutated blocks', () => {
      for (let i = 0; i < 300; i++) {
        const bad = good.slice();
        const r = randomBytes(3, i + 1);
        const at = (r[0]! * 256 + r[1]!) % bad.length;
        bad[at] = bad[at]! ^ (r[2]! | 1);
        try {
          const out = codec.decompress(bad, 'x.sst', 1234);
          expect(out.length).toBe(input.length); // a benign flip (in a literal) still yields the declared size
        } catch (err) {
          expect(CorruptionError.is(err), String(err)).toBe(true);
        }
      }
      // still usable afterwards
      expect(Buffer.from(codec.decompress(good)).equals(Buffer.from(input))).toBe(true);
    });
  });
});

describe('codecFor', () => {
  afterEach(() => {
    for (const t of ['snappy', 'lz4', 'zstd', 'zstd-napi']) __setCodecAvailabilityForTest(t, undefined);
  });

  it('returns one shared codec per type', () => {
    expect(codecFor(CompressionType.LZ4)).toBe(codecFor(4));
    expect(codecFor(4).name).toBe('lz4');
    expect(codecFor(0).name).toBe('none');
  });

  it('reports unknown type ids as corruption with the block position', () => {
    const err = catchErr(() => codecFor(99, { file: '000012.sst', offset: 4096 }));
    expect(CorruptionError.is(err)).toBe(true);
    expect((err as CorruptionError).file).toBe('000012.sst');
    expect((err as CorruptionError).offset).toBe(4096);
  });

  it('reports RocksDB codecs it cannot read as not supported', () => {
    for (const t of [2, 3, 5, 6]) expect(LsmError.is(catchErr(() => codecFor(t)), 'LSM_NOT_SUPPORTED')).toBe(true);
  });

  it.each([
    ['snappy', CompressionType.Snappy, ['snappy']],
    ['lz4', CompressionType.LZ4, ['lz4-wasm-nodejs']],
    ['zstd', CompressionType.ZSTD, ['zstd-napi', '@bokuweb/zstd-wasm']],
  ] as const)('a missing %s package is LSM_CODEC_MISSING naming the package', (name, type, pkgs) => {
    __setCodecAvailabilityForTest(name, false);
    const err = catchErr(() => codecFor(type));
    expect(LsmError.is(err, 'LSM_CODEC_MISSING')).toBe(true);
    for (const p of pkgs) expect((err as Error).message).toContain(p);
    expect(describeCodecs()[name]).toBeUndefined();
    __setCodecAvailabilityForTest(name, undefined);
    if (codecs.some(([, c]) => c.type === type)) expect(codecFor(type).type).toBe(type);
  });

  it.skipIf(!wasmReady)('falls back to zstd-wasm when zstd-napi is missing', () => {
    __setCodecAvailabilityForTest('zstd-napi', false);
    const z = codecFor(CompressionType.ZSTD);
    expect(z.backend).toBe('@bokuweb/zstd-wasm');
    expect(describeCodecs().zstd).toBe('@bokuweb/zstd-wasm');
    const input = dbBenchLike(5000);
    expect(Buffer.from(z.decompress(z.compress(input)!.slice())).equals(Buffer.from(input))).toBe(true);
  });

  it('validates and applies zstd levels', () => {
    if (!codecs.some(([, c]) => c.type === CompressionType.ZSTD)) return;
    expect(() => createCodec(CompressionType.ZSTD, { zstdLevel: 23 })).toThrow(RangeError);
    expect(() => createCodec(CompressionType.ZSTD, { zstdLevel: 1.5 })).toThrow(RangeError);
    const input = enc(JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ i, v: (i * 7919) % 1000 }))));
    const fast = createCodec(CompressionType.ZSTD, { zstdLevel: -5 }).compress(input)!.length;
    const best = createCodec(CompressionType.ZSTD, { zstdLevel: 19 }).compress(input)!.length;
    expect(best).toBeLessThan(fast);
  });
});
