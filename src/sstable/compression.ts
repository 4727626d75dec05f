/**
 * Block compression codecs (DESIGN.md "Codecs").
 *
 * Type ids are RocksDB's `CompressionType` values, stored in the one-byte block trailer, so
 * files stay readable by LevelDB (snappy) and RocksDB (snappy, lz4, zstd). Block payloads are
 * laid out exactly as those engines store them:
 *
 * - Snappy (1): a raw snappy block (snappy's own varint length preamble, no framing), as
 *   LevelDB's and RocksDB's `Snappy_Compress`.
 * - LZ4 (4): RocksDB `compress_format_version` 2 (util/compression.h `LZ4_Compress`): a varint32
 *   of the uncompressed length, then one raw LZ4 block (no frame). Decodable by
 *   `LZ4_decompress_safe` and therefore also by LZ4HC readers.
 * - ZSTD (7): RocksDB `compress_format_version` 2 (`ZSTD_Compress`): a varint32 of the
 *   uncompressed length, then one zstd frame (with its content size, no checksum, no dictionary).
 *
 * Codec packages are loaded lazily with `createRequire` so that the engine runs with `none` and
 * `lz4` when optional/native packages are absent; asking for a missing codec throws `LsmError`
 * `LSM_CODEC_MISSING` naming the package to install. zstd has two backends: the native
 * `zstd-napi` (preferred when it loads: it builds from source, which npm 11 skips unless its
 * install script is approved) and the WebAssembly `@bokuweb/zstd-wasm` (needs the async
 * `loadCodecs()` once before use). Both produce and read the same frames.
 *
 * Buffers: `compress` returns a view into a buffer the codec reuses, valid until that codec's
 * next `compress` call (write or copy it before any `await`); `decompress` returns a fresh
 * buffer the caller may keep (plain `Uint8Array`s, never Node `Buffer`s, so `slice` copies).
 * Only synchronous codec APIs are used.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { decodeVarint32, encodeVarint, varintLength, type Cursor } from '../base/coding.js';
import { CorruptionError, LsmError } from '../base/errors.js';
import { lz4DecodeInto, snappyDecodeInto } from './block-decoders.js';

/** Block compression type ids: RocksDB's values (LevelDB knows 0 and 1). Never reuse an id. */
export const enum CompressionType {
  None = 0,
  Snappy = 1,
  LZ4 = 4,
  ZSTD = 7,
}

export type CompressionName = 'none' | 'snappy' | 'lz4' | 'zstd';

export const COMPRESSION_NAMES: readonly CompressionName[] = Object.freeze(['none', 'snappy', 'lz4', 'zstd']);

const ID_BY_NAME: Readonly<Record<CompressionName, CompressionType>> = {
  none: CompressionType.None,
  snappy: CompressionType.Snappy,
  lz4: CompressionType.LZ4,
  zstd: CompressionType.ZSTD,
};

/** RocksDB ids we recognise but cannot read (reported as LSM_NOT_SUPPORTED, not corruption). */
const UNSUPPORTED_ROCKSDB_IDS: ReadonlyMap<number, string> = new Map([
  [2, 'zlib'],
  [3, 'bzip2'],
  [5, 'lz4hc'],
  [6, 'xpress'],
  [0x40, 'zstd (kZSTDNotFinalCompression)'],
]);

export function isCompressionName(name: unknown): name is CompressionName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(ID_BY_NAME, name);
}

/** 'lz4' → 4. TypeError for a non-string, RangeError for an unknown name. */
export function compressionTypeFromName(name: string): CompressionType {
  if (typeof name !== 'string') throw new TypeError(`compression must be a string, got ${typeof name}`);
  if (!isCompressionName(name)) {
    throw new RangeError(`unknown compression '${name}' (expected one of ${COMPRESSION_NAMES.join(', ')})`);
  }
  return ID_BY_NAME[name];
}

/** 4 → 'lz4'. TypeError for a non-integer, RangeError for an id this engine has no codec for. */
export function compressionName(type: number): CompressionName {
  if (typeof type !== 'number' || !Number.isInteger(type)) throw new TypeError(`compression type must be an integer, got ${String(type)}`);
  switch (type) {
    case CompressionType.None:
      return 'none';
    case CompressionType.Snappy:
      return 'snappy';
    case CompressionType.LZ4:
      return 'lz4';
    case CompressionType.ZSTD:
      return 'zstd';
    default:
      throw new RangeError(`unknown compression type id ${type}`);
  }
}

