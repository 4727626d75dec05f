/**
 * Checks our record log, WAL and VersionEdit bytes against a real LevelDB (classic-level, a
 * devDependency): we read what LevelDB writes, re-encode it byte for byte, and LevelDB opens a
 * database whose MANIFEST and WAL we wrote. Skipped when classic-level's binary cannot load.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BYTEWISE_COMPARATOR_NAME } from '../../../src/base/comparator.js';
import { nodeFileSystem } from '../../../src/fs/node-fs.js';
import { VersionEdit } from '../../../src/manifest/version-edit.js';
import { LogReader } from '../../../src/record/log-reader.js';
import { LogWriter } from '../../../src/record/log-writer.js';
import { replayWal } from '../../../src/wal/wal-replay.js';
import { WalWriter } from '../../../src/wal/wal-writer.js';
import { WriteBatch } from '../../../src/wal/write-batch.js';

type Level = {
  open(): Promise<void>;
  close(): Promise<void>;
  put(k: string, v: string): Promise<void>;
  get(k: string): Promise<string | undefined>;
  batch(ops: { type: 'put' | 'del'; key: string; value?: string }[]): Promise<void>;
  compactRange(start: string, end: string): Promise<void>;
};
type LevelCtor = new (dir: string, options: object) => Level;

async function loadClassicLevel(): Promise<LevelCtor | undefined> {
  try {
    const mod = (await import('classic-level')) as { ClassicLevel: LevelCtor };
    const probe = new mod.ClassicLevel(join(root, 'probe'), {});
    await probe.open();
    await probe.close();
    return mod.ClassicLevel;
  } catch {
    return undefined;
  }
}

const root = mkdtempSync(join(tmpdir(), 'lsm-state-interop-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ClassicLevel = await loadClassicLevel();
const enc = new TextEncoder();
const dec = new TextDecoder();

function records(path: string): { offset: number; record: Uint8Array }[] {
  const reader = new LogReader(new Uint8Array(readFileSync(path)), path, { mode: 'absoluteConsistency' });
  const out: { offset: number; record: Uint8Array }[] = [];
  for (let r = reader.readRecord(); r !== undefined; r = reader.readRecord()) out.push({ offset: reader.lastRecordOffset, record: r.slice() });
  return out;
}

describe.skipIf(ClassicLevel === undefined)('LevelDB interoperability', () => {
  it('reads the WAL LevelDB writes, including a record spanning blocks', async () => {
    const dir = join(root, 'leveldb-wal');
    const db = new ClassicLevel!(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await db.open();
    await db.put('a', '1');
    await db.batch([{ type: 'put', key: 'b', value: '2' }, { type: 'del', key: 'a' }]);
    await db.put('big', 'x'.repeat(100_000));
    const log = readdirSync(dir).find((n) => n.endsWith('.log'))!;
    const seen: string[] = [];
    // Read while the database is open: closing would flush the WAL into a table.
    const result = replayWal(nodeFileSystem, join(dir, log), 'absoluteConsistency', (batch) => {
      batch.forEach((kind, key, value) => seen.push(`${kind}:${dec.decode(key)}:${value.length}`));
    });
    await db.close();
    expect(seen).toEqual(['1:a:1', '1:b:1', '0:a:0', '1:big:100000']);
    expect(result).toEqual({ batches: 3, lastSequence: 4, droppedBytes: 0 });
  });

  it('decodes every MANIFEST edit LevelDB writes and re-encodes it to the same bytes', async () => {
    const dir = join(root, 'leveldb-manifest');
    const db = new ClassicLevel!(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await db.open();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2000; i++) await db.put(`key${String(i).padStart(5, '0')}`, `value${round}.${i}`.repeat(20));
      await db.compactRange('key00000', 'key99999');
    }
    await db.close();
    const manifest = readFileSync(join(dir, 'CURRENT'), 'utf8').trim();
    const edits = records(join(dir, manifest)).map(({ offset, record }) => ({ record, edit: VersionEdit.decode(record, manifest, offset) }));
    expect(edits[0]!.edit.comparatorName).toBe(BYTEWISE_COMPARATOR_NAME);
    for (const { record, edit } of edits) expect(Buffer.from(edit.encode()).equals(Buffer.from(record))).toBe(true);
    // The live tables are those added and not deleted since.
    const live = new Set<number>();
    for (const { edit } of edits) {
      for (const { meta } of edit.newFiles) live.add(meta.number);
      for (const { number } of edit.deletedFiles) live.delete(number);
    }
    const tables = readdirSync(dir).filter((n) => /\.(ldb|sst)$/.test(n)).map((n) => Number.parseInt(n, 10));
    expect([...live].sort((a, b) => a - b)).toEqual(tables.sort((a, b) => a - b));
    expect(edits.some(({ edit }) => edit.deletedFiles.length > 0)).toBe(true);
  });

  it('opens a database whose CURRENT, MANIFEST and WAL lsm-state wrote', async () => {
    const dir = join(root, 'ours');
    nodeFileSystem.mkdir(dir);
    const edit = new VersionEdit();
    edit.comparatorName = BYTEWISE_COMPARATOR_NAME;
    edit.logNumber = 3;
    edit.prevLogNumber = 0;
    edit.nextFileNumber = 4;
    edit.lastSequence = 0;
    const manifest = new LogWriter(nodeFileSystem.openWritable(join(dir, 'MANIFEST-000002')));
    manifest.addRecord(edit.encode());
    manifest.sync();
    manifest.close();
    writeFileSync(join(dir, 'CURRENT'), 'MANIFEST-000002\n');

    const wal = new WalWriter(nodeFileSystem.openWritable(join(dir, '000003.log')));
    let seq = 1;
    const add = (fill: (b: WriteBatch) => void): void => {
      const b = new WriteBatch();
      fill(b);
      b.setSequence(seq);
      seq += b.count;
      wal.add(b);
    };
    add((b) => b.put(enc.encode('a'), enc.encode('1')));
    add((b) => {
      b.put(enc.encode('b'), enc.encode('2'));
      b.delete(enc.encode('a'));
    });
    add((b) => b.put(enc.encode('big'), enc.encode('y'.repeat(70_000)))); // spans blocks
    wal.sync();
    wal.close();

    const db = new ClassicLevel!(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await db.open();
    expect(await db.get('a')).toBeUndefined();
    expect(await db.get('b')).toBe('2');
    expect((await db.get('big'))?.length).toBe(70_000);
    await db.put('c', '3'); // LevelDB keeps going from our last sequence
    await db.close();
  });
});
