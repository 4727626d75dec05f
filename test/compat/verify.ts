/**
 * Shared checks for the compatibility tests: write a workload into LevelDB (classic-level) or
 * lsm-state, and compare what either engine reads back with the model.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { expect } from 'vitest';
import { Database, WriteBatch } from '../../src/index.js';
import { BlockCache } from '../../src/sstable/block-cache.js';
import { TableReader } from '../../src/sstable/table-reader.js';
import { NodeFileSystem } from '../../src/fs/node-fs.js';
import { checkInternalKey, compareInternalKeys } from '../../src/base/internal-key.js';
import { dataBlocks } from './table-layout.js';
import { type Entry, type Model, type Op, Rand, chunk, compareBytes, hex, utf8 } from './workload.js';

export type Level = ClassicLevel<Buffer, Buffer>;

const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `lsm-compat-${prefix}-`));
}

/** A fresh temporary copy of a database directory (opening writes a new MANIFEST). */
export function copyDir(src: string, prefix: string): string {
  const dst = tempDir(prefix);
  cpSync(src, dst, { recursive: true });
  return dst;
}

export function removeDir(dir: string | undefined): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}

export function openLevel(dir: string, options: { compression?: boolean; writeBufferSize?: number } = {}): Level {
  return new ClassicLevel<Buffer, Buffer>(dir, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
    writeBufferSize: options.writeBufferSize ?? 64 * 1024,
    compression: options.compression ?? true,
  });
}

/** Writes ops to LevelDB: mostly batches of random size, some single puts and dels. */
export async function writeLevel(db: Level, ops: Op[], seed: number): Promise<void> {
  const rand = new Rand(seed);
  for (const batch of chunk(rand, ops, 40)) {
    if (batch.length === 1) {
      const op = batch[0]!;
      if (op.type === 'put') await db.put(buf(op.key), buf(op.value));
      else await db.del(buf(op.key));
    } else {
      await db.batch(batch.map((op) => (op.type === 'put'
        ? { type: 'put' as const, key: buf(op.key), value: buf(op.value) }
        : { type: 'del' as const, key: buf(op.key) })));
    }
  }
}

/** Writes ops to lsm-state: mostly WriteBatches of random size, some single puts and deletes. */
export function writeLsm(db: Database, ops: Op[], seed: number): void {
  const rand = new Rand(seed);
  for (const batch of chunk(rand, ops, 40)) {
    if (batch.length === 1) {
      const op = batch[0]!;
      if (op.type === 'put') db.put(op.key, op.value);
      else db.delete(op.key);
    } else {
      const b = new WriteBatch();
      for (const op of batch) {
        if (op.type === 'put') b.put(op.key, op.value);
        else b.delete(op.key);
      }
      db.write(b);
    }
  }
}

function describeKey(k: Uint8Array): string {
  return k.length > 48 ? `${hex(k.subarray(0, 48))}… (${k.length} bytes)` : `0x${hex(k)}`;
}

/** Fails with the first differing position rather than a multi-megabyte diff. */
export function expectSameEntries(actual: Entry[], expected: Entry[], label: string): void {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    const [ak, av] = actual[i]!;
    const [ek, ev] = expected[i]!;
    if (compareBytes(ak, ek) !== 0) {
      expect.fail(`${label}: entry ${i} has key ${describeKey(ak)}, expected ${describeKey(ek)}`);
    }
    if (compareBytes(av, ev) !== 0) {
      expect.fail(`${label}: value of ${describeKey(ek)} differs (${av.length} bytes, expected ${ev.length})`);
    }
  }
  if (actual.length !== expected.length) {
    const extra = actual.length > expected.length ? `extra key ${describeKey(actual[n]![0])}` : `missing key ${describeKey(expected[n]![0])}`;
    expect.fail(`${label}: ${actual.length} entries, expected ${expected.length} (${extra})`);
  }
}

/** Keys never written: must read as absent. */
const NEVER_WRITTEN = [utf8('key-'), utf8('key-9999999'), utf8('zzz-never'), new Uint8Array([0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04])];

/** A bounded range [gte, lt) in the middle of the model's key order, with its expected entries. */
function middleRange(expected: Entry[]): { gte: Uint8Array; lt: Uint8Array; entries: Entry[] } | undefined {
  if (expected.length < 10) return undefined;
  const a = Math.floor(expected.length / 3);
  const b = Math.floor((2 * expected.length) / 3);
  return { gte: expected[a]![0], lt: expected[b]![0], entries: expected.slice(a, b) };
}

/** Point reads: every live key has its value; deleted and never-written keys are absent. */
export function verifyLsmGets(db: Database, model: Model, label: string): void {
  const expected = model.sorted();
  expect(expected.length).toBeGreaterThan(0);
  for (const [k, v] of expected) {
    const got = db.get(k);
    if (got === undefined) expect.fail(`${label}: get(${describeKey(k)}) is undefined, expected ${v.length} bytes`);
    if (compareBytes(got, v) !== 0) expect.fail(`${label}: get(${describeKey(k)}) returned different bytes (${got.length}, expected ${v.length})`);
  }
  for (const k of [...model.deletedKeys(), ...NEVER_WRITTEN]) {
    if (model.live.has(hex(k))) continue;
    const got = db.get(k);
    if (got !== undefined) expect.fail(`${label}: get(${describeKey(k)}) returned ${got.length} bytes for a deleted/absent key`);
  }
}

/** Reverse iteration, whole and over a bounded range, equals the model. */
export function verifyLsmReverse(db: Database, model: Model, label: string): void {
  const expected = model.sorted();
  expectSameEntries([...db.iterator({ reverse: true })], [...expected].reverse(), `${label} reverse iterator`);
  const range = middleRange(expected);
  if (range !== undefined) {
    expectSameEntries([...db.iterator({ gte: range.gte, lt: range.lt, reverse: true })], [...range.entries].reverse(), `${label} reverse range iterator`);
  }
}

