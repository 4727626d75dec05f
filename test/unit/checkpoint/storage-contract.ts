/**
 * The CheckpointStorage contract (src/checkpoint/checkpoint-storage.ts), reusable by every
 * implementation: `storageContract('directory', async () => CheckpointStorage.directory(dir))`.
 * `make` is called once per test and must return an empty storage.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LsmError } from '../../../src/base/errors.js';
import type { CheckpointStorage } from '../../../src/checkpoint/checkpoint-storage.js';
import { tempDir } from '../../helpers/temp-dir.js';

export function storageContract(name: string, make: () => Promise<CheckpointStorage>): void {
  describe(`CheckpointStorage contract: ${name}`, () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    afterEach(async () => {
      while (cleanups.length > 0) await cleanups.pop()!();
    });
    const setup = async (): Promise<{ s: CheckpointStorage; local: string }> => {
      const s = await make();
      const d = tempDir('lsm-contract-');
      cleanups.push(d.cleanup, () => s.close());
      return { s, local: d.path };
    };

    it('putBytes / getBytes round trip, nested names, replace', async () => {
      const { s } = await setup();
      expect(typeof s.description).toBe('string');
      await s.putBytes('checkpoints/1.meta', new Uint8Array([1, 2, 3]));
      await s.putBytes('a/b/c.bin', new Uint8Array(0));
      expect([...(await s.getBytes('checkpoints/1.meta'))]).toEqual([1, 2, 3]);
      expect((await s.getBytes('a/b/c.bin')).length).toBe(0);
      await s.putBytes('checkpoints/1.meta', new Uint8Array([9]));
      expect([...(await s.getBytes('checkpoints/1.meta'))]).toEqual([9]);
    });

    it('putFile / downloadFile round trip a file of several MB (created or replaced)', async () => {
      const { s, local } = await setup();
      const data = randomBytes(3 * 1024 * 1024 + 17);
      writeFileSync(join(local, 'in.sst'), data);
      await s.putFile('shared/db-1.sst', join(local, 'in.sst'));
      writeFileSync(join(local, 'out.sst'), 'old content');
      await s.downloadFile('shared/db-1.sst', join(local, 'out.sst'));
      expect(Buffer.compare(readFileSync(join(local, 'out.sst')), data)).toBe(0);
      await s.downloadFile('shared/db-1.sst', join(local, 'fresh.sst'));
      expect(readFileSync(join(local, 'fresh.sst')).length).toBe(data.length);
    });

    it('missing objects report LSM_NOT_FOUND; deleting one is not an error', async () => {
      const { s, local } = await setup();
      await expect(s.getBytes('checkpoints/404.meta')).rejects.toSatisfy((e) => LsmError.is(e, 'LSM_NOT_FOUND'));
      await expect(s.downloadFile('shared/none.sst', join(local, 'x'))).rejects.toSatisfy((e) => LsmError.is(e, 'LSM_NOT_FOUND'));
      await s.delete('shared/none.sst');
    });

    it('list(prefix) returns exactly the complete objects under the prefix, with sizes', async () => {
      const { s } = await setup();
      await s.putBytes('checkpoints/1.meta', new Uint8Array(5));
      await s.putBytes('checkpoints/2.meta', new Uint8Array(6));
      await s.putBytes('shared/x-1.sst', new Uint8Array(7));
      await s.putBytes('full/3/x-1.sst', new Uint8Array(8));
      const names = (await s.list('checkpoints/')).map((o) => `${o.name}:${o.size}`).sort();
      expect(names).toEqual(['checkpoints/1.meta:5', 'checkpoints/2.meta:6']);
      expect((await s.list('full/')).map((o) => o.name)).toEqual(['full/3/x-1.sst']);
      expect((await s.list('')).length).toBe(4);
      expect((await s.list('shared/x-')).map((o) => o.name)).toEqual(['shared/x-1.sst']);
      expect(await s.list('nothing/')).toEqual([]);
      await s.delete('full/3/x-1.sst');
      expect(await s.list('full/')).toEqual([]);
      expect((await s.list('')).length).toBe(3);
    });

    it('rejects names that could escape (.., leading /, empty parts)', async () => {
      const { s } = await setup();
      for (const bad of ['../x', 'a/../../x', '/abs', 'a//b', '', 'a/./b', 'a\\b']) {
        await expect(s.putBytes(bad, new Uint8Array(1))).rejects.toThrow();
      }
    });

    it('concurrent puts of different objects all land', async () => {
      const { s } = await setup();
      await Promise.all(Array.from({ length: 20 }, (_, i) => s.putBytes(`shared/c-${i}.sst`, new Uint8Array(i + 1))));
      const listed = await s.list('shared/');
      expect(listed.length).toBe(20);
      expect(listed.reduce((n, o) => n + o.size, 0)).toBe(210);
    });
  });
}
