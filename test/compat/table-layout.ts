/**
 * An independent reader of just enough of LevelDB's table format (footer, index block) to list
 * the data blocks of a table with their compression types, without lsm-state's code. Used to
 * check that the compression under test really is in the files, and by make-fixtures.ts to put
 * a flipped byte inside a data block. No vitest import (make-fixtures.ts runs outside vitest).
 */
import { uncompressSync } from 'snappy';

export interface BlockInfo {
  offset: number;
  size: number;
  /** Compression type byte of the block trailer: 0 none, 1 snappy. */
  type: number;
}

const TABLE_MAGIC = 0xdb4775248b80fb57n;
const FOOTER_BYTES = 48;
const TRAILER_BYTES = 5;

function varint(buf: Uint8Array, cur: { pos: number }): number {
  let result = 0;
  let shift = 1;
  for (;;) {
    const b = buf[cur.pos++];
    if (b === undefined) throw new Error('truncated varint');
    result += (b & 0x7f) * shift;
    if ((b & 0x80) === 0) return result;
    shift *= 128;
  }
}

function handle(buf: Uint8Array, cur: { pos: number }): { offset: number; size: number } {
  const offset = varint(buf, cur);
  const size = varint(buf, cur);
  return { offset, size };
}

function blockContents(file: Uint8Array, h: { offset: number; size: number }): { contents: Uint8Array; type: number } {
  const type = file[h.offset + h.size];
  if (type === undefined) throw new Error(`block at ${h.offset} runs past the end of the file`);
  const raw = file.subarray(h.offset, h.offset + h.size);
  if (type === 0) return { contents: raw, type };
  if (type === 1) return { contents: new Uint8Array(uncompressSync(raw, { asBuffer: true }) as Buffer), type };
  throw new Error(`unexpected compression type ${type} at ${h.offset}`);
}

/** The data blocks of a LevelDB-format table, in file order. */
export function dataBlocks(file: Uint8Array): BlockInfo[] {
  if (file.length < FOOTER_BYTES) throw new Error('too short for a table');
  const footer = file.subarray(file.length - FOOTER_BYTES);
  const view = new DataView(footer.buffer, footer.byteOffset, FOOTER_BYTES);
  if (view.getBigUint64(40, true) !== TABLE_MAGIC) throw new Error('bad table magic');
  const cur = { pos: 0 };
  handle(footer, cur); // metaindex
  const index = blockContents(file, handle(footer, cur)).contents;
  const iv = new DataView(index.buffer, index.byteOffset, index.byteLength);
  const restarts = iv.getUint32(index.length - 4, true);
  const end = index.length - 4 - 4 * restarts;
  const out: BlockInfo[] = [];
  const p = { pos: 0 };
  while (p.pos < end) {
    varint(index, p); // shared key bytes
    const unshared = varint(index, p);
    const valueLength = varint(index, p);
    p.pos += unshared;
    const h = handle(index.subarray(p.pos, p.pos + valueLength), { pos: 0 });
    p.pos += valueLength;
    const type = file[h.offset + h.size];
    if (type === undefined) throw new Error(`data block at ${h.offset} runs past the end of the file`);
    out.push({ ...h, type });
  }
  return out;
}

export { TRAILER_BYTES as BLOCK_TRAILER_BYTES };
