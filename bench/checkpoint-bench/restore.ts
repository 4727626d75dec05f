/**
 * Restores in the checkpoint benchmark: checking each mode's restored last checkpoint against the
 * pinned version and the model (structure, sampled gets, optionally every key; the two modes'
 * last checkpoints against each other), and timing restore against a plain copy of the same
 * files once every workload is done.
 */
import { constants } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CheckpointStorage, Database, readCheckpointMetadata, restoreCheckpoint,
  type CheckpointMetadata, type DatabaseOptions, type LiveFiles,
} from '../../src/index.js';
import { fsyncPath } from '../../src/checkpoint/directory-storage.js';
import { runPool } from '../../src/checkpoint/pool.js';
import { MiB, median, type ConfigResult, type Mode, type RestoreTiming, type WorkloadSpec } from './common.js';
import type { FinalState } from './workload.js';

// ------------------------------------------------------------------------------------------
// Checking a restore against the pinned version and the model

/** Compares a database's whole contents with the expected sorted state in one merge pass. */
function verifyAgainst(db: Database, expectedBytes: Uint8Array): { keys: number; mismatches: number } {
  const expected = Buffer.from(expectedBytes.buffer, expectedBytes.byteOffset, expectedBytes.length);
  let pos = 0;
  let keys = 0;
  let mismatches = 0;
  const skip = (p: number): number => {
    const kl = expected.readUInt16LE(p);
    return p + 6 + kl + expected.readUInt32LE(p + 2 + kl);
  };
  const it = db.iterator();
  try {
    for (const [key, value] of it) {
      keys++;
      for (;;) {
        if (pos >= expected.length) {
          mismatches++; // a key the model does not have
          break;
        }
        const kl = expected.readUInt16LE(pos);
        const c = Buffer.compare(expected.subarray(pos + 2, pos + 2 + kl), key);
        if (c < 0) {
          mismatches++; // the restore lacks this key
          pos = skip(pos);
          continue;
        }
        if (c > 0) {
          mismatches++; // a key the model does not have
          break;
        }
        const vl = expected.readUInt32LE(pos + 2 + kl);
        const vs = pos + 6 + kl;
        if (Buffer.compare(expected.subarray(vs, vs + vl), value) !== 0) mismatches++;
        pos = vs + vl;
        break;
      }
    }
  } finally {
    it.close();
  }
  while (pos < expected.length) {
    mismatches++;
    pos = skip(pos);
  }
  return { keys, mismatches };
}

/** The version a checkpoint pinned, as restore must reproduce it. */
export interface PinnedVersion {
  lastSequence: number;
  /** `<level>:<number>:<size>:<smallest hex>:<largest hex>`, sorted. */
  files: string[];
}

export function describePin(live: Pick<LiveFiles, 'lastSequence' | 'files'>): PinnedVersion {
  const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
  return {
    lastSequence: live.lastSequence,
    files: live.files.map((f) => `${f.level}:${f.meta.number}:${f.meta.size}:${hex(f.meta.smallest)}:${hex(f.meta.largest)}`).sort(),
  };
}

interface RestoreCheck {
  /** Keys compared one by one with the model (0 when only the structural and sampled checks ran). */
  keys: number;
  mismatches: number;
  /** Problems found by the structural and sampled checks (empty: passed). */
  problems: string[];
  sampledGets: number;
}

/**
 * Checks a restored database: it opens; its version is exactly the pinned one (same files at the
 * same levels, sizes and key ranges, same last sequence; restore already checked every file's
 * CRC32C against the metadata); a sample of the model's keys reads back with the model's values
 * and a sample of deleted keys is absent; with `allKeys`, every key is compared with the model.
 */
async function checkRestored(dir: string, options: DatabaseOptions, pin: PinnedVersion, wl: FinalState, allKeys: boolean): Promise<RestoreCheck> {
  const problems: string[] = [];
  const rdb = await Database.open(dir, { ...options, disableAutoCompactions: true });
  try {
    const live = await rdb.pinLiveFiles();
    let got: PinnedVersion;
    try {
      got = describePin(live);
    } finally {
      live.release();
    }
    if (got.lastSequence !== pin.lastSequence) problems.push(`last sequence ${got.lastSequence}, pinned ${pin.lastSequence}`);
    if (got.files.join('\n') !== pin.files.join('\n')) problems.push(`version differs from the pinned one (${got.files.length} files, pinned ${pin.files.length})`);
    const expected = Buffer.from(wl.expected.buffer, wl.expected.byteOffset, wl.expected.length);
    const step = Math.max(1, Math.floor(wl.expectedKeys / 2000));
    let sampledGets = 0;
    for (let pos = 0, i = 0; pos < expected.length; i++) {
      const kl = expected.readUInt16LE(pos);
      const vl = expected.readUInt32LE(pos + 2 + kl);
      if (i % step === 0) {
        sampledGets++;
        const v = rdb.get(expected.subarray(pos + 2, pos + 2 + kl));
        if (v === undefined || Buffer.compare(v, expected.subarray(pos + 6 + kl, pos + 6 + kl + vl)) !== 0) {
          problems.push(`key ${expected.toString('latin1', pos + 2, pos + 2 + kl)} reads back wrong`);
        }
      }
      pos += 6 + kl + vl;
    }
    for (const k of wl.deletedSample) {
      sampledGets++;
      if (rdb.get(Buffer.from(k, 'latin1')) !== undefined) problems.push(`deleted key ${k} is present`);
    }
    const full = allKeys ? verifyAgainst(rdb, wl.expected) : { keys: 0, mismatches: 0 };
    return { keys: full.keys, mismatches: full.mismatches, problems: problems.slice(0, 20), sampledGets };
  } finally {
    await rdb.close();
  }
}