/** RocksDB's `CompressionTypeToString` spelling ('NoCompression', 'Snappy', 'LZ4', 'ZSTD'), as in its table properties. */
export function rocksdbCompressionName(type: number): string {
  switch (compressionName(type)) {
    case 'none':
      return 'NoCompression';
    case 'snappy':
      return 'Snappy';
    case 'lz4':
      return 'LZ4';
    case 'zstd':
      return 'ZSTD';
  }
}

/**
 * LevelDB/RocksDB's acceptance rule: store a block compressed only when that saves at least
 * 1/8 of it (`compressed < raw - raw/8`); otherwise store it raw with type None.
 */
export function isGoodCompressionRatio(rawSize: number, compressedSize: number): boolean {
  return compressedSize < rawSize - Math.floor(rawSize / 8);
}

export interface Codec {
  readonly type: CompressionType;
  readonly name: CompressionName;
  /** The npm package doing the work, when there is one (e.g. 'zstd-napi'). */
  readonly backend?: string;
  /**
   * The block payload for `input`, or undefined when this codec cannot compress it (the input
   * is 4 GiB or more, or the library failed): the caller then stores the block uncompressed.
   * The result may be a view into a buffer this codec reuses, valid until its next `compress`.
   * Does not apply the ratio rule: see `isGoodCompressionRatio`.
   */
  compress(input: Uint8Array): Uint8Array | undefined;
  /**
   * The uncompressed block: a fresh buffer the caller may keep. Throws CorruptionError (naming
   * `fileName` and `offset`, the block's position, when given) when the payload is malformed or
   * its size does not match the recorded one.
   */
  decompress(input: Uint8Array, fileName?: string, offset?: number): Uint8Array;
  /**
   * As decompress, but into `scratch`'s buffer where the codec can (snappy, lz4, zstd-napi): the
   * result is then a view valid until `scratch` is used again. For compaction scans, which
   * decode every block once and keep none.
   */
  decompressInto(input: Uint8Array, scratch: Scratch, fileName?: string, offset?: number): Uint8Array;
}

export type ZstdBackend = 'zstd-napi' | '@bokuweb/zstd-wasm';

export interface CodecOptions {
  /** zstd compression level, -131072..22 (negative = fast modes); default 3 (RocksDB's default). */
  zstdLevel?: number;
  /** Force a zstd backend (tests, benchmarks); default: zstd-napi when it loads, else zstd-wasm. */
  zstdBackend?: ZstdBackend;
}

export const DEFAULT_ZSTD_LEVEL = 3;

/** npm packages behind each codec, in order of preference. */
export const CODEC_PACKAGES: Readonly<Record<CompressionName, readonly string[]>> = {
  none: [],
  snappy: ['snappy'],
  lz4: ['lz4-wasm-nodejs'],
  zstd: ['zstd-napi', '@bokuweb/zstd-wasm'],
};

// ---------------------------------------------------------------------------------------------
// Lazy package loading

const nodeRequire = createRequire(import.meta.url);

interface SnappyModule {
  compressSync(input: Uint8Array, options?: { copyOutputData?: boolean }): Uint8Array;
  uncompressSync(input: Uint8Array, options?: { asBuffer?: boolean; copyOutputData?: boolean }): Uint8Array | string;
}

interface Lz4WasmModule {
  /** Returns a 4-byte little-endian uncompressed length followed by a raw LZ4 block. */
  compress(input: Uint8Array): Uint8Array;
  /** Takes the same layout; throws a string on malformed input or a size mismatch. */
  decompress(input: Uint8Array): Uint8Array;
}

interface ZstdNapiBinding {
  CCtx: new () => { compress(dst: Uint8Array, src: Uint8Array, level: number): number };
  DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number };
  compressBound(size: number): number;
  versionString(): string;
}

