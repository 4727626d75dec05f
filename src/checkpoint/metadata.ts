/**
 * Checkpoint metadata (docs/format/checkpoint.md): `checkpoints/<checkpointId>.meta` (no chain) or
 * `checkpoints/<chain>/<checkpointId>.meta`, written last and atomically. Layout: one ASCII header line
 *
 *     LSMCKPT <formatVersion> <crc32c of body, 8 hex digits> <body length in bytes>\n
 *
 * followed by the body, UTF-8 JSON (CheckpointMetadata). Parsing checks magic, version, length,
 * checksum and every field (names, numbers, hex keys), so nothing later trusts unchecked input.
 */
import { crc32c } from '../base/crc32c.js';
import { CorruptionError, LsmError } from '../base/errors.js';
import { type CheckpointStorage, checkObjectName } from './checkpoint-storage.js';

/**
 * Version 1 readers ignore fields they do not know, so the optional `chain` and `application`
 * fields did not need a new version.
 */
export const CHECKPOINT_FORMAT_VERSION = 1;
export const METADATA_PREFIX = 'checkpoints/';
/** Largest checkpoint id: metadata names hold at most 15 digits. */
export const MAX_CHECKPOINT_ID = 999_999_999_999_999;
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
  restoredFrom: { checkpointId: number; mode: 'claim' | 'no-claim'; chain?: string } | null;
  files: CheckpointFile[];
  /** The chain this checkpoint belongs to (absent: the unnamed chain, `checkpoints/<id>.meta`). */
  chain?: string;
  /** JSON data the caller of `Checkpointer.checkpoint({ application })` stored, verbatim. */
  application?: unknown;
}

const CHAIN_NAME = /^[A-Za-z0-9._-]+$/;

/** Whether `chain` is a valid chain name: one plain name segment. */
export function isChainName(chain: unknown): chain is string {
  return typeof chain === 'string' && CHAIN_NAME.test(chain) && chain !== '.' && chain !== '..';
}

/** Throws RangeError unless `chain` is a plain name segment ([A-Za-z0-9._-]+, not `.` or `..`). */
export function checkChainName(chain: unknown): string {
  if (!isChainName(chain)) throw new RangeError(`invalid checkpoint chain name ${JSON.stringify(chain)} (letters, digits, '.', '_', '-')`);
  return chain;
}

/** `checkpoints/<id>.meta`, or `checkpoints/<chain>/<id>.meta` for a named chain. */
export function metadataName(checkpointId: number, chain?: string | null): string {
  return chain === undefined || chain === null ? `${METADATA_PREFIX}${checkpointId}.meta` : `${METADATA_PREFIX}${chain}/${checkpointId}.meta`;
}

/** The checkpoint id of an unnamed-chain metadata object name (`checkpoints/<id>.meta`), or undefined for anything else. */
export function parseMetadataName(name: string): number | undefined {
  const m = /^checkpoints\/(\d{1,15})\.meta$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export interface MetadataObjectName {
  /** The object name. */
  name: string;
  /** null: the unnamed chain. */
  chain: string | null;
  checkpointId: number;
}

/** Chain and id of a metadata object name (either layout), or undefined for anything else. */
export function parseMetadataObjectName(name: string): MetadataObjectName | undefined {
  const m = /^checkpoints\/(?:([A-Za-z0-9._-]+)\/)?(\d{1,15})\.meta$/.exec(name);
  if (!m) return undefined;
  const chain = m[1] ?? null;
  if (chain !== null && !isChainName(chain)) return undefined;
  return { name, chain, checkpointId: Number(m[2]) };
}

/** Every metadata object in storage (all chains), by chain then id. */
export async function listMetadataObjects(storage: CheckpointStorage): Promise<MetadataObjectName[]> {
  const out: MetadataObjectName[] = [];
  for (const o of await storage.list(METADATA_PREFIX)) {
    const parsed = parseMetadataObjectName(o.name);
    if (parsed !== undefined) out.push(parsed);
  }
  return out.sort((a, b) => {
    if (a.chain !== b.chain) return a.chain === null ? -1 : b.chain === null ? 1 : a.chain < b.chain ? -1 : 1;
    return a.checkpointId - b.checkpointId;
  });
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
  let chain: string | undefined;
  if (o.chain !== undefined && o.chain !== null) chain = isChainName(o.chain) ? o.chain : fail('chain');
  if (metadataName(checkpointId, chain) !== objectName && objectName.startsWith(METADATA_PREFIX)) fail('checkpointId or chain (does not match the object name)');
  const dbId = str(o.dbId, 'dbId');
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(dbId)) fail('dbId');
  const parentId = o.parentId === null ? null : int(o.parentId, 'parentId');
  const mode = o.mode === 'incremental' || o.mode === 'full' ? o.mode : fail('mode');
  let restoredFrom: CheckpointMetadata['restoredFrom'] = null;
  if (o.restoredFrom !== null && o.restoredFrom !== undefined) {
    const r = obj(o.restoredFrom, 'restoredFrom');
    restoredFrom = { checkpointId: int(r.checkpointId, 'restoredFrom.checkpointId'), mode: r.mode === 'claim' || r.mode === 'no-claim' ? r.mode : fail('restoredFrom.mode') };
    if (r.chain !== undefined && r.chain !== null) restoredFrom.chain = isChainName(r.chain) ? r.chain : fail('restoredFrom.chain');
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
  const meta: CheckpointMetadata = {
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
  if (chain !== undefined) meta.chain = chain;
  if (o.application !== undefined) meta.application = o.application;
  return meta;
}

/**
 * Throws TypeError unless `value` is plain JSON data (null, booleans, finite numbers, strings,
 * arrays and plain objects of those, no cycles), so that it survives a JSON round trip verbatim.
 */
export function checkJsonValue(value: unknown, what: string): void {
  const seen = new Set<object>();
  const visit = (v: unknown, path: string): void => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new TypeError(`${path} is not JSON data (${String(v)})`);
      return;
    }
    if (typeof v !== 'object') throw new TypeError(`${path} is not JSON data (${typeof v})`);
    if (seen.has(v)) throw new TypeError(`${path} is not JSON data (a cycle)`);
    seen.add(v);
    if (Array.isArray(v)) {
      v.forEach((x, i) => visit(x, `${path}[${i}]`));
    } else {
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new TypeError(`${path} is not JSON data (not a plain object)`);
      for (const [k, x] of Object.entries(v)) visit(x, `${path}.${k}`);
    }
    seen.delete(v);
  };
  visit(value, what);
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}
