/**
 * The WAL's user-space buffer reaches the OS at the end of each event-loop turn and in a
 * process 'exit' hook (docs/architecture.md, "WAL durability"). A process that writes and then
 * exits, or dies of an uncaught exception, in the same turn, without closing the database,
 * loses nothing it acknowledged: a child process proves it on the Node file system.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Database } from '../../src/index.js';
import { tempDir, text } from '../helpers/temp-dir.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

const distIndex = pathToFileURL(join(import.meta.dirname, '../../dist/src/index.js')).href;

function child(dir: string, ending: string): number | null {
  const script = `
    const { Database } = await import(${JSON.stringify(distIndex)});
    const db = await Database.open(${JSON.stringify(dir)});
    for (let i = 0; i < 1000; i++) db.put(Buffer.from('key' + i), Buffer.from('value' + i));
    ${ending}
  `;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' }).status;
}

describe('acknowledged writes survive the process ending without close', () => {
  for (const [name, ending] of [
    ['process.exit() in the same turn', 'process.exit(0);'],
    ['an uncaught exception in the same turn', "throw new Error('boom');"],
  ] as const) {
    it(name, async () => {
      const d = tempDir();
      cleanups.push(d.cleanup);
      const dir = join(d.path, 'db');
      const status = child(dir, ending);
      expect(status).not.toBeNull();
      const db = await Database.open(dir);
      expect([...db.iterator()].length).toBe(1000);
      expect(text(db.get(Buffer.from('key999')))).toBe('value999');
      await db.close();
    });
  }
});