/** The emscripten module inside @bokuweb/zstd-wasm (its public API allocates a context per call). */
interface ZstdWasmModule {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _ZSTD_isError(code: number): number;
  _ZSTD_compressBound(size: number): number;
  _ZSTD_createCCtx(): number;
  _ZSTD_createDCtx(): number;
  _ZSTD_freeCCtx?(cctx: number): number;
  _ZSTD_freeDCtx?(dctx: number): number;
  _ZSTD_compress_usingDict(cctx: number, dst: number, dstCap: number, src: number, srcSize: number, dict: number, dictSize: number, level: number): number;
  _ZSTD_decompress_usingDict(dctx: number, dst: number, dstCap: number, src: number, srcSize: number, dict: number, dictSize: number): number;
}

interface ZstdWasmPackage {
  init(): Promise<void>;
}

type Loaded<T> = { ok: true; mod: T } | { ok: false; error: unknown };

const loaded = new Map<string, Loaded<unknown>>();

function tryRequire<T>(pkg: string, load: () => T): Loaded<T> {
  let entry = loaded.get(pkg) as Loaded<T> | undefined;
  if (entry === undefined) {
    try {
      entry = { ok: true, mod: load() };
    } catch (error) {
      entry = { ok: false, error };
    }
    loaded.set(pkg, entry);
  }
  return entry;
}

const forcedUnavailable = new Set<string>();

function loadPackage<T>(pkg: string, load: () => T): T | undefined {
  if (forcedUnavailable.has(pkg)) return undefined;
  const entry = tryRequire(pkg, load);
  return entry.ok ? entry.mod : undefined;
}

function snappyModule(): SnappyModule | undefined {
  return loadPackage('snappy', () => nodeRequire('snappy') as SnappyModule);
}

function lz4Module(): Lz4WasmModule | undefined {
  return loadPackage('lz4-wasm-nodejs', () => nodeRequire('lz4-wasm-nodejs') as Lz4WasmModule);
}

function zstdNapiBinding(): ZstdNapiBinding | undefined {
  return loadPackage('zstd-napi', () => {
    const b = nodeRequire('zstd-napi/binding') as ZstdNapiBinding;
    if (typeof b.CCtx !== 'function' || typeof b.DCtx !== 'function' || typeof b.compressBound !== 'function') {
      throw new Error('zstd-napi/binding lacks CCtx/DCtx/compressBound');
    }
    return b;
  });
}

let zstdWasmReady: ZstdWasmModule | undefined;
let zstdWasmInit: Promise<void> | undefined;

/** The package and its emscripten Module (loaded by absolute path: the package's `exports` hide it). */
function zstdWasmPackage(): { pkg: ZstdWasmPackage; module: ZstdWasmModule } | undefined {
  return loadPackage('@bokuweb/zstd-wasm', () => {
    const entry = nodeRequire.resolve('@bokuweb/zstd-wasm');
    const pkg = nodeRequire(entry) as ZstdWasmPackage;
    const module = (nodeRequire(join(dirname(entry), 'module.js')) as { Module: ZstdWasmModule }).Module;
    if (typeof pkg.init !== 'function' || typeof module !== 'object' || module === null) {
      throw new Error('@bokuweb/zstd-wasm has an unexpected layout');
    }
    return { pkg, module };
  });
}

function zstdWasmModule(): ZstdWasmModule | undefined {
  if (forcedUnavailable.has('@bokuweb/zstd-wasm')) return undefined;
  return zstdWasmReady;
}

/**
 * Loads every available codec package and initialises the asynchronous ones (zstd-wasm, only
 * when zstd-napi does not load). Call once when a database opens; safe to call again.
 * Never throws for a missing package: `codecFor` reports that when the codec is needed.
 */
export async function loadCodecs(): Promise<void> {
  snappyModule();
  lz4Module();
  if (zstdNapiBinding() !== undefined) return;
  await initZstdWasm();
}