/** Forward iteration, whole and over a bounded range, equals the model. */
export function verifyLsmForward(db: Database, model: Model, label: string): void {
  const expected = model.sorted();
  expectSameEntries([...db.iterator()], expected, `${label} forward iterator`);
  const range = middleRange(expected);
  if (range !== undefined) {
    expectSameEntries([...db.iterator({ gte: range.gte, lt: range.lt })], range.entries, `${label} range iterator`);
  }
}

/** Gets, forward and reverse iteration (whole and bounded) all agree with the model. */
export function verifyLsm(db: Database, model: Model, label: string): void {
  verifyLsmGets(db, model, label);
  verifyLsmForward(db, model, label);
  verifyLsmReverse(db, model, label);
}

export async function verifyLevel(db: Level, model: Model, label: string): Promise<void> {
  const expected = model.sorted();
  expect(expected.length).toBeGreaterThan(0);
  const values = await db.getMany(expected.map(([k]) => buf(k)));
  expected.forEach(([k, v], i) => {
    const got = values[i];
    if (got === undefined) expect.fail(`${label}: LevelDB get(${describeKey(k)}) is undefined, expected ${v.length} bytes`);
    if (compareBytes(got, v) !== 0) expect.fail(`${label}: LevelDB get(${describeKey(k)}) returned different bytes (${got.length}, expected ${v.length})`);
  });
  const absent = [...model.deletedKeys(), ...NEVER_WRITTEN].filter((k) => !model.live.has(hex(k)));
  const absentValues = await db.getMany(absent.map(buf));
  absent.forEach((k, i) => {
    const got = absentValues[i];
    if (got !== undefined) expect.fail(`${label}: LevelDB get(${describeKey(k)}) returned ${got.length} bytes for a deleted/absent key`);
  });
  const forward = await db.iterator().all();
  expectSameEntries(forward, expected, `${label} LevelDB forward iterator`);
  const reverse = await db.iterator({ reverse: true }).all();
  expectSameEntries(reverse, [...expected].reverse(), `${label} LevelDB reverse iterator`);
  const range = middleRange(expected);
  if (range !== undefined) {
    const r = await db.iterator({ gte: buf(range.gte), lt: buf(range.lt) }).all();
    expectSameEntries(r, range.entries, `${label} LevelDB range iterator`);
  }
}

export interface DirSummary {
  ldb: string[];
  sst: string[];
  logs: { name: string; size: number }[];
  manifests: string[];
}

export function summarize(dir: string): DirSummary {
  const names = readdirSync(dir).sort();
  return {
    ldb: names.filter((n) => n.endsWith('.ldb')),
    sst: names.filter((n) => n.endsWith('.sst')),
    logs: names.filter((n) => /^\d+\.log$/.test(n)).map((name) => ({ name, size: statSync(join(dir, name)).size })),
    manifests: names.filter((n) => n.startsWith('MANIFEST-')),
  };
}

/** Sorts after every key the workloads write. */
const ABOVE_ALL_KEYS = Buffer.alloc(64, 0xff);

/**
 * Flushes LevelDB's memtable and waits until its background thread is idle. compactRange over a
 * range that overlaps no table only flushes the memtable (and waits for that flush). Closing
 * LevelDB while a flush or compaction runs abandons the table it was writing: the file stays
 * behind, named by no MANIFEST (see the orphan-table test), so tests settle LevelDB first when
 * they need a deterministic directory.
 */
export async function settleLevel(db: Level): Promise<void> {
  await db.compactRange(ABOVE_ALL_KEYS, ABOVE_ALL_KEYS);
}

/** Compacts LevelDB's whole key range (memtable and every level). */
export async function compactAllLevel(db: Level): Promise<void> {
  await db.compactRange(Buffer.alloc(0), ABOVE_ALL_KEYS);
}

/** Files per level from LevelDB's "leveldb.num-files-at-levelN" properties. */
export function levelFileCounts(db: Level): number[] {
  const out: number[] = [];
  for (let level = 0; level < 7; level++) out.push(Number(db.getProperty(`leveldb.num-files-at-level${level}`)));
  return out;
}

/**
 * Opens every table file in `dir` with lsm-state's TableReader and reads every entry: no table
 * that LevelDB wrote may be refused. Returns the number of entries read.
 */
export function scanAllTables(dir: string): number {
  const fs = new NodeFileSystem();
  const cache = new BlockCache(1 << 20);
  let entries = 0;
  for (const name of readdirSync(dir).filter((n) => /^\d+\.(ldb|sst)$/.test(n))) {
    const reader = TableReader.open(fs, join(dir, name), { cache });
    try {
      const it = reader.iterator();
      try {
        let prev: Uint8Array | undefined;
        for (it.seekToFirst(); it.valid(); it.next()) {
          const key = it.key().slice();
          checkInternalKey(key);
          if (prev !== undefined && compareInternalKeys(prev, key) >= 0) expect.fail(`${name}: internal keys out of order at entry ${entries}`);
          it.value();
          prev = key;
          entries++;
        }
      } finally {
        it.close();
      }
    } finally {
      reader.close();
    }
  }
  return entries;
}

/** Compression types (0 none, 1 snappy) of the data blocks of the named tables in `dir`. */
export function blockTypes(dir: string, names: string[]): number[] {
  const types = new Set<number>();
  for (const name of names) for (const b of dataBlocks(readFileSync(join(dir, name)))) types.add(b.type);
  return [...types].sort();
}
