import { describe, expect, it } from 'vitest';
import { MemFileSystem } from '../../../src/fs/mem-fs.js';
import type { FileSystem } from '../../../src/fs/file-system.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function write(fs: FileSystem, path: string, text: string, sync = true): void {
  const f = fs.openWritable(path);
  f.append(enc(text));
  if (sync) f.sync();
  f.close();
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

/** Deterministic PRNG returning ints in [0, n). */
function seeded(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

describe('MemFileSystem basics', () => {
  it('writes, reads, appends and reopens for append', () => {
    const fs = new MemFileSystem();
    fs.mkdir('/db');
    const w = fs.openWritable('/db/a');
    const buf = enc('hello');
    w.append(buf);
    buf.fill(0); // append must have copied
    w.append(enc(' world'));
    expect(w.size).toBe(11);
    w.close();
    expect(dec(fs.readFile('/db/a'))).toBe('hello world');
    expect(fs.fileSize('/db/a')).toBe(11);

    const a = fs.openAppendable('/db/a');
    expect(a.size).toBe(11);
    a.append(enc('!'));
    expect(a.size).toBe(12);
    a.close();
    expect(dec(fs.readFile('/db/a'))).toBe('hello world!');

    const r = fs.openRandomAccess('/db/a');
    expect(r.size).toBe(12);
    const out = new Uint8Array(10);
    expect(r.read(out, 2, 5, 6)).toBe(5);
    expect(dec(out.subarray(2, 7))).toBe('world');
    expect(r.read(out, 0, 10, 10)).toBe(2); // short only at end of file
    expect(r.read(out, 0, 10, 50)).toBe(0);
    r.close();

    // openWritable truncates; openAppendable creates when missing
    write(fs, '/db/a', 'x');
    expect(dec(fs.readFile('/db/a'))).toBe('x');
    const c = fs.openAppendable('db/c'); // relative paths resolve against '/'
    expect(c.size).toBe(0);
    c.close();
    expect(fs.exists('/db/c')).toBe(true);
  });

  it('readFile returns a copy', () => {
    const fs = new MemFileSystem();
    write(fs, '/f', 'abc');
    fs.readFile('/f').fill(0);
    expect(dec(fs.readFile('/f'))).toBe('abc');
  });

  it('reports missing files and directories like Node', () => {
    const fs = new MemFileSystem();
    expect(codeOf(() => fs.readFile('/nope'))).toBe('LSM_NOT_FOUND');
    expect(codeOf(() => fs.openRandomAccess('/nope'))).toBe('LSM_NOT_FOUND');
    expect(codeOf(() => fs.openWritable('/missing-dir/f'))).toBe('LSM_NOT_FOUND');
    expect(codeOf(() => fs.fileSize('/nope'))).toBe('LSM_NOT_FOUND');
    expect(codeOf(() => fs.list('/nope'))).toBe('LSM_NOT_FOUND');
    expect(codeOf(() => fs.unlink('/nope'))).toBe('LSM_NOT_FOUND');
    expect(codeOf(() => fs.rename('/nope', '/x'))).toBe('LSM_NOT_FOUND');
    write(fs, '/file', 'x');
    expect(codeOf(() => fs.openWritable('/file/child'))).toBe('LSM_IO'); // ENOTDIR
    expect(codeOf(() => fs.mkdir('/file'))).toBe('LSM_IO'); // EEXIST
    fs.mkdir('/d');
    expect(codeOf(() => fs.readFile('/d'))).toBe('LSM_IO'); // EISDIR
    expect(codeOf(() => fs.link('/d', '/d2'))).toBe('LSM_NOT_SUPPORTED');
  });

  it('lists, renames, unlinks and links', () => {
    const fs = new MemFileSystem();
    fs.mkdir('/db/sub/deeper');
    expect(fs.isDirectory('/db/sub/deeper')).toBe(true);
    write(fs, '/db/b', 'B');
    write(fs, '/db/a', 'A');
    expect(fs.list('/db')).toEqual(['a', 'b', 'sub']);
    expect(fs.isDirectory('/db/a')).toBe(false);

    fs.rename('/db/a', '/db/b'); // replaces
    expect(fs.list('/db')).toEqual(['b', 'sub']);
    expect(dec(fs.readFile('/db/b'))).toBe('A');

    fs.link('/db/b', '/db/sub/c');
    expect(dec(fs.readFile('/db/sub/c'))).toBe('A');
    expect(codeOf(() => fs.link('/db/b', '/db/sub/c'))).toBe('LSM_IO'); // EEXIST
    fs.unlink('/db/b');
    expect(fs.exists('/db/b')).toBe(false);
    expect(dec(fs.readFile('/db/sub/c'))).toBe('A'); // the link keeps the bytes
    expect(fs.fileNames()).toEqual(['/db/sub/c']);
  });

  it('counts bytes written and synced', () => {
    const fs = new MemFileSystem();
    const w = fs.openWritable('/f');
    w.append(enc('abcd'));
    w.sync();
    w.append(enc('ef'));
    w.sync();
    w.sync();
    w.close();
    fs.syncDir('/');
    expect(fs.stats()).toMatchObject({ bytesWritten: 6, bytesSynced: 6, appends: 2, syncs: 3, dirSyncs: 1 });
  });

  it('corrupts and truncates', () => {
    const fs = new MemFileSystem();
    write(fs, '/f', 'abcdef');
    fs.corrupt('/f', 1);
    expect(dec(fs.readFile('/f'))).toBe('accdef');
    fs.corrupt('/f', 0, 0x20);
    expect(dec(fs.readFile('/f'))).toBe('Accdef');
    fs.truncate('/f', 3);
    expect(dec(fs.readFile('/f'))).toBe('Acc');
    expect(() => fs.corrupt('/f', 3)).toThrow(RangeError);
    fs.syncDir('/');
    // corruption and truncation are on "disk": they survive a crash
    expect(dec(fs.crashClone().readFile('/f'))).toBe('Acc');
  });

  it('refuses a second lock until release', () => {
    const fs = new MemFileSystem();
    fs.mkdir('/db');
    const lock = fs.lock('/db/LOCK');
    expect(fs.exists('/db/LOCK')).toBe(true);
    expect(codeOf(() => fs.lock('/db/LOCK'))).toBe('LSM_BUSY');
    expect(codeOf(() => fs.lock('/db/../db/LOCK'))).toBe('LSM_BUSY'); // normalised
    lock.release();
    lock.release(); // idempotent
    fs.lock('/db/LOCK').release();
    expect(codeOf(() => fs.lock('/nodir/LOCK'))).toBe('LSM_NOT_FOUND');
  });

  it('does not carry locks into clones', () => {
    const fs = new MemFileSystem();
    fs.lock('/LOCK');
    fs.syncDir('/');
    fs.crashClone().lock('/LOCK').release();
    fs.clone().lock('/LOCK').release();
  });
});

describe('MemFileSystem crash simulation', () => {
  it('drops unsynced bytes and keeps synced ones', () => {
    const fs = new MemFileSystem();
    fs.mkdir('/db');
    const w = fs.openWritable('/db/log');
    w.append(enc('synced'));
    w.sync();
    w.append(enc('-lost'));
    fs.syncDir('/db');
    expect(dec(fs.readFile('/db/log'))).toBe('synced-lost');
    const after = fs.crashClone();
    expect(dec(after.readFile('/db/log'))).toBe('synced');
    // the original is untouched and still writable
    w.append(enc('!'));
    w.close();
    expect(dec(fs.readFile('/db/log'))).toBe('synced-lost!');
    expect(dec(after.readFile('/db/log'))).toBe('synced');
  });

  it('loses a synced file whose directory entry was never synced', () => {
    const fs = new MemFileSystem();
    fs.mkdir('/db');
    write(fs, '/db/a', 'data'); // synced bytes, but no syncDir
    expect(fs.crashClone().exists('/db/a')).toBe(false);
    expect(fs.crashClone().isDirectory('/db')).toBe(true); // mkdir is durable at once
    fs.syncDir('/db');
    expect(dec(fs.crashClone().readFile('/db/a'))).toBe('data');
  });

  it('keeps a durably named file with no synced bytes as empty', () => {
    const fs = new MemFileSystem();
    write(fs, '/a', 'unsynced', false);
    fs.syncDir('/');
    expect(fs.crashClone().readFile('/a').length).toBe(0);
  });

  it('undoes unlinks that were not dir-synced', () => {
    const fs = new MemFileSystem();
    write(fs, '/a', 'A');
    fs.syncDir('/');
    fs.unlink('/a');
    expect(dec(fs.crashClone().readFile('/a'))).toBe('A');
    fs.syncDir('/');
    expect(fs.crashClone().exists('/a')).toBe(false);
  });

  it('makes a rename durable only after syncDir of the target directory', () => {
    const fs = new MemFileSystem();
    fs.mkdir('/db');
    write(fs, '/db/CURRENT', 'old');
    fs.syncDir('/db');
    write(fs, '/db/CURRENT.tmp', 'new');
    fs.rename('/db/CURRENT.tmp', '/db/CURRENT');
    expect(dec(fs.readFile('/db/CURRENT'))).toBe('new');

    let after = fs.crashClone();
    expect(dec(after.readFile('/db/CURRENT'))).toBe('old'); // reverted
    expect(after.exists('/db/CURRENT.tmp')).toBe(false); // never durable

    fs.syncDir('/db');
    after = fs.crashClone();
    expect(dec(after.readFile('/db/CURRENT'))).toBe('new');
    expect(after.list('/db')).toEqual(['CURRENT']);
  });

  it('rename across directories: old name remains until its parent is synced', () => {
    const fs = new MemFileSystem();
    fs.mkdir('/a');
    fs.mkdir('/b');
    write(fs, '/a/f', 'F');
    fs.syncDir('/a');
    fs.rename('/a/f', '/b/f');
    fs.syncDir('/b');
    let after = fs.crashClone();
    expect(dec(after.readFile('/b/f'))).toBe('F');
    expect(dec(after.readFile('/a/f'))).toBe('F');
    fs.syncDir('/a');
    after = fs.crashClone();
    expect(after.exists('/a/f')).toBe(false);
    expect(after.exists('/b/f')).toBe(true);
  });

  it('truncation by openWritable is undone unless synced', () => {
    const fs = new MemFileSystem();
    write(fs, '/f', 'durable');
    fs.syncDir('/');
    const w = fs.openWritable('/f');
    w.append(enc('new'));
    expect(dec(fs.crashClone({ keepUnsyncedFraction: () => 3 }).readFile('/f'))).toBe('durable');
    w.sync();
    expect(dec(fs.crashClone().readFile('/f'))).toBe('new');
  });

  it('keeps a random prefix of unsynced bytes (torn tail)', () => {
    const fs = new MemFileSystem();
    const w = fs.openWritable('/log');
    w.append(enc('AAAA'));
    w.sync();
    w.append(enc('BBBBBBBB'));
    w.close();
    fs.syncDir('/');

    const seen = new Set<string>();
    const random = seeded(42);
    for (let i = 0; i < 50; i++) {
      const text = dec(fs.crashClone({ keepUnsyncedFraction: random }).readFile('/log'));
      expect(text.startsWith('AAAA')).toBe(true);
      expect('AAAABBBBBBBB'.startsWith(text)).toBe(true);
      seen.add(text);
    }
    expect(seen.size).toBeGreaterThan(3);

    const calls: number[] = [];
    const all = fs.crashClone({ keepUnsyncedFraction: (n) => (calls.push(n), n - 1) });
    expect(calls).toEqual([9]);
    expect(dec(all.readFile('/log'))).toBe('AAAABBBBBBBB');
    expect(dec(fs.crashClone({ keepUnsyncedFraction: () => 0 }).readFile('/log'))).toBe('AAAA');
  });

  it('the same seed gives the same clone', () => {
    const fs = new MemFileSystem();
    for (const name of ['a', 'b', 'c']) write(fs, `/${name}`, 'x'.repeat(100), false);
    fs.syncDir('/');
    const sizes = (seed: number): number[] => {
      const c = fs.crashClone({ keepUnsyncedFraction: seeded(seed) });
      return ['/a', '/b', '/c'].map((p) => c.fileSize(p));
    };
    expect(sizes(7)).toEqual(sizes(7));
  });

  it('hard-linked names both survive a crash', () => {
    const fs = new MemFileSystem();
    write(fs, '/t', 'table');
    fs.link('/t', '/t2');
    fs.syncDir('/');
    const after = fs.crashClone();
    expect(dec(after.readFile('/t'))).toBe('table');
    expect(dec(after.readFile('/t2'))).toBe('table');
  });

  it('clone() keeps unsynced state, which a later crashClone() still drops', () => {
    const fs = new MemFileSystem();
    const w = fs.openWritable('/f');
    w.append(enc('ab'));
    w.sync();
    w.append(enc('cd'));
    const copy = fs.clone();
    expect(dec(copy.readFile('/f'))).toBe('abcd');
    expect(copy.crashClone().exists('/f')).toBe(false);
    copy.syncDir('/');
    expect(dec(copy.crashClone().readFile('/f'))).toBe('ab');
  });
});

describe('MemFileSystem fault injection', () => {
  it('fails matching calls after N successes, for `times` calls', () => {
    const fs = new MemFileSystem();
    const w = fs.openWritable('/000001.log');
    const fault = fs.injectFault({ op: 'append', path: /\.log$/, after: 2, times: 2 });
    w.append(enc('1'));
    w.append(enc('2'));
    let err: unknown;
    try {
      w.append(enc('3'));
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe('LSM_IO');
    expect((err as Error).message).toMatch(/injected/);
    expect(codeOf(() => w.append(enc('4')))).toBe('LSM_IO');
    w.append(enc('5'));
    expect(dec(fs.readFile('/000001.log'))).toBe('125'); // failed appends wrote nothing
    expect(fault.calls).toBe(5);
    expect(fault.failures).toBe(2);

    // other paths are not affected
    fs.injectFault({ op: 'append', path: /\.log$/ });
    const t = fs.openWritable('/000002.ldb');
    t.append(enc('ok'));
    expect(codeOf(() => w.append(enc('6')))).toBe('LSM_IO');
  });

  it('covers sync, syncDir, rename, unlink, open and read; remove() and clearFaults()', () => {
    const fs = new MemFileSystem();
    write(fs, '/a', 'A');
    const w = fs.openAppendable('/a');
    const h = fs.injectFault({ op: 'sync' });
    expect(codeOf(() => w.sync())).toBe('LSM_IO');
    h.remove();
    w.sync();

    fs.injectFault({ op: 'syncDir' });
    fs.injectFault({ op: 'rename', path: /^\/b$/ }); // matches the target too
    fs.injectFault({ op: 'unlink' });
    fs.injectFault({ op: 'open', path: /^\/a$/ });
    expect(codeOf(() => fs.syncDir('/'))).toBe('LSM_IO');
    expect(codeOf(() => fs.rename('/a', '/b'))).toBe('LSM_IO');
    expect(fs.exists('/a')).toBe(true);
    expect(codeOf(() => fs.unlink('/a'))).toBe('LSM_IO');
    expect(codeOf(() => fs.openRandomAccess('/a'))).toBe('LSM_IO');
    fs.clearFaults();

    const r = fs.openRandomAccess('/a');
    fs.injectFault({ op: 'read', times: 1 });
    expect(codeOf(() => r.read(new Uint8Array(1), 0, 1, 0))).toBe('LSM_IO');
    expect(r.read(new Uint8Array(1), 0, 1, 0)).toBe(1);

    fs.injectFault({ op: 'any', after: 1, times: 1 });
    fs.readFile('/a');
    expect(codeOf(() => fs.list('/'))).toBe('LSM_IO');
    fs.list('/');
  });
});
