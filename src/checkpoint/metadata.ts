/**
 * Checkpoint metadata (docs/format/checkpoint.md): `checkpoints/<checkpointId>.meta`, written
 * last and atomically. Layout: one ASCII header line
 *
 *     LSMCKPT <formatVersion> <crc32c of body, 8 hex digits> <body length in bytes>\n
 *
 * followed by the body, UTF-8 JSON (CheckpointMetadata). Parsing checks magic, version, length,
 * checksum and every field (names, numbers, hex keys), so nothing later trusts unchecked input.
 */
import { crc32c } from '../base/crc32c.js';
import { CorruptionError, LsmError } from '../base/errors.js';
import { checkObjectName } from './checkpoint-storage.js';

export const CHECKPOINT_FORMAT_VERSION = 1;
export const METADATA_PREFIX = 'checkpoints/';
const MAGIC = 'LSMCKPT';

export type CheckpointMode = 'incremental' | 'full';

export interface CheckpointFile {
  /** Object name in storage, unique by identity: shared/<dbId>-<number>.sst or full/<id>/<dbId>-<number>.sst. */
  storageName: string;
  /** File name in the restored database directory (e.g. 000123.sst). */
  localName: string;
  /** LSM level: with `lastSequence` this is the MANIFEST-equivalent. */
  level: number;
  size: number;
  /** CRC32C of the whole file (unmasked), as an unsigned integer. */
  crc32c: number;
  /** Smallest / largest internal keys, hex. */
  smallest: string;
  largest: string;
  /** The checkpoint that uploaded this object. */
  uploadedBy: number;
}

export interface CheckpointMetadata {
  formatVersion: number;
  checkpointId: number;
  dbId: string;
  /** The previous checkpoint of this chain (null for the first). */
  parentId: number | null;
  /** Milliseconds since the epoch. */
  createdAt: number;
  lastSequence: number;
  mode: CheckpointMode;
  comparator: string;
  /** Set when the database was restored from a checkpoint: which one and how. */
  restoredFrom: { checkpointId: number; mode: 'claim' | 'no-claim' } | null;
  files: CheckpointFile[];
}

export function metadataName(checkpointId: number): string {
  return `${METADATA_PREFIX}${checkpointId}.meta`;
}

/** The checkpoint id of a metadata object name, or undefined for anything else. */
export function parseMetadataName(name: string): number | undefined {
  const m = /^checkpoints\/(\d{1,15})\.meta$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Table files restore into plain names: nothing can escape the target directory. */
const LOCAL_NAME = /^(\d{6,15})\.sst$/;

export function localNumber(localName: string): number | undefined {
  const m = LOCAL_NAME.exec(localName);
  return m ? Number(m[1]) : undefined;
}

export function encodeMetadata(meta: CheckpointMetadata): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(meta));
  const crc = crc32c(body) >>> 0;
  const header = `${MAGIC} ${meta.formatVersion} ${crc.toString(16).padStart(8, '0')} ${body.length}\n`;
  const headerBytes = new TextEncoder().encode(header);
  const out = new Uint8Array(headerBytes.length + body.length);
  out.set(headerBytes, 0);
  out.set(body, headerBytes.length);
  return out;
}

export function decodeMetadata(data: Uint8Array, objectName: string): CheckpointMetadata {
  const bad = (message: string, details: { expected?: string | number; actual?: string | number } = {}): CorruptionError =>
    new CorruptionError(`checkpoint metadata: ${message}`, { file: objectName, ...details });
  const nl = data.indexOf(0x0a);
  if (nl < 0 || nl > 80) throw bad('no header line');
  const header = new TextDecoder().decode(data.subarray(0, nl));
  const m = /^LSMCKPT (\d+) ([0-9a-f]{8}) (\d+)$/.exec(header);
  if (!m) throw bad('bad header');
  const version = Number(m[1]);
  if (version !== CHECKPOINT_FORMAT_VERSION) {
    throw new LsmError('LSM_NOT_SUPPORTED', `checkpoint metadata ${objectName} has format version ${version}; this build reads ${CHECKPOINT_FORMAT_VERSION}`);
  }
  const body = data.subarray(nl + 1);
  if (body.length !== Number(m[3])) throw bad('truncated body', { expected: Number(m[3]), actual: body.length });
  const crc = (crc32c(body) >>> 0).toString(16).padStart(8, '0');
  if (crc !== m[2]) throw bad('checksum mismatch', { expected: m[2]!, actual: crc });
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (err) {
    throw new CorruptionError('checkpoint metadata: body is not JSON', { file: objectName }, { cause: err });
  }
  return validate(parsed, objectName, version);
}

