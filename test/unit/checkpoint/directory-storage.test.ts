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
