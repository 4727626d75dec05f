/**
 * The properties meta block ("rocksdb.properties"): a block whose keys are property names in
 * sorted order and whose values are varint64 numbers or raw strings, as RocksDB stores it.
 */
import { encodeVarint, decodeVarint } from '../base/coding.js';
import { compareBytesRange } from '../base/comparator.js';
import { CorruptionError } from '../base/errors.js';
import { Block } from './block.js';
import { BlockBuilder } from './block-builder.js';
import { PROP } from './format.js';

export interface TableProperties {
  numEntries: number;
  rawKeyBytes: number;
  rawValueBytes: number;
  dataBytes: number;
  indexBytes: number;
  filterBytes: number;
  numDataBlocks: number;
  numDeletions: number;
  numMergeOperands: number;
  numRangeDeletions: number;
  compression: string;
  smallestSeqno: number;
  largestSeqno: number;
}

const NUMERIC: [string, keyof TableProperties][] = [
  [PROP.DATA_SIZE, 'dataBytes'],
  [PROP.FILTER_SIZE, 'filterBytes'],
  [PROP.INDEX_SIZE, 'indexBytes'],
  [PROP.NUM_DATA_BLOCKS, 'numDataBlocks'],
  [PROP.NUM_DELETIONS, 'numDeletions'],
  [PROP.NUM_ENTRIES, 'numEntries'],
  [PROP.NUM_MERGE_OPERANDS, 'numMergeOperands'],
  [PROP.NUM_RANGE_DELETIONS, 'numRangeDeletions'],
  [PROP.RAW_KEY_SIZE, 'rawKeyBytes'],
  [PROP.RAW_VALUE_SIZE, 'rawValueBytes'],
  [PROP.SMALLEST_SEQNO, 'smallestSeqno'],
  [PROP.LARGEST_SEQNO, 'largestSeqno'],
];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeProperties(props: TableProperties): Uint8Array {
  const entries: [string, Uint8Array][] = NUMERIC.map(([name, field]) => {
    const buf = new Uint8Array(10);
    const n = encodeVarint(buf, 0, props[field] as number);
    return [name, buf.subarray(0, n)];
  });
  entries.push([PROP.COMPRESSION, encoder.encode(props.compression)]);
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const builder = new BlockBuilder(1);
  for (const [name, value] of entries) builder.add(encoder.encode(name), value);
  return builder.finish().slice();
}

/** Reads the properties we know; unknown names (from other writers) are ignored. */
export function decodeProperties(data: Uint8Array, file: string, offset: number): Partial<TableProperties> {
  const block = new Block(data, file, offset);
  const it = block.iterator(compareBytesRange);
  const out: Partial<TableProperties> = {};
  const fields = new Map(NUMERIC);
  for (it.seekToFirst(); it.valid(); it.next()) {
    const name = decoder.decode(it.key());
    if (name === PROP.COMPRESSION) {
      out.compression = decoder.decode(it.value());
      continue;
    }
    const field = fields.get(name);
    if (field === undefined) continue;
    try {
      (out as Record<string, number>)[field] = decodeVarint(it.value(), { pos: 0 });
    } catch (err) {
      throw new CorruptionError(`bad table property ${name}`, { file, offset }, { cause: err });
    }
  }
  return out;
}