/** Initialises @bokuweb/zstd-wasm if installed (also when zstd-napi loads: for tests, benchmarks). */
export async function initZstdWasm(): Promise<boolean> {
  if (zstdWasmReady !== undefined) return true;
  const w = zstdWasmPackage();
  if (w === undefined) return false;
  zstdWasmInit ??= w.pkg.init();
  try {
    await zstdWasmInit;
  } catch (error) {
    zstdWasmInit = undefined;
    loaded.set('@bokuweb/zstd-wasm', { ok: false, error });
    return false;
  }
  const m = w.module;
  for (const fn of ['_malloc', '_free', '_ZSTD_isError', '_ZSTD_compressBound', '_ZSTD_createCCtx', '_ZSTD_createDCtx', '_ZSTD_compress_usingDict', '_ZSTD_decompress_usingDict'] as const) {
    if (typeof m[fn] !== 'function') {
      loaded.set('@bokuweb/zstd-wasm', { ok: false, error: new Error(`@bokuweb/zstd-wasm lacks ${fn}`) });
      return false;
    }
  }
  zstdWasmReady = m;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/** Largest uncompressed size a varint32 header can carry (RocksDB refuses blocks >= 4 GiB). */
const MAX_VARINT32 = 0xffffffff;
/** Scratch buffers up to this size are kept between calls; larger ones are transient. */
const MAX_RETAINED_SCRATCH = 4 << 20;

/** A buffer reused from call to call, grown as needed (large requests get a transient one). */
export class Scratch {
  private buf = new Uint8Array(0);

  get(size: number): Uint8Array {
    if (size <= this.buf.length) return this.buf;
    if (size > MAX_RETAINED_SCRATCH) return new Uint8Array(size);
    let cap = Math.max(4096, this.buf.length);
    while (cap < size) cap *= 2;
    this.buf = new Uint8Array(Math.min(cap, MAX_RETAINED_SCRATCH));
    return this.buf;
  }
}

function corrupt(codec: string, what: string, file: string | undefined, offset: number | undefined, cause?: unknown, expected?: number, actual?: number): CorruptionError {
  const detail = cause === undefined ? '' : `: ${cause instanceof Error ? cause.message : String(cause)}`;
  return new CorruptionError(
    `${codec} block ${what}${detail}`,
    { file, offset, expected, actual },
    cause === undefined ? undefined : { cause },
  );
}

const headerCursor: Cursor = { pos: 0 };

/**
 * Reads the varint32 uncompressed length in front of an lz4/zstd (format 2) block and checks it
 * against the most the codec can expand `payloadLength` bytes to (so a damaged header cannot
 * trigger a huge allocation). Returns [declared length, payload start].
 */
function readSizeHeader(codec: string, input: Uint8Array, maxExpansion: number, slack: number, file?: string, offset?: number): [number, number] {
  headerCursor.pos = 0;
  let declared: number;
  try {
    declared = decodeVarint32(input, headerCursor, Math.min(input.length, 5));
  } catch (err) {
    throw corrupt(codec, 'has a bad uncompressed-length header', file, offset, err);
  }
  const start = headerCursor.pos;
  const payload = input.length - start;
  if (declared > payload * maxExpansion + slack) {
    throw corrupt(codec, `declares ${declared} uncompressed bytes, impossible from ${payload} compressed bytes`, file, offset);
  }
  return [declared, start];
}

/** A plain Uint8Array over a Buffer's bytes (so `slice` copies, as callers expect). */
function plain(buf: Uint8Array): Uint8Array {
  return buf.constructor === Uint8Array ? buf : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function missing(name: CompressionName, detail: string): LsmError {
  return new LsmError('LSM_CODEC_MISSING', `${name} compression is not available: ${detail}`);
}

// ---------------------------------------------------------------------------------------------
// Codecs

class NoneCodec implements Codec {
  readonly type = CompressionType.None;
  readonly name = 'none' as const;

  compress(input: Uint8Array): Uint8Array {
    return input;
  }

  decompress(input: Uint8Array): Uint8Array {
    return input.slice();
  }

  decompressInto(input: Uint8Array): Uint8Array {
    return input;
  }
}

/** Raw snappy blocks. The snappy preamble is a varint32 length; a copy op emits at most 64 bytes from 3. */
class SnappyCodec implements Codec {
  readonly type = CompressionType.Snappy;
  readonly name = 'snappy' as const;
  readonly backend = 'snappy';

  constructor(private readonly lib: SnappyModule) {}

  compress(input: Uint8Array): Uint8Array | undefined {
    if (input.length > MAX_VARINT32) return undefined;
    try {
      return plain(this.lib.compressSync(input, { copyOutputData: true }));
    } catch {
      return undefined;
    }
  }

  /** Decoded by snappyDecodeInto (./block-decoders.ts): faster than the binding's call and copy. */
  decompress(input: Uint8Array, fileName?: string, offset?: number): Uint8Array {
    const [declared, start] = readSizeHeader('snappy', input, 22, 16, fileName, offset);
    const out = new Uint8Array(declared);
    snappyDecodeInto(input, start, declared, out, { file: fileName, offset });
    return out;
  }

  decompressInto(input: Uint8Array, scratch: Scratch, fileName?: string, offset?: number): Uint8Array {
    const [declared, start] = readSizeHeader('snappy', input, 22, 16, fileName, offset);
    const out = scratch.get(declared);
    snappyDecodeInto(input, start, declared, out, { file: fileName, offset });
    return out.subarray(0, declared);
  }
}

/**
 * LZ4 in RocksDB format 2 over lz4-wasm-nodejs (lz4_flex's block codec compiled to wasm).
 * That package frames its blocks as `[u32 LE uncompressed length][raw LZ4 block]`
 * (lz4_flex `compress_prepend_size`), so:
 * compress overwrites the tail of that 4-byte prefix with our varint32 (which is at most 4
 * bytes below 2^28) and returns the view starting at the varint: no copy. Decompression does
 * not use the package at all (see decompress).
 */
class Lz4Codec implements Codec {
  readonly type = CompressionType.LZ4;
  readonly name = 'lz4' as const;
  readonly backend = 'lz4-wasm-nodejs';
  private readonly out = new Scratch();

  constructor(private readonly lib: Lz4WasmModule) {}

  compress(input: Uint8Array): Uint8Array | undefined {
    if (input.length > MAX_VARINT32) return undefined;
    let framed: Uint8Array;
    try {
      framed = this.lib.compress(input);
    } catch {
      return undefined;
    }
    if (framed.length < 5 || framed[0]! + framed[1]! * 0x100 + framed[2]! * 0x10000 + framed[3]! * 0x1000000 !== input.length) {
      throw new LsmError('LSM_ASSERTION', 'lz4-wasm-nodejs no longer prefixes its blocks with a 4-byte length: update src/sstable/compression.ts');
    }
    const hdr = varintLength(input.length);
    if (hdr <= 4) {
      encodeVarint(framed, 4 - hdr, input.length);
      return framed.subarray(4 - hdr);
    }
    const rawLen = framed.length - 4;
    const out = this.out.get(hdr + rawLen);
    encodeVarint(out, 0, input.length);
    out.set(framed.subarray(4), hdr);
    return out.subarray(0, hdr + rawLen);
  }

  /** Decoded by lz4DecodeInto (./block-decoders.ts): no copy into wasm memory and back. */
  decompress(input: Uint8Array, fileName?: string, offset?: number): Uint8Array {
    const [declared, start] = this.#header(input, fileName, offset);
    const out = new Uint8Array(declared);
    lz4DecodeInto(input, start, declared, out, { file: fileName, offset });
    return out;
  }

  decompressInto(input: Uint8Array, scratch: Scratch, fileName?: string, offset?: number): Uint8Array {
    const [declared, start] = this.#header(input, fileName, offset);
    const out = scratch.get(declared);
    lz4DecodeInto(input, start, declared, out, { file: fileName, offset });
    return out.subarray(0, declared);
  }

  #header(input: Uint8Array, fileName?: string, offset?: number): [number, number] {
    // An LZ4 sequence emits at most 255 bytes per input byte (match-length extension bytes).
    const header = readSizeHeader('lz4', input, 255, 64, fileName, offset);
    if (input.length === header[1]) throw corrupt('lz4', 'has no payload', fileName, offset);
    return header;
  }
}

/** zstd-napi: compresses straight into our reused output buffer, decompresses into the result. */
class ZstdNapiCodec implements Codec {
  readonly type = CompressionType.ZSTD;
  readonly name = 'zstd' as const;
  readonly backend: ZstdBackend = 'zstd-napi';
  private readonly cctx: { compress(dst: Uint8Array, src: Uint8Array, level: number): number };
  private readonly dctx: { decompress(dst: Uint8Array, src: Uint8Array): number };
  private readonly out = new Scratch();

  constructor(
    private readonly lib: ZstdNapiBinding,
    readonly level: number,
  ) {
    this.cctx = new lib.CCtx();
    this.dctx = new lib.DCtx();
  }

  compress(input: Uint8Array): Uint8Array | undefined {
    if (input.length > MAX_VARINT32) return undefined;
    const hdr = varintLength(input.length);
    const bound = this.lib.compressBound(input.length);
    const out = this.out.get(hdr + bound);
    encodeVarint(out, 0, input.length);
    let n: number;
    try {
      n = this.cctx.compress(out.subarray(hdr, hdr + bound), input, this.level);
    } catch {
      return undefined;
    }
    return out.subarray(0, hdr + n);
  }

  decompress(input: Uint8Array, fileName?: string, offset?: number): Uint8Array {
    const [declared, start] = readSizeHeader('zstd', input, ZSTD_MAX_EXPANSION, ZSTD_SLACK, fileName, offset);
    return this.#decompressTo(input, start, new Uint8Array(declared), declared, fileName, offset);
  }

  decompressInto(input: Uint8Array, scratch: Scratch, fileName?: string, offset?: number): Uint8Array {
    const [declared, start] = readSizeHeader('zstd', input, ZSTD_MAX_EXPANSION, ZSTD_SLACK, fileName, offset);
    return this.#decompressTo(input, start, scratch.get(declared).subarray(0, declared), declared, fileName, offset);
  }

  #decompressTo(input: Uint8Array, start: number, out: Uint8Array, declared: number, fileName?: string, offset?: number): Uint8Array {
    let n: number;
    try {
      n = this.dctx.decompress(out, input.subarray(start));
    } catch (err) {
      throw corrupt('zstd', 'is malformed', fileName, offset, err);
    }
    if (n !== declared) throw corrupt('zstd', 'decompressed to the wrong size', fileName, offset, undefined, declared, n);
    return out;
  }
}

