/**
 * Block codec benchmark: compress / decompress throughput and ratio per codec on SSTable-like
 * data blocks. Results and conclusions: docs/codecs.md.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/codecs.js [--quick]
 *
 * Data sets (each a ring of 64 distinct blocks, built like LevelDB's BlockBuilder with restart
 * interval 16 and 8-byte internal-key trailers, cut at the first entry reaching the block size):
 * - dbbench: db_bench's defaults: 16-byte keys (8-byte big-endian random integer padded with
 *   '0'), 100-byte values from its RandomGenerator with compression_ratio 0.5 (50 random
 *   printable bytes, repeated).
 * - state: keyed-state rows: 'state/<op>/user-NNNNNN/<window>' keys, JSON values.
 * MB/s is 10^6 uncompressed bytes per second, the median of 5 timed runs.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import {
  type Codec,
  CompressionType,
  createCodec,
  initZstdWasm,
  loadCodecs,
  type ZstdBackend,
} from '../src/sstable/compression.js';

const require = createRequire(import.meta.url);
const quick = process.argv.includes('--quick');
const RUN_MS = quick ? 40 : 150;
const RUNS = quick ? 3 : 5;
const BLOCKS = 64;

// ---------------------------------------------------------------------------------------------
// Data

/** Deterministic PRNG (xorshift32), so every run benchmarks the same bytes. */
class Rng {
  constructor(private s: number) {}
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  uniform(n: number): number {
    return this.next() % n;
  }
}

/** db_bench RandomGenerator: 1 MiB of 100-byte CompressibleString pieces (ratio 0.5). */
function dbBenchValueSource(rng: Rng): Uint8Array {
  const data = new Uint8Array(1 << 20);
  for (let pos = 0; pos < data.length; pos += 100) {
    const raw = 50;
    for (let i = 0; i < raw; i++) data[pos + i] = 0x20 + rng.uniform(95);
    for (let i = raw; i < 100 && pos + i < data.length; i++) data[pos + i] = data[pos + i - raw]!;
  }
  return data;
}

class BlockBuilder {
  private readonly buf = new Uint8Array(1 << 20);
  private len = 0;
  private readonly restarts: number[] = [0];
  private counter = 0;
  private last: Uint8Array = new Uint8Array(0);

  size(): number {
    return this.len + this.restarts.length * 4 + 4;
  }

  private varint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.len++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.len++] = v;
  }

  add(key: Uint8Array, value: Uint8Array): void {
    let shared = 0;
    if (this.counter < 16) {
      const min = Math.min(this.last.length, key.length);
      while (shared < min && this.last[shared] === key[shared]) shared++;
    } else {
      this.restarts.push(this.len);
      this.counter = 0;
    }
    this.varint(shared);
    this.varint(key.length - shared);
    this.varint(value.length);
    this.buf.set(key.subarray(shared), this.len);
    this.len += key.length - shared;
    this.buf.set(value, this.len);
    this.len += value.length;
    this.last = key;
    this.counter++;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size());
    out.set(this.buf.subarray(0, this.len));
    const dv = new DataView(out.buffer);
    let p = this.len;
    for (const r of this.restarts) {
      dv.setUint32(p, r, true);
      p += 4;
    }
    dv.setUint32(p, this.restarts.length, true);
    return out;
  }
}

function internalKey(user: Uint8Array, seq: number): Uint8Array {
  const k = new Uint8Array(user.length + 8);
  k.set(user);
  const dv = new DataView(k.buffer);
  const packed = seq * 256 + 1; // kTypeValue
  dv.setUint32(user.length, packed % 0x100000000, true);
  dv.setUint32(user.length + 4, Math.floor(packed / 0x100000000), true);
  return k;
}

function makeBlocks(blockSize: number, entries: (i: number) => [Uint8Array, Uint8Array], count: number): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  let i = 0;
  const all: [Uint8Array, Uint8Array][] = [];
  // Enough sorted entries for every block.
  for (let n = 0; n < count; n++) all.push(entries(n));
  all.sort((a, b) => Buffer.compare(a[0], b[0]));
  while (blocks.length < BLOCKS) {
    const b = new BlockBuilder();
    while (b.size() < blockSize) {
      const e = all[i++ % all.length]!;
      b.add(internalKey(e[0], 1_000_000 + i), e[1]);
    }
    blocks.push(b.finish());
  }
  return blocks;
}

