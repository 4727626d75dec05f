/**
 * Shrunk from db-model.property.test.ts: [put(01, ''), put(01, '')] then a forward scan returned
 * key 01 twice. The forward iterator forgot, between next() calls, which user key it had just
 * returned, so the older version of an overwritten key came back as another entry.
 */
import { describe, expect, it } from 'vitest';
import { Database, MemFileSystem, WriteBatch } from '../../src/index.js';
import { bytes, text } from '../helpers/temp-dir.js';

describe('regression: forward iteration over an overwritten key', () => {
  it('returns each user key once, with its newest value', async () => {
    const db = await Database.open('/db', { fileSystem: new MemFileSystem() });
    db.put(bytes('a'), bytes('old'));
    db.put(bytes('a'), bytes('new'));
    const batch = new WriteBatch();
    batch.put(bytes('b'), bytes('1'));
    batch.put(bytes('b'), bytes('2'));
    db.write(batch);
    const seen = [...db.iterator()].map(([k, v]) => `${text(k)}=${text(v)}`);
    expect(seen).toEqual(['a=new', 'b=2']);
    await db.close();
  });
});