/**
 * A zstd block is at most 128 KiB and its smallest encoding (an RLE block) is 4 bytes, so a
 * frame expands at most 32768-fold.
 */
const ZSTD_MAX_EXPANSION = 32768;
const ZSTD_SLACK = 128 * 1024;

interface WasmHeld {
  m: ZstdWasmModule;
  cctx: number;
  dctx: number;
  areas: { ptr: number; cap: number }[];
}

const wasmFinalizer = new FinalizationRegistry<WasmHeld>(({ m, cctx, dctx, areas }) => {
  m._ZSTD_freeCCtx?.(cctx);
  m._ZSTD_freeDCtx?.(dctx);
  for (const a of areas) if (a.ptr !== 0) m._free(a.ptr);
});

/**
 * @bokuweb/zstd-wasm through its emscripten module, with one compression and one decompression
 * context and source/destination areas in wasm memory reused across calls (the package's own
 * `compress` creates a context and allocates per call). Memory views are re-read after every
 * allocation because wasm memory growth replaces `HEAPU8`.
 */
class ZstdWasmCodec implements Codec {
  readonly type = CompressionType.ZSTD;
  readonly name = 'zstd' as const;
  readonly backend: ZstdBackend = '@bokuweb/zstd-wasm';
  private readonly cctx: number;
  private readonly dctx: number;
  private readonly src = { ptr: 0, cap: 0 };
  private readonly dst = { ptr: 0, cap: 0 };
  private readonly out = new Scratch();