function dbBenchBlocks(blockSize: number): Uint8Array[] {
  const rng = new Rng(301);
  const values = dbBenchValueSource(rng);
  let vpos = 0;
  const perBlock = Math.ceil(blockSize / 120) + 1;
  return makeBlocks(
    blockSize,
    () => {
      const key = new Uint8Array(16).fill(0x30);
      const dv = new DataView(key.buffer);
      dv.setUint32(0, rng.next() % 4, false); // 8-byte big-endian int below 2^34
      dv.setUint32(4, rng.next(), false);
      if (vpos + 100 > values.length) vpos = 0;
      const value = values.subarray(vpos, vpos + 100);
      vpos += 100;
      return [key, value];
    },
    perBlock * BLOCKS,
  );
}

function stateBlocks(blockSize: number): Uint8Array[] {
  const rng = new Rng(7);
  const enc = new TextEncoder();
  const ops = ['count', 'sum', 'session', 'last-seen'];
  const tags = ['mobile', 'web', 'eu', 'us', 'beta', 'paid'];
  const perBlock = Math.ceil(blockSize / 130) + 1;
  return makeBlocks(
    blockSize,
    () => {
      const user = String(rng.uniform(1_000_000)).padStart(6, '0');
      const window = 1_700_000_000 + rng.uniform(100) * 60;
      const op = ops[rng.uniform(ops.length)]!;
      const key = enc.encode(`state/${op}/user-${user}/${window}`);
      const value = enc.encode(
        JSON.stringify({
          user: `user-${user}`,
          count: rng.uniform(10_000),
          sum: rng.uniform(10_000_000) / 100,
          last: new Date(window * 1000 + rng.uniform(60_000)).toISOString(),
          tags: [tags[rng.uniform(tags.length)], tags[rng.uniform(tags.length)]],
          ok: rng.uniform(2) === 1,
        }),
      );
      return [key, value];
    },
    perBlock * BLOCKS,
  );
}

// ---------------------------------------------------------------------------------------------
// Subjects

interface Subject {
  name: string;
  compress(b: Uint8Array): Uint8Array;
  decompress(c: Uint8Array): Uint8Array;
}

function fromCodec(name: string, codec: Codec): Subject {
  return {
    name,
    compress: (b) => {
      const c = codec.compress(b);
      if (c === undefined) throw new Error(`${name}: compress returned undefined`);
      return c;
    },
    decompress: (c) => codec.decompress(c),
  };
}

function tryLoad<T>(pkg: string): T | undefined {
  try {
    return require(pkg) as T;
  } catch {
    return undefined;
  }
}

function pkgVersion(pkg: string): string {
  try {
    let dir = dirname(require.resolve(pkg));
    for (let i = 0; i < 5; i++) {
      try {
        const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (json.name === pkg) return `${pkg}@${json.version}`;
      } catch {
        /* keep walking up */
      }
      dir = dirname(dir);
    }
  } catch {
    /* not installed */
  }
  return `${pkg} (not installed)`;
}

