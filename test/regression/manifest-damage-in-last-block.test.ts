/**
 * Found by crash-recovery.test.ts ("a flipped byte in the MANIFEST"): flipping a byte in the
 * second record of a small MANIFEST opened the database with no tables at all, and open then
 * deleted every table as obsolete. The record log treats any damage in the last 32 KiB block as
 * a torn tail (it resynchronises at the next block, and nothing follows), and recovery tolerated
 * tail damage; a MANIFEST smaller than one block therefore tolerated damage anywhere after its
 * first record. Only a torn last append may be dropped.
 */
import { describe, expect, it } from 'vitest';
import { Database, LsmError, MemFileSystem } from '../../src/index.js';
import { bytes, text } from '../helpers/temp-dir.js';

async function threeFlushes(): Promise<{ fs: MemFileSystem; manifest: string }> {
  const fs = new MemFileSystem();
  const db = await Database.open('/db', { fileSystem: fs });
  for (let t = 0; t < 3; t++) {
    db.put(bytes(`key${t}`), bytes(`value${t}`));
    await db.flush();
  }
  await db.close();
  const manifest = fs.list('/db').find((n) => n.startsWith('MANIFEST-'))!;
  return { fs, manifest: `/db/${manifest}` };
}

describe('regression: damage inside a MANIFEST is not mistaken for a torn tail', () => {
  it('refuses to open, and keeps the tables, when an early edit is damaged', async () => {
    const { fs, manifest } = await threeFlushes();
    const tables = fs.list('/db').filter((n) => n.endsWith('.sst'));
    fs.corrupt(manifest, 45); // inside the second record; three more edits follow
    await expect(Database.open('/db', { fileSystem: fs })).rejects.toSatisfy((e: unknown) => LsmError.is(e, 'LSM_CORRUPTION'));
    expect(fs.list('/db').filter((n) => n.endsWith('.sst'))).toEqual(tables);
  });

  it('still opens when the last record is cut short (a crash during its append)', async () => {
    const { fs, manifest } = await threeFlushes();
    const size = fs.fileSize(manifest);
    fs.truncate(manifest, size - 3);
    const db = await Database.open('/db', { fileSystem: fs });
    expect(text(db.get(bytes('key0')))).toBe('value0');
    await db.close();
  });
});