  constructor(
    private readonly m: ZstdWasmModule,
    readonly level: number,
  ) {
    this.cctx = m._ZSTD_createCCtx();
    this.dctx = m._ZSTD_createDCtx();
    if (this.cctx === 0 || this.dctx === 0) throw new RangeError('zstd-wasm: cannot create contexts (out of wasm memory)');
    // Contexts and areas live in wasm memory: release them when this codec is collected.
    wasmFinalizer.register(this, { m, cctx: this.cctx, dctx: this.dctx, areas: [this.src, this.dst] });
  }

  private area(a: { ptr: number; cap: number }, size: number): number {
    if (a.ptr !== 0 && size <= a.cap) return a.ptr;
    if (a.ptr !== 0) this.m._free(a.ptr);
    a.ptr = 0;
    a.cap = 0;
    let cap = 64 * 1024;
    while (cap < size) cap *= 2;
    if (cap > MAX_RETAINED_SCRATCH) cap = size;
    const ptr = this.m._malloc(cap);
    if (ptr === 0) throw new RangeError(`zstd-wasm: out of wasm memory allocating ${cap} bytes`);
    a.ptr = ptr;
    a.cap = cap;
    return ptr;
  }

  /** Returns to retained-size areas after a transient large block. */
  private trim(): void {
    for (const a of [this.src, this.dst]) {
      if (a.cap > MAX_RETAINED_SCRATCH) {
        this.m._free(a.ptr);
        a.ptr = 0;
        a.cap = 0;
      }
    }
  }