async function subjects(): Promise<Subject[]> {
  await loadCodecs();
  const wasmOk = await initZstdWasm();
  const out: Subject[] = [];
  const add = (name: string, make: () => Codec): void => {
    try {
      out.push(fromCodec(name, make()));
    } catch (err) {
      console.error(`skipping ${name}: ${(err as Error).message}`);
    }
  };
  add('snappy', () => createCodec(CompressionType.Snappy));
  const snappy = tryLoad<{
    compressSync(b: Uint8Array, o?: { copyOutputData?: boolean }): Uint8Array;
    uncompressSync(b: Uint8Array, o?: { asBuffer?: boolean; copyOutputData?: boolean }): Uint8Array;
  }>('snappy');
  if (snappy) {
    out.push({
      name: 'snappy (copyOutputData: false)',
      compress: (b) => snappy.compressSync(b),
      decompress: (c) => snappy.uncompressSync(c, { asBuffer: true }),
    });
  }
  add('lz4 (lz4-wasm-nodejs)', () => createCodec(CompressionType.LZ4));
  const lz4wasm = tryLoad<{ compress(b: Uint8Array): Uint8Array; decompress(b: Uint8Array): Uint8Array }>('lz4-wasm-nodejs');
  if (lz4wasm) {
    out.push({ name: 'lz4-wasm-nodejs raw API (own 4-byte-length format)', compress: (b) => lz4wasm.compress(b), decompress: (c) => lz4wasm.decompress(c) });
  }
  const lz4napi = tryLoad<{ compressSync(b: Uint8Array): Uint8Array; uncompressSync(b: Uint8Array): Uint8Array }>('lz4-napi');
  if (lz4napi) {
    out.push({ name: 'lz4-napi (own 4-byte-length format)', compress: (b) => lz4napi.compressSync(b), decompress: (c) => lz4napi.uncompressSync(c) });
  }
  const backends: ZstdBackend[] = ['zstd-napi', '@bokuweb/zstd-wasm'];
  for (const backend of backends) {
    if (backend === '@bokuweb/zstd-wasm' && !wasmOk) continue;
    for (const level of [1, 3]) {
      add(`zstd-${level} (${backend})`, () => createCodec(CompressionType.ZSTD, { zstdBackend: backend, zstdLevel: level }));
    }
  }
  if (wasmOk) {
    const zw = tryLoad<{ compress(b: Uint8Array, level?: number): Uint8Array; decompress(b: Uint8Array): Uint8Array }>('@bokuweb/zstd-wasm');
    if (zw) {
      out.push({ name: 'zstd-3 (zstd-wasm public API, context per call)', compress: (b) => zw.compress(b, 3), decompress: (c) => zw.decompress(c) });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Timing

let sink = 0;

function throughput(blocks: Uint8Array[], fn: (b: Uint8Array) => Uint8Array, bytesOf: (i: number) => number): number {
  const warmEnd = performance.now() + RUN_MS / 3;
  let i = 0;
  while (performance.now() < warmEnd) sink += fn(blocks[i++ % blocks.length]!).length;
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let bytes = 0;
    let n = 0;
    const start = process.hrtime.bigint();
    const deadline = performance.now() + RUN_MS;
    do {
      for (let k = 0; k < 16; k++, n++) {
        const idx = n % blocks.length;
        sink += fn(blocks[idx]!).length;
        bytes += bytesOf(idx);
      }
    } while (performance.now() < deadline);
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    rates.push(bytes / secs / 1e6);
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

async function main(): Promise<void> {
  const subs = await subjects();
  const datasets: [string, number, Uint8Array[]][] = [];
  for (const size of [4096, 16384]) {
    datasets.push(['dbbench', size, dbBenchBlocks(size)]);
    datasets.push(['state', size, stateBlocks(size)]);
  }
  console.log(`# codec benchmark`);
  console.log();
  console.log(`- date: ${new Date().toISOString()}`);
  console.log(`- node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}, ${process.platform}/${process.arch}`);
  console.log(`- ${['snappy', 'lz4-wasm-nodejs', 'lz4-napi', 'zstd-napi', '@bokuweb/zstd-wasm'].map(pkgVersion).join(', ')}`);
  console.log(`- ${BLOCKS} distinct blocks per data set, median of ${RUNS} runs of ${RUN_MS} ms; MB/s = 10^6 uncompressed bytes/s`);
  console.log();
  console.log('| data | block | codec | ratio | compress MB/s | decompress MB/s |');
  console.log('|---|---:|---|---:|---:|---:|');
  for (const [data, size, blocks] of datasets) {
    const avg = blocks.reduce((s, b) => s + b.length, 0) / blocks.length;
    for (const s of subs) {
      const compressed = blocks.map((b) => s.compress(b).slice());
      for (let i = 0; i < blocks.length; i++) {
        if (!equal(s.decompress(compressed[i]!), blocks[i]!)) throw new Error(`${s.name}: round trip mismatch on ${data}/${size}`);
      }
      const raw = blocks.reduce((t, b) => t + b.length, 0);
      const packed = compressed.reduce((t, c) => t + c.length, 0);
      const c = throughput(blocks, s.compress, (i) => blocks[i]!.length);
      const d = throughput(compressed, s.decompress, (i) => blocks[i]!.length);
      console.log(`| ${data} | ${size} (avg ${Math.round(avg)}) | ${s.name} | ${(raw / packed).toFixed(2)} | ${c.toFixed(0)} | ${d.toFixed(0)} |`);
    }
  }
  if (sink === -1) console.log('');
}

await main();
