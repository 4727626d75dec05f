/**
 * Restoring keyed state for a (possibly different) key-group range from checkpoints of one or
 * more old backends: Flink's rescaling restore (docs/keyed-state.md, "Rescaling").
 *
 * 1. Validate everything first, from the checkpoints' metadata alone: every handle matches its
 *    checkpoint (maxParallelism, key serializer, range), the relevant handles do not overlap and
 *    together cover the requested range, and states of one name agree on kind and serializers.
 *    Nothing is downloaded before this passes.
 * 2. The handle that holds most of the new range is the base: its checkpoint is restored
 *    physically, skipping tables that lie wholly outside the new range, and keeping the others
 *    whole (a table inside the range is reused as it is, also by the next incremental
 *    checkpoint, which references it instead of uploading it again). Range deletions clip what
 *    the kept tables hold outside the range; compactions drop it later.
 * 3. The other handles are restored into temporary directories (again skipping tables outside
 *    the range) and the entries of the new range are copied over, with state ids mapped by
 *    state name.
 * On any failure the target directory (which restore requires to be absent or empty) and the
 * temporary ones are removed: nothing is half-applied.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { CorruptionError } from '../base/errors.js';
import type { CheckpointStorage } from '../checkpoint/checkpoint-storage.js';
import { type CheckpointFile, type CheckpointMetadata, fromHex } from '../checkpoint/metadata.js';
import { type RestoreMode, readCheckpointMetadata, restoreCheckpoint } from '../checkpoint/restore.js';
import { Database } from '../db/database.js';
import { WriteBatch } from '../wal/write-batch.js';
import { backendDatabaseOptions } from './backend-options.js';
import { KeyGroupClip } from './key-group-clip.js';
import { KeyGroupRange, keyGroupPrefixBytes } from './key-groups.js';
import {
  type StateEntry, backendInfo, backendInfoKey, checkCompatible, checkStateEntry, encodeJson, stateEntryKey,
} from './state-registry.js';

export interface RescaleHandle {
  chain: string;
  checkpointId: number;
}

export interface RescaleRequest {
  dir: string;
  storage: CheckpointStorage;
  handles: readonly RescaleHandle[];
  maxParallelism: number;
  keyGroupRange: KeyGroupRange;
  keySerializerName: string;
  mode: RestoreMode;
  databaseOptions: object;
}

interface Source {
  handle: RescaleHandle;
  range: KeyGroupRange;
  states: StateEntry[];
  meta: CheckpointMetadata;
}

const COPY_BATCH_BYTES = 4 << 20;

/** Restores the database of a rescaled backend into `request.dir` and returns it open. */
export async function restoreRescaled(request: RescaleRequest): Promise<Database> {
  const sources = await readSources(request);
  const relevant = checkCoverage(sources, request.keyGroupRange);
  const merged = mergeRegistries(relevant);
  await checkEmptyTarget(request.dir);
  const temps: string[] = [];
  let db: Database | undefined;
  try {
    db = await restoreBase(request, relevant[0], merged);
    for (const source of relevant.slice(1)) {
      const tmp = `${request.dir}.rescale-${randomBytes(4).toString('hex')}`;
      temps.push(tmp);
      await copyFrom(request, source, tmp, db, merged);
      await rm(tmp, { recursive: true, force: true });
    }
    for (const e of merged.values()) db.put(stateEntryKey(e.name), encodeJson(e));
    db.put(backendInfoKey(), encodeJson(backendInfo(request.maxParallelism, request.keySerializerName, request.keyGroupRange)));
    return db;
  } catch (err) {
    await db?.close().catch(() => undefined);
    for (const t of temps) await rm(t, { recursive: true, force: true }).catch(() => undefined);
    await rm(request.dir, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}

async function readSources(request: RescaleRequest): Promise<Source[]> {
  if (!Array.isArray(request.handles)) throw new TypeError('handles must be an array of keyed-state handles');
  const sources: Source[] = [];
  for (const h of request.handles) {
    if (typeof h !== 'object' || h === null || typeof h.chain !== 'string' || !Number.isSafeInteger(h.checkpointId)) {
      throw new TypeError(`not a keyed-state handle: ${JSON.stringify(h)}`);
    }
    const meta = await readCheckpointMetadata(request.storage, h.checkpointId, { chain: h.chain });
    const info = meta.application as Partial<{ kind: string; maxParallelism: number; keySerializer: string; keyGroupRange: unknown; states: unknown[] }> | undefined;
    const where = `checkpoint ${h.checkpointId} of chain ${h.chain}`;
    if (typeof info !== 'object' || info === null || info.kind !== 'lsm-state.keyed-state' || !Array.isArray(info.states)) {
      throw new CorruptionError(`${where} is not a keyed-state checkpoint`);
    }
    if (info.maxParallelism !== request.maxParallelism) {
      throw new RangeError(`${where} has maxParallelism ${String(info.maxParallelism)}, not ${request.maxParallelism}; key groups cannot be remapped`);
    }
    if (info.keySerializer !== request.keySerializerName) {
      throw new RangeError(`${where} was written with key serializer ${String(info.keySerializer)}, not ${request.keySerializerName}`);
    }
    const range = KeyGroupRange.fromJSON(info.keyGroupRange);
    const claimed = (h as { keyGroupRange?: unknown }).keyGroupRange;
    if (claimed !== undefined && !KeyGroupRange.fromJSON(claimed).equals(range)) {
      throw new RangeError(`handle says key groups ${KeyGroupRange.fromJSON(claimed).toString()} but ${where} holds ${range.toString()}`);
    }
    sources.push({ handle: h, range, states: info.states.map(checkStateEntry), meta });
  }
  return sources;
}

/** The handles that hold part of `range`, largest share first; RangeError on overlap or a gap. */
function checkCoverage(sources: Source[], range: KeyGroupRange): Source[] {
  const relevant = sources.filter((s) => !s.range.intersection(range).isEmpty());
  relevant.sort((a, b) => b.range.intersection(range).size - a.range.intersection(range).size);
  for (let i = 0; i < relevant.length; i++) {
    for (let j = i + 1; j < relevant.length; j++) {
      const both = relevant[i]!.range.intersection(relevant[j]!.range);
      if (!both.isEmpty()) {
        throw new RangeError(`handles ${describe(relevant[i]!)} and ${describe(relevant[j]!)} both hold key groups ${both.toString()}`);
      }
    }
  }
  let missingFrom = -1;
  const missing: string[] = [];
  for (let kg = range.start; kg <= range.end + 1; kg++) {
    const covered = kg <= range.end && relevant.some((s) => s.range.contains(kg));
    if (!covered && kg <= range.end && missingFrom < 0) missingFrom = kg;
    if ((covered || kg > range.end) && missingFrom >= 0) {
      missing.push(missingFrom === kg - 1 ? `${missingFrom}` : `${missingFrom}..${kg - 1}`);
      missingFrom = -1;
    }
  }
  if (missing.length > 0) {
    throw new RangeError(`the handles do not cover key groups ${missing.join(', ')} of the requested range ${range.toString()}`);
  }
  return relevant;
}

function describe(s: Source): string {
  return `${s.handle.chain}/${s.handle.checkpointId} ${s.range.toString()}`;
}

/** One registry for the new backend: the base's ids stay, other states get the next free ids. */
function mergeRegistries(relevant: Source[]): Map<string, StateEntry> {
  const merged = new Map<string, StateEntry>();
  const used = new Set<number>();
  for (const e of relevant[0]?.states ?? []) {
    merged.set(e.name, e);
    used.add(e.id);
  }
  let next = 1;
  for (const s of relevant.slice(1)) {
    for (const e of s.states) {
      const have = merged.get(e.name);
      if (have !== undefined) {
        checkCompatible(have, e);
        continue;
      }
      while (used.has(next)) next++;
      used.add(next);
      merged.set(e.name, { ...e, id: next });
    }
  }
  return merged;
}

async function checkEmptyTarget(dir: string): Promise<void> {
  try {
    if ((await readdir(dir)).length > 0) throw new RangeError(`restore target ${dir} is not empty`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function userKeyOf(hexInternalKey: string): Uint8Array {
  const k = fromHex(hexInternalKey);
  return k.subarray(0, Math.max(0, k.length - 8));
}

function includeFor(clip: KeyGroupClip): (f: CheckpointFile) => boolean {
  return (f) => clip.overlaps(userKeyOf(f.smallest), userKeyOf(f.largest));
}

async function restoreBase(request: RescaleRequest, base: Source | undefined, merged: Map<string, StateEntry>): Promise<Database> {
  const prefixBytes = keyGroupPrefixBytes(request.maxParallelism);
  const clip = new KeyGroupClip(request.keyGroupRange, prefixBytes, request.maxParallelism);
  if (base === undefined) {
    await mkdir(request.dir, { recursive: true });
    return Database.open(request.dir, backendDatabaseOptions(request.databaseOptions));
  }
  await restoreCheckpoint(request.storage, base.handle.checkpointId, request.dir, {
    mode: request.mode,
    chain: base.handle.chain,
    include: includeFor(clip),
  });
  const db = await Database.open(request.dir, { ...backendDatabaseOptions(request.databaseOptions), createIfMissing: false });
  if (!base.range.equals(request.keyGroupRange)) {
    const maxId = Math.max(0, ...[...merged.values()].map((e) => e.id));
    const batch = new WriteBatch();
    for (const gap of clip.gaps(maxId)) batch.deleteRange(gap.gte, gap.lt);
    if (batch.count > 0) db.write(batch);
  }
  return db;
}

/** Copies the entries of `source` inside the new range into `target`, mapping state ids by name. */
async function copyFrom(request: RescaleRequest, source: Source, tmp: string, target: Database, merged: Map<string, StateEntry>): Promise<void> {
  const prefixBytes = keyGroupPrefixBytes(request.maxParallelism);
  const share = source.range.intersection(request.keyGroupRange);
  const clip = new KeyGroupClip(share, prefixBytes, request.maxParallelism);
  await restoreCheckpoint(request.storage, source.handle.checkpointId, tmp, {
    mode: 'no-claim',
    chain: source.handle.chain,
    include: includeFor(clip),
  });
  const db = await Database.open(tmp, { ...backendDatabaseOptions(request.databaseOptions), createIfMissing: false, disableAutoCompactions: true });
  try {
    const batch = new WriteBatch();
    for (const e of source.states) {
      const to = merged.get(e.name)!.id;
      const it = db.iterator(clip.stateInterval(e.id));
      try {
        for (const [k, v] of it) {
          const key = Uint8Array.from(k);
          key[0] = to >>> 8;
          key[1] = to & 0xff;
          batch.put(key, v);
          if (batch.byteSize >= COPY_BATCH_BYTES) {
            target.write(batch);
            batch.clear();
          }
        }
      } finally {
        it.close();
      }
    }
    if (batch.count > 0) target.write(batch);
  } finally {
    await db.close();
  }
}