  compress(input: Uint8Array): Uint8Array | undefined {
    if (input.length > 0x7fffffff) return undefined;
    const m = this.m;
    const bound = m._ZSTD_compressBound(input.length);
    let srcPtr: number;
    let dstPtr: number;
    try {
      srcPtr = this.area(this.src, Math.max(1, input.length));
      dstPtr = this.area(this.dst, bound);
    } catch {
      return undefined;
    }
    m.HEAPU8.set(input, srcPtr);
    const n = m._ZSTD_compress_usingDict(this.cctx, dstPtr, bound, srcPtr, input.length, 0, 0, this.level);
    if (m._ZSTD_isError(n) !== 0) {
      this.trim();
      return undefined;
    }
    const hdr = varintLength(input.length);
    const out = this.out.get(hdr + n);
    encodeVarint(out, 0, input.length);
    out.set(m.HEAPU8.subarray(dstPtr, dstPtr + n), hdr);
    this.trim();
    return out.subarray(0, hdr + n);
  }

  decompress(input: Uint8Array, fileName?: string, offset?: number): Uint8Array {
    const [declared, start] = readSizeHeader('zstd', input, ZSTD_MAX_EXPANSION, ZSTD_SLACK, fileName, offset);
    const m = this.m;
    const payload = input.length - start;
    const srcPtr = this.area(this.src, Math.max(1, payload));
    const dstPtr = this.area(this.dst, Math.max(1, declared));
    m.HEAPU8.set(input.subarray(start), srcPtr);
    const n = m._ZSTD_decompress_usingDict(this.dctx, dstPtr, declared, srcPtr, payload, 0, 0);
    if (m._ZSTD_isError(n) !== 0) {
      this.trim();
      throw corrupt('zstd', `is malformed (zstd error ${-n})`, fileName, offset);
    }
    if (n !== declared) {
      this.trim();
      throw corrupt('zstd', 'decompressed to the wrong size', fileName, offset, undefined, declared, n);
    }
    const out = m.HEAPU8.slice(dstPtr, dstPtr + n);
    this.trim();
    return out;
  }

  /** The output must leave wasm memory anyway: one copy, as decompress. */
  decompressInto(input: Uint8Array, _scratch: Scratch, fileName?: string, offset?: number): Uint8Array {
    return this.decompress(input, fileName, offset);
  }
}

// ---------------------------------------------------------------------------------------------
// Lookup

function checkLevel(level: number): number {
  if (!Number.isInteger(level) || level < -131072 || level > 22) {
    throw new RangeError(`zstdLevel must be an integer in -131072..22, got ${level}`);
  }
  return level;
}

/**
 * A new codec instance with its own reusable buffers (and zstd contexts). Throws LsmError
 * LSM_CODEC_MISSING when the codec's package is not installed (or, for zstd-wasm, not yet
 * initialised by `loadCodecs`), RangeError for a bad type or level.
 */
