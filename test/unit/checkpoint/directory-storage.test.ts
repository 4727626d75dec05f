import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointStorage } from '../../../src/index.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { storageContract } from './storage-contract.js';

storageContract('directory', async () => {
  const d = tempDir('lsm-dirstore-');
  const s = CheckpointStorage.directory(join(d.path, 'store'));
  const close = s.close.bind(s);
  s.close = async () => {
    await close();
    d.cleanup();
  };
  return s;
});

describe('DirectoryStorage', () => {
  it('leaves no temporary files and maps names to subdirectories', async () => {
    const d = tempDir('lsm-dirstore-');
    try {
      const s = CheckpointStorage.directory(d.path);
      await s.putBytes('full/7/a-1.sst', new Uint8Array(3));
      expect(readdirSync(join(d.path, 'full', '7'))).toEqual(['a-1.sst']);
      await s.delete('full/7/a-1.sst');
      expect(readdirSync(d.path)).toEqual([]); // emptied directories removed
    } finally {
      d.cleanup();
    }
  });
});

describe('DirectoryStorage under concurrent deletes', () => {
  it('an upload into a directory a concurrent delete empties and removes still succeeds', async () => {
    const d = tempDir('lsm-dirstore-race-');
    const s = CheckpointStorage.directory(join(d.path, 'store'));
    try {
      for (let i = 0; i < 300; i++) {
        await s.putBytes(`full/${i}/a.sst`, Uint8Array.of(1));
        // The delete removes full/<i>/ once a.sst is gone; the put needs that directory.
        await Promise.all([s.delete(`full/${i}/a.sst`), s.putBytes(`full/${i}/b.sst`, Uint8Array.of(2))]);
        expect(await s.getBytes(`full/${i}/b.sst`)).toEqual(Uint8Array.of(2));
      }
    } finally {
      await s.close();
      d.cleanup();
    }
  });
});
