/** Test helpers: an in-memory WritableFile and FileSystem subset (copies what it is given). */
import type { FileSystem, WritableFile } from '../../../src/fs/file-system.js';

export class MemFile implements WritableFile {
  readonly path: string;
  #chunks: Uint8Array[] = [];
  size = 0;
  syncs = 0;
  closed = false;
  appends = 0;

  constructor(path = 'test.log', initial?: Uint8Array) {
    this.path = path;
    if (initial !== undefined && initial.length > 0) {
      this.#chunks.push(initial.slice());
      this.size = initial.length;
    }
  }

  append(data: Uint8Array): void {
    if (this.closed) throw new Error('append after close');
    this.#chunks.push(data.slice()); // copy: writers reuse their buffers
    this.size += data.length;
    this.appends++;
  }

  sync(): void {
    this.syncs++;
  }

  close(): void {
    this.closed = true;
  }

  contents(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** A FileSystem that only knows readFile over a map (enough for replayWal). */
export function memFs(files: Map<string, Uint8Array>): FileSystem {
  return {
    readFile(path: string): Uint8Array {
      const data = files.get(path);
      if (data === undefined) throw new Error(`no such file ${path}`);
      return data;
    },
  } as unknown as FileSystem;
}

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function hex(data: Uint8Array): string {
  return Buffer.from(data).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

/** Deterministic pseudo-random bytes so failures reproduce. */
export function patterned(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Bitwise CRC32C and LevelDB's mask, written independently of src/base/crc32c.ts. */
export function referenceCrc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

export function referenceMask(crc: number): number {
  const rotated = ((crc >>> 15) | (crc << 17)) >>> 0;
  return (rotated + 0xa282ead8) >>> 0;
}

/** One physical record (header + payload) built by hand, for crafting damaged logs. */
export function fragment(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(7 + payload.length);
  const typed = new Uint8Array(1 + payload.length);
  typed[0] = type;
  typed.set(payload, 1);
  const masked = referenceMask(referenceCrc32c(typed));
  out[0] = masked & 0xff;
  out[1] = (masked >>> 8) & 0xff;
  out[2] = (masked >>> 16) & 0xff;
  out[3] = masked >>> 24;
  out[4] = payload.length & 0xff;
  out[5] = payload.length >>> 8;
  out[6] = type;
  out.set(payload, 7);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Fast equality for lists of byte arrays (vitest's deep equality is slow on large arrays). */
export function expectRecords(actual: readonly Uint8Array[], expected: readonly Uint8Array[]): void {
  const describe = (rs: readonly Uint8Array[]) => rs.map((r) => `${r.length}:${Buffer.from(r).toString('base64').slice(0, 16)}`);
  const same = actual.length === expected.length && actual.every((a, i) => Buffer.from(a).equals(Buffer.from(expected[i]!)));
  if (!same) throw new Error(`records differ:\n  actual   ${describe(actual).join(' ')}\n  expected ${describe(expected).join(' ')}`);
}
