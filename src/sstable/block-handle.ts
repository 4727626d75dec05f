/** BlockHandle: (offset varint64, size varint64), size excluding the 5-byte trailer. */
import { type Cursor, decodeVarint, encodeVarint } from '../base/coding.js';

export interface BlockHandle {
  offset: number;
  size: number;
}

export function encodeBlockHandle(buf: Uint8Array, pos: number, h: BlockHandle): number {
  pos = encodeVarint(buf, pos, h.offset);
  return encodeVarint(buf, pos, h.size);
}

export function decodeBlockHandle(buf: Uint8Array, cur: Cursor, limit = buf.length): BlockHandle {
  const offset = decodeVarint(buf, cur, limit);
  const size = decodeVarint(buf, cur, limit);
  return { offset, size };
}
