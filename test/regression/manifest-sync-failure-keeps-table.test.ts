/**
 * Found by crash-recovery.test.ts ("a MANIFEST sync failure during a flush ..."): when the
 * MANIFEST sync failed while installing a flush, the database forgot the new table was in use
 * and the next obsolete-file pass deleted it. But the edit naming it had been appended to the
 * MANIFEST (only its sync failed), so the next open failed with "table file 5 named by the
 * MANIFEST is missing". An output whose edit may be in the MANIFEST must never be deleted.
 */
import { describe, expect, it } from 'vitest';
import { Database, LsmError, MemFileSystem } from '../../src/index.js';
import { bytes, text } from '../helpers/temp-dir.js';

describe('regression: a failed MANIFEST sync does not delete the flushed table', () => {
  it('reopens with every write after the failure', async () => {
    const fs = new MemFileSystem();
    const db = await Database.open('/db', { fileSystem: fs });
    for (let i = 0; i < 20; i++) db.put(bytes(`k${i}`), bytes(`v${i}`));
    fs.injectFault({ op: 'sync', path: /MANIFEST/ });
    await expect(db.flush()).rejects.toSatisfy((e: unknown) => LsmError.is(e, 'LSM_IO'));
    expect([...db.iterator()].length).toBe(20); // an iterator's release runs the obsolete-file pass
    await db.close();
    fs.clearFaults();
    const again = await Database.open('/db', { fileSystem: fs });
    for (let i = 0; i < 20; i++) expect(text(again.get(bytes(`k${i}`)))).toBe(`v${i}`);
    await again.close();
  });
});