function validate(v: unknown, objectName: string, version: number): CheckpointMetadata {
  const fail = (what: string): never => {
    throw new CorruptionError(`checkpoint metadata: invalid ${what}`, { file: objectName });
  };
  const obj = (x: unknown, what: string): Record<string, unknown> =>
    typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : fail(what);
  const int = (x: unknown, what: string): number => (Number.isSafeInteger(x) && (x as number) >= 0 ? (x as number) : fail(what));
  const str = (x: unknown, what: string): string => (typeof x === 'string' ? x : fail(what));
  const hex = (x: unknown, what: string): string => (typeof x === 'string' && /^([0-9a-f]{2})*$/.test(x) ? x : fail(what));
  const o = obj(v, 'body');
  if (o.formatVersion !== version) fail('formatVersion');
  const checkpointId = int(o.checkpointId, 'checkpointId');
  if (`${METADATA_PREFIX}${checkpointId}.meta` !== objectName && objectName.startsWith(METADATA_PREFIX)) fail('checkpointId (does not match the object name)');
  const dbId = str(o.dbId, 'dbId');
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(dbId)) fail('dbId');
  const parentId = o.parentId === null ? null : int(o.parentId, 'parentId');
  const mode = o.mode === 'incremental' || o.mode === 'full' ? o.mode : fail('mode');
  let restoredFrom: CheckpointMetadata['restoredFrom'] = null;
  if (o.restoredFrom !== null && o.restoredFrom !== undefined) {
    const r = obj(o.restoredFrom, 'restoredFrom');
    restoredFrom = { checkpointId: int(r.checkpointId, 'restoredFrom.checkpointId'), mode: r.mode === 'claim' || r.mode === 'no-claim' ? r.mode : fail('restoredFrom.mode') };
  }
  if (!Array.isArray(o.files)) fail('files');
  const seen = new Set<string>();
  const files = (o.files as unknown[]).map((f, i): CheckpointFile => {
    const x = obj(f, `files[${i}]`);
    const storageName = str(x.storageName, `files[${i}].storageName`);
    try {
      checkObjectName(storageName);
    } catch {
      fail(`files[${i}].storageName`);
    }
    const localName = str(x.localName, `files[${i}].localName`);
    if (localNumber(localName) === undefined) fail(`files[${i}].localName ${JSON.stringify(localName)} (must be a plain table file name)`);
    if (seen.has(localName)) fail(`files[${i}].localName (duplicate)`);
    seen.add(localName);
    const crc = int(x.crc32c, `files[${i}].crc32c`);
    if (crc > 0xffffffff) fail(`files[${i}].crc32c`);
    return {
      storageName,
      localName,
      level: int(x.level, `files[${i}].level`) < 64 ? (x.level as number) : fail(`files[${i}].level`),
      size: int(x.size, `files[${i}].size`),
      crc32c: crc,
      smallest: hex(x.smallest, `files[${i}].smallest`),
      largest: hex(x.largest, `files[${i}].largest`),
      uploadedBy: int(x.uploadedBy, `files[${i}].uploadedBy`),
    };
  });
  return {
    formatVersion: version,
    checkpointId,
    dbId,
    parentId,
    createdAt: int(o.createdAt, 'createdAt'),
    lastSequence: int(o.lastSequence, 'lastSequence'),
    mode,
    comparator: str(o.comparator, 'comparator'),
    restoredFrom,
    files,
  };
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}
