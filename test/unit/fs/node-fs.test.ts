import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeFileSystem } from '../../../src/fs/node-fs.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('NodeFileSystem', () => {
  const fs = new NodeFileSystem();
  let dir = '';

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lsm-node-fs-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes, reads, appends and reopens for append', () => {
    const path = join(dir, 'a');
    const w = fs.openWritable(path);
    const buf = enc('hello');
    w.append(buf);
    w.append(enc(' world'));
    expect(w.size).toBe(11);
    w.sync();
    w.close();
    expect(dec(fs.readFile(path))).toBe('hello world');
    expect(fs.fileSize(path)).toBe(11);

    const a = fs.openAppendable(path);
    expect(a.size).toBe(11);
    a.append(enc('!'));
    a.close();
    expect(dec(fs.readFile(path))).toBe('hello world!');

    const r = fs.openRandomAccess(path);
    expect(r.size).toBe(12);
    const out = new Uint8Array(8);
    expect(r.read(out, 1, 5, 6)).toBe(5);
    expect(dec(out.subarray(1, 6))).toBe('world');
    expect(r.read(out, 0, 8, 10)).toBe(2);
    r.close();

    const w2 = fs.openWritable(path); // truncates
    w2.append(enc('x'));
    w2.close();
    expect(dec(fs.readFile(path))).toBe('x');
  });

  it('lists, renames, unlinks, links and syncs directories', () => {
    fs.mkdir(join(dir, 'sub', 'deeper'));
    expect(fs.isDirectory(join(dir, 'sub'))).toBe(true);
    for (const name of ['a', 'b']) {
      const w = fs.openWritable(join(dir, name));
      w.append(enc(name.toUpperCase()));
      w.close();
    }
    expect(fs.list(dir).sort()).toEqual(['a', 'b', 'sub']);
    fs.rename(join(dir, 'a'), join(dir, 'b'));
    expect(fs.list(dir).sort()).toEqual(['b', 'sub']);
    expect(dec(fs.readFile(join(dir, 'b')))).toBe('A');
    fs.link(join(dir, 'b'), join(dir, 'sub', 'c'));
    fs.unlink(join(dir, 'b'));
    expect(fs.exists(join(dir, 'b'))).toBe(false);
    expect(dec(fs.readFile(join(dir, 'sub', 'c')))).toBe('A');
    fs.syncDir(dir);
  });

  it('throws LSM_NOT_FOUND for missing files', () => {
    const missing = join(dir, 'missing');
    expect(codeOf(() => fs.readFile(missing))).toBe('LSM_NOT_FOUND');
    expect(codeOf(() => fs.openRandomAccess(missing))).toBe('LSM_NOT_FOUND');
    expect(codeOf(() => fs.fileSize(missing))).toBe('LSM_NOT_FOUND');
    expect(codeOf(() => fs.unlink(missing))).toBe('LSM_NOT_FOUND');
    expect(codeOf(() => fs.list(missing))).toBe('LSM_NOT_FOUND');
    expect(codeOf(() => fs.openWritable(join(missing, 'f')))).toBe('LSM_NOT_FOUND');
    expect(fs.exists(missing)).toBe(false);
    expect(fs.isDirectory(missing)).toBe(false);
  });

  it('refuses a second lock in the same process until release', () => {
    const path = join(dir, 'LOCK');
    const lock = fs.lock(path);
    expect(codeOf(() => fs.lock(path))).toBe('LSM_BUSY');
    expect(codeOf(() => new NodeFileSystem().lock(path))).toBe('LSM_BUSY');
    lock.release();
    const again = fs.lock(path);
    again.release();
  });
});