export function createCodec(type: CompressionType, options: CodecOptions = {}): Codec {
  switch (type) {
    case CompressionType.None:
      return new NoneCodec();
    case CompressionType.Snappy: {
      const lib = snappyModule();
      if (lib === undefined) throw missing('snappy', "install the npm package 'snappy' (npm install snappy)");
      return new SnappyCodec(lib);
    }
    case CompressionType.LZ4: {
      const lib = lz4Module();
      if (lib === undefined) throw missing('lz4', "install the npm package 'lz4-wasm-nodejs' (npm install lz4-wasm-nodejs)");
      return new Lz4Codec(lib);
    }
    case CompressionType.ZSTD: {
      const level = checkLevel(options.zstdLevel ?? DEFAULT_ZSTD_LEVEL);
      const want = options.zstdBackend;
      if (want !== '@bokuweb/zstd-wasm') {
        const napi = zstdNapiBinding();
        if (napi !== undefined) return new ZstdNapiCodec(napi, level);
        if (want === 'zstd-napi') {
          throw missing('zstd', "the npm package 'zstd-napi' does not load (install it and build it: npm install zstd-napi && npm rebuild zstd-napi --foreground-scripts)");
        }
      }
      const wasm = zstdWasmModule();
      if (wasm !== undefined) return new ZstdWasmCodec(wasm, level);
      if (zstdWasmPackage() !== undefined && !forcedUnavailable.has('@bokuweb/zstd-wasm')) {
        throw missing('zstd', "'@bokuweb/zstd-wasm' is installed but not initialised: await loadCodecs() first");
      }
      throw missing(
        'zstd',
        "install the npm package 'zstd-napi' (native; npm install zstd-napi && npm rebuild zstd-napi --foreground-scripts) or '@bokuweb/zstd-wasm' (npm install @bokuweb/zstd-wasm)",
      );
    }
    default: {
      const t = type as number;
      if (UNSUPPORTED_ROCKSDB_IDS.has(t)) {
        throw new LsmError('LSM_NOT_SUPPORTED', `${UNSUPPORTED_ROCKSDB_IDS.get(t)} compression (RocksDB type ${t}) is not supported`);
      }
      throw new RangeError(`unknown compression type id ${String(t)}`);
    }
  }
}

const shared = new Map<number, Codec>();

/**
 * The shared default codec for a block's type id (zstd at level 3). Its `compress` output is
 * valid until the next `compress` call on it. Throws CorruptionError (with `context`) for an id
 * that is no RocksDB compression type, LsmError LSM_NOT_SUPPORTED for RocksDB types this engine
 * cannot read (zlib, bzip2, lz4hc, xpress), and LSM_CODEC_MISSING naming the npm package to
 * install when the codec's package is absent.
 */
export function codecFor(type: number, context: { file?: string; offset?: number } = {}): Codec {
  const cached = shared.get(type);
  if (cached !== undefined) return cached;
  if (
    type !== CompressionType.None &&
    type !== CompressionType.Snappy &&
    type !== CompressionType.LZ4 &&
    type !== CompressionType.ZSTD &&
    !UNSUPPORTED_ROCKSDB_IDS.has(type)
  ) {
    throw new CorruptionError(`unknown block compression type ${type}`, { file: context.file, offset: context.offset, actual: type });
  }
  const codec = createCodec(type as CompressionType);
  shared.set(type, codec);
  return codec;
}

/** Which package backs each codec right now (undefined: unavailable). For diagnostics and docs. */
export function describeCodecs(): Record<CompressionName, string | undefined> {
  const napi = zstdNapiBinding();
  return {
    none: 'built-in',
    snappy: snappyModule() === undefined ? undefined : 'snappy',
    lz4: lz4Module() === undefined ? undefined : 'lz4-wasm-nodejs',
    zstd: napi !== undefined ? `zstd-napi (libzstd ${napi.versionString()})` : zstdWasmModule() !== undefined ? '@bokuweb/zstd-wasm' : undefined,
  };
}

/** The error a package failed to load with, if it did (for diagnostics). */
export function codecLoadError(pkg: string): unknown {
  const entry = loaded.get(pkg);
  return entry !== undefined && !entry.ok ? entry.error : undefined;
}

/**
 * Test hook: pretend a codec package is (un)installed. `available: false` hides it; `undefined`
 * restores normal loading. Accepts a package name (e.g. 'zstd-napi') or a codec name, which
 * hides all of that codec's packages. Clears the shared codec cache.
 */
export function __setCodecAvailabilityForTest(target: CompressionName | string, available: boolean | undefined): void {
  const pkgs = isCompressionName(target) ? CODEC_PACKAGES[target] : [target];
  for (const pkg of pkgs) {
    if (available === false) forcedUnavailable.add(pkg);
    else forcedUnavailable.delete(pkg);
  }
  shared.clear();
}
