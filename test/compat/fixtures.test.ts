/**
 * Committed LevelDB 1.20 databases (generated once by make-fixtures.ts): lsm-state reads the
 * good one exactly, and on the one with a flipped byte in a table's data block it raises
 * LSM_CORRUPTION naming that table, and never returns wrong data. Each test opens a temporary
 * copy: opening writes a new MANIFEST.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Database, LsmError } from '../../src/index.js';
import type { Entry } from '../../src/index.js';
import type { ExpectedFixture, ValueSpec } from './make-fixtures.js';
import { copyDir, removeDir } from './verify.js';
import { fromHex, hex } from './workload.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const SMALL = join(FIXTURES, 'leveldb-1.20-small');
const CORRUPT = join(FIXTURES, 'leveldb-1.20-corrupt-table');

const expected = JSON.parse(readFileSync(join(SMALL, 'expected.json'), 'utf8')) as ExpectedFixture;
const corruption = JSON.parse(readFileSync(join(CORRUPT, 'corruption.json'), 'utf8')) as { file: string; flippedByte: { offset: number } };
const live = expected.live.map(([k, v]) => ({ key: fromHex(k), spec: v }));
const deleted = expected.deleted.map(fromHex);

function matches(value: Uint8Array, spec: ValueSpec): boolean {
  if (typeof spec === 'string') return hex(value) === spec;
  return value.length === spec.length && createHash('sha256').update(value).digest('hex') === spec.sha256;
}

function describeEntry(i: number, [k, v]: Entry): string {
  return `entry ${i}: key 0x${hex(k).slice(0, 64)} (${v.length}-byte value)`;
}

/** Entries must be exactly a prefix of the expected order (all of it when `complete`). */
function expectPrefixOf(entries: Entry[], order: typeof live, label: string, complete: boolean): void {
  entries.forEach((e, i) => {
    const want = order[i];
    if (want === undefined) expect.fail(`${label}: ${describeEntry(i, e)} beyond the ${order.length} expected`);
    if (hex(e[0]) !== hex(want.key)) expect.fail(`${label}: ${describeEntry(i, e)}, expected key 0x${hex(want.key)}`);
    if (!matches(e[1], want.spec)) expect.fail(`${label}: ${describeEntry(i, e)} has the wrong value`);
  });
  if (complete) expect(entries.length, `${label}: entry count`).toBe(order.length);
}

/** Runs `read`; an error must be LSM_CORRUPTION naming the corrupt table. */
function corruptionOf(read: () => void): LsmError | undefined {
  try {
    read();
    return undefined;
  } catch (err) {
    expect(LsmError.is(err, 'LSM_CORRUPTION'), `expected LSM_CORRUPTION, got ${String(err)}`).toBe(true);
    const e = err as LsmError & { file?: string };
    expect(e.message).toContain(corruption.file);
    expect(e.file, 'CorruptionError.file').toBeDefined();
    expect(e.file!.endsWith(corruption.file)).toBe(true);
    return e;
  }
}

describe('LevelDB 1.20 fixtures', () => {
  let dir: string | undefined;
  afterEach(() => {
    removeDir(dir);
    dir = undefined;
  });

  it('the fixture is what its generator says: several tables, a .log tail, live and deleted keys', () => {
    const names = readdirSync(SMALL);
    expect(names.filter((n) => n.endsWith('.ldb')).length).toBeGreaterThanOrEqual(3);
    expect(names.filter((n) => n.endsWith('.log')).length).toBe(1);
    expect(live.length).toBeGreaterThan(300);
    expect(deleted.length).toBeGreaterThan(50);
    expect(live.some(({ key }) => key.length === 0), 'empty key').toBe(true);
    expect(live.some(({ spec }) => typeof spec !== 'string'), 'large values').toBe(true);
    expect(live.some(({ spec }) => spec === ''), 'empty values').toBe(true);
  });

  it('reads the small LevelDB 1.20 database exactly: get, forward and reverse iteration', async () => {
    dir = copyDir(SMALL, 'fixture');
    for (let round = 0; round < 2; round++) {
      // The second round reads lsm-state's own MANIFEST and the table it made from the .log.
      const db = await Database.open(dir, { compression: 'snappy' });
      try {
        for (const { key, spec } of live) {
          const v = db.get(key);
          if (v === undefined || !matches(v, spec)) expect.fail(`round ${round}: get(0x${hex(key)}) is ${v === undefined ? 'undefined' : 'wrong'}`);
        }
        for (const key of deleted) expect(db.get(key), `round ${round}: deleted key 0x${hex(key)}`).toBeUndefined();
        expectPrefixOf([...db.iterator()], live, `round ${round} forward`, true);
        expectPrefixOf([...db.iterator({ reverse: true })], [...live].reverse(), `round ${round} reverse`, true);
      } finally {
        await db.close();
      }
    }
  });

  it('the corrupt copy differs from the good one in exactly one byte of one table', () => {
    for (const name of readdirSync(SMALL).filter((n) => n !== 'expected.json')) {
      const a = readFileSync(join(SMALL, name));
      const b = readFileSync(join(CORRUPT, name));
      expect(b.length).toBe(a.length);
      const diffs: number[] = [];
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diffs.push(i);
      expect(diffs, name).toEqual(name === corruption.file ? [corruption.flippedByte.offset] : []);
    }
  });

  it('a flipped byte in a data block raises LSM_CORRUPTION naming the table, never wrong data', async () => {
    dir = copyDir(CORRUPT, 'fixture-corrupt');
    let opened: Database;
    try {
      opened = await Database.open(dir, { compression: 'snappy' });
    } catch (err) {
      // Reporting the corruption at open is acceptable too, as long as it names the table.
      expect(corruptionOf(() => {
        throw err;
      })).toBeDefined();
      return;
    }
    const db = opened;
    try {
      let failedGets = 0;
      for (const { key, spec } of live) {
        let v: Uint8Array | undefined;
        const err = corruptionOf(() => {
          v = db.get(key);
        });
        if (err !== undefined) {
          failedGets++;
          continue;
        }
        if (v === undefined || !matches(v, spec)) expect.fail(`get(0x${hex(key)}) returned ${v === undefined ? 'nothing' : 'wrong data'} instead of an error`);
      }
      expect(failedGets, 'gets of keys in the damaged block fail').toBeGreaterThan(0);
      for (const key of deleted) {
        let v: Uint8Array | undefined;
        corruptionOf(() => {
          v = db.get(key);
        });
        expect(v, `deleted key 0x${hex(key)}`).toBeUndefined();
      }

      for (const reverse of [false, true]) {
        const seen: Entry[] = [];
        const err = corruptionOf(() => {
          for (const e of db.iterator({ reverse })) seen.push(e);
        });
        expect(err, `${reverse ? 'reverse' : 'forward'} iteration over the damaged block fails`).toBeDefined();
        expectPrefixOf(seen, reverse ? [...live].reverse() : live, `${reverse ? 'reverse' : 'forward'} before the error`, false);
      }
    } finally {
      await db.close();
    }
  });
});