/**
 * Both modes' last checkpoints pinned the same version: the same tables (local name, level, size,
 * key range) with the same CRC32C, although the incremental one computed most CRCs checkpoints
 * earlier and the full one computed all of them now.
 */
function crossCheckModes(metas: Map<Mode, CheckpointMetadata>): string[] {
  const [a, b] = [...metas.values()];
  if (a === undefined || b === undefined) return [];
  const desc = (m: CheckpointMetadata): string => m.files.map((f) => `${f.localName}:${f.level}:${f.size}:${f.crc32c}:${f.smallest}:${f.largest}`).sort().join('\n');
  const problems: string[] = [];
  if (a.lastSequence !== b.lastSequence) problems.push(`${a.mode} and ${b.mode} last checkpoints have different last sequences`);
  if (desc(a) !== desc(b)) problems.push(`${a.mode} and ${b.mode} last checkpoints list different tables or checksums`);
  return problems;
}

/**
 * Restores each mode's last checkpoint and checks it against the pinned version and the model
 * (and the two modes' last checkpoints against each other).
 */
export async function checkRestores(
  spec: WorkloadSpec, storeDirs: Partial<Record<Mode, string>>, verifyDir: string, options: DatabaseOptions,
  pin: PinnedVersion, final: FinalState, modes: Mode[],
): Promise<Map<Mode, ConfigResult['restore']>> {
  const metas = new Map<Mode, CheckpointMetadata>();
  for (const m of modes) metas.set(m, await readCheckpointMetadata(CheckpointStorage.directory(storeDirs[m]!), 'latest'));
  const crossProblems = crossCheckModes(metas);
  const out = new Map<Mode, ConfigResult['restore']>();
  for (const m of modes) {
    const v0 = performance.now();
    const target = join(verifyDir, m);
    const rs = await restoreCheckpoint(CheckpointStorage.directory(storeDirs[m]!), 'latest', target);
    const check = await checkRestored(target, options, pin, final, spec.keyModes.includes(m));
    check.problems.push(...crossProblems);
    await rm(target, { recursive: true, force: true });
    out.set(m, { keys: check.keys, mismatches: check.mismatches, problems: check.problems, sampledGets: check.sampledGets, bytes: rs.bytes, verifyMs: performance.now() - v0 });
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// Restore against a plain copy of the same files, timed with nothing else running

/**
 * Restore of the latest checkpoint in `storeDir` against two copies of the same files into an
 * empty directory: a plain copy (fs.copyFile per file, 4 at a time, no fsync: what `cp` does) and
 * the same copy followed by an fsync of every file and the directory (the durability restore
 * gives). The three alternate, rotating which goes first, over `rounds` rounds; the sources are
 * in the page cache for all of them (written moments before, read by every round).
 */
export async function timeRestore(storeDir: string, rounds: number): Promise<RestoreTiming> {
  const storage = CheckpointStorage.directory(storeDir);
  const meta: CheckpointMetadata = await readCheckpointMetadata(storage, 'latest');
  const bytes = meta.files.reduce((a, f) => a + f.size, 0);
  const work = await mkdtemp(join(tmpdir(), 'ckbench-restore-'));
  const src = (storageName: string): string => join(storeDir, ...storageName.split('/'));
  const kinds = ['restore', 'copy', 'copySync'] as const;
  const out: RestoreTiming['rounds'] = [];
  const cpu: RestoreTiming['rounds'] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const row = { restore: 0, copy: 0, copySync: 0 };
      const cpuRow = { restore: 0, copy: 0, copySync: 0 };
      for (let k = 0; k < kinds.length; k++) {
        const kind = kinds[(k + round) % kinds.length]!;
        const dir = join(work, `${round}-${kind}`);
        const c0 = process.cpuUsage();
        const t = performance.now();
        if (kind === 'restore') {
          await restoreCheckpoint(storage, 'latest', dir);
        } else {
          await mkdir(dir);
          await runPool(meta.files, 4, (f) => copyFile(src(f.storageName), join(dir, f.localName)));
          if (kind === 'copySync') {
            await runPool(meta.files, 4, (f) => fsyncPath(join(dir, f.localName), constants.O_RDWR));
            await fsyncPath(dir, constants.O_RDONLY);
          }
        }
        row[kind] = bytes / MiB / Math.max(1e-6, (performance.now() - t) / 1000);
        const c = process.cpuUsage(c0);
        cpuRow[kind] = (c.user + c.system) / 1000;
        await rm(dir, { recursive: true, force: true });
      }
      out.push(row);
      cpu.push(cpuRow);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const med = (k: keyof RestoreTiming['rounds'][number]): number => median(out.map((r) => r[k]));
  const cpuMed = (k: keyof RestoreTiming['rounds'][number]): number => median(cpu.map((r) => r[k]));
  return {
    bytes, files: meta.files.length, restoreMiBps: med('restore'), copyMiBps: med('copy'), copySyncMiBps: med('copySync'),
    cpuMs: { restore: cpuMed('restore'), copy: cpuMed('copy'), copySync: cpuMed('copySync') }, rounds: out,
  };
}
