import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStorage } from '../../../src/checkpoint/storage-factory.js';
import type { CheckpointStorage as Storage } from '../../../src/checkpoint/checkpoint-storage.js';
import { KeyGroupRange, assignToKeyGroup, keyGroupRangeForOperator } from '../../../src/state/key-groups.js';
import { type KeyedStateHandle, KeyedStateBackend } from '../../../src/state/keyed-state-backend.js';
import { Serializers } from '../../../src/state/serializers.js';
import { tempDir } from '../../helpers/temp-dir.js';

const MAXP = 16;
const users = Array.from({ length: 200 }, (_, i) => `user-${i}`);
const kgOf = (k: string): number => assignToKeyGroup(Serializers.string.serialize(k), MAXP);

let tmp: { path: string; cleanup: () => void };
let storage: Storage;
const open: KeyedStateBackend<string>[] = [];

beforeEach(() => {
  tmp = tempDir();
  storage = CheckpointStorage.directory(join(tmp.path, 'storage'));
});
afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
  tmp.cleanup();
});

async function backend(dir: string, range = KeyGroupRange.of(0, MAXP - 1), extra: object = {}): Promise<KeyedStateBackend<string>> {
  const b = await KeyedStateBackend.open({
    dir: join(tmp.path, dir), maxParallelism: MAXP, keyGroupRange: range, keySerializer: Serializers.string,
    checkpointStorage: storage, writeBufferSize: 64 << 10, ...extra,
  });
  open.push(b);
  return b;
}

async function restore(dir: string, handles: KeyedStateHandle[], range: KeyGroupRange): Promise<KeyedStateBackend<string>> {
  const b = await KeyedStateBackend.restore({
    dir: join(tmp.path, dir), maxParallelism: MAXP, keyGroupRange: range, keySerializer: Serializers.string,
    checkpointStorage: storage, handles, name: `restored-${dir}`, writeBufferSize: 64 << 10,
  });
  open.push(b);
  return b;
}

const countDesc = { name: 'count', valueSerializer: Serializers.int32 };
const eventsDesc = { name: 'events', elementSerializer: Serializers.string };
const featuresDesc = { name: 'features', userKeySerializer: Serializers.string, valueSerializer: Serializers.float64 };

describe('KeyedStateBackend state primitives', () => {
  it('ValueState get/set/clear per key and namespace', async () => {
    const b = await backend('db');
    const v = b.valueState({ name: 'v', valueSerializer: Serializers.int32, namespaceSerializer: Serializers.int64 });
    v.set('alice', 1, 10n);
    v.set('alice', 2, 20n);
    v.set('bob', 3, 10n);
    expect(v.get('alice', 10n)).toBe(1);
    expect(v.get('alice', 20n)).toBe(2);
    expect(v.get('alice', 30n)).toBeUndefined();
    expect([...v.namespaces('alice')]).toEqual([10n, 20n]);
    expect(new Set(v.keys())).toEqual(new Set(['alice', 'bob']));
    expect([...v.keys(20n)]).toEqual(['alice']);
    v.clear('alice', 10n);
    expect(v.get('alice', 10n)).toBeUndefined();
    expect(v.get('alice', 20n)).toBe(2);
  });

  it('ListState add/addAll/update/clear, appends are merges that survive flush and compaction', async () => {
    const b = await backend('db');
    const l = b.listState(eventsDesc);
    expect(l.get('a')).toEqual([]);
    l.add('a', 'x');
    l.addAll('a', ['y', 'z']);
    expect(l.get('a')).toEqual(['x', 'y', 'z']);
    await b.flush();
    l.add('a', 'w');
    await b.db.compactRange();
    expect(l.get('a')).toEqual(['x', 'y', 'z', 'w']);
    l.update('a', ['only']);
    expect(l.get('a')).toEqual(['only']);
    l.update('a', []);
    expect(l.get('a')).toEqual([]);
    l.add('b', '');
    expect(l.get('b')).toEqual(['']);
  });

  it('MapState put/get/remove/contains and iteration in user-key order', async () => {
    const b = await backend('db');
    const m = b.mapState({ name: 'm', userKeySerializer: Serializers.int32, valueSerializer: Serializers.string });
    for (const k of [5, -3, 100, 0]) m.put('u', k, `v${k}`);
    m.put('other', 1, 'x');
    expect(m.get('u', 5)).toBe('v5');
    expect(m.contains('u', 7)).toBe(false);
    expect([...m.keysOf('u')]).toEqual([-3, 0, 5, 100]);
    expect([...m.entries('u')]).toEqual([[-3, 'v-3'], [0, 'v0'], [5, 'v5'], [100, 'v100']]);
    expect([...m.values('u')]).toEqual(['v-3', 'v0', 'v5', 'v100']);
    m.remove('u', 0);
    expect(m.contains('u', 0)).toBe(false);
    expect(m.isEmpty('u')).toBe(false);
    m.clear('u');
    expect(m.isEmpty('u')).toBe(true);
    expect(m.get('other', 1)).toBe('x');
  });

  it('ReducingState and AggregatingState fold added values', async () => {
    const b = await backend('db');
    const r = b.reducingState({ name: 'sum', valueSerializer: Serializers.int64, reduce: (a: bigint, v: bigint) => a + v });
    r.add('k', 5n);
    r.add('k', 7n);
    expect(r.get('k')).toBe(12n);
    const avg = b.aggregatingState({
      name: 'avg',
      accumulatorSerializer: Serializers.tuple(Serializers.float64, Serializers.int32),
      aggregate: {
        createAccumulator: (): [number, number] => [0, 0],
        add: (v: number, [s, n]: [number, number]): [number, number] => [s + v, n + 1],
        getResult: ([s, n]: [number, number]) => s / n,
      },
    });
    avg.add('k', 1);
    avg.add('k', 2);
    avg.add('k', 6);
    expect(avg.get('k')).toBe(3);
    expect(avg.get('none')).toBeUndefined();
  });

  it('clearAll and dropState remove one state without touching others', async () => {
    const b = await backend('db');
    const c = b.valueState(countDesc);
    const e = b.listState(eventsDesc);
    for (const u of users.slice(0, 20)) {
      c.set(u, 1);
      e.add(u, 'x');
    }
    c.clearAll();
    expect([...c.keys()]).toEqual([]);
    expect([...e.keys()].length).toBe(20);
    b.dropState('events');
    expect(b.stateNames()).toEqual(['count']);
    const again = b.valueState({ name: 'events', valueSerializer: Serializers.string });
    expect([...again.keys()]).toEqual([]);
  });

  it('rejects bad input with clear errors', async () => {
    const b = await backend('db', KeyGroupRange.of(0, 7));
    const c = b.valueState(countDesc);
    expect(() => c.set(42 as unknown as string, 1)).toThrow(TypeError);
    const inside = users.find((u) => kgOf(u) <= 7)!;
    expect(() => c.set(inside, 'one' as unknown as number)).toThrow(TypeError);
    const outside = users.find((u) => kgOf(u) > 7)!;
    expect(() => c.set(outside, 1)).toThrow(/key group .* outside/);
    expect(() => b.listState({ name: 'count', elementSerializer: Serializers.int32 })).toThrow(/value state/);
    expect(() => b.valueState({ name: 'count', valueSerializer: Serializers.string })).toThrow(/valueSerializer int32/);
    expect(() => b.valueState({ name: 'count', valueSerializer: Serializers.int32, ttl: { ttlMs: 10 } })).toThrow(/TTL/);
    await expect(KeyedStateBackend.open({ dir: join(tmp.path, 'x'), maxParallelism: 0, keyGroupRange: { start: 0, end: 0 }, keySerializer: Serializers.string }))
      .rejects.toThrow(RangeError);
  });

  it('reopening checks maxParallelism, key serializer and range', async () => {
    const b = await backend('db');
    b.valueState(countDesc).set('a', 1);
    await b.close();
    open.pop();
    await expect(KeyedStateBackend.open({ dir: join(tmp.path, 'db'), maxParallelism: 32, keyGroupRange: { start: 0, end: 31 }, keySerializer: Serializers.string }))
      .rejects.toThrow(/maxParallelism 16/);
    await expect(KeyedStateBackend.open({ dir: join(tmp.path, 'db'), maxParallelism: MAXP, keyGroupRange: { start: 0, end: 15 }, keySerializer: Serializers.int32 }))
      .rejects.toThrow(/key serializer string/);
    const again = await backend('db');
    expect(again.valueState(countDesc).get('a')).toBe(1);
  });
});

describe('TTL', () => {
  it('neverReturnExpired hides expired values of every kind; onReadAndWrite refreshes', async () => {
    let now = 1_000_000;
    const b = await backend('db', undefined, { ttlTimeProvider: () => now });
    const v = b.valueState({ name: 'v', valueSerializer: Serializers.int32, ttl: { ttlMs: 100 } });
    const rw = b.valueState({ name: 'rw', valueSerializer: Serializers.int32, ttl: { ttlMs: 100, updateType: 'onReadAndWrite' } });
    const l = b.listState({ name: 'l', elementSerializer: Serializers.string, ttl: { ttlMs: 100 } });
    const m = b.mapState({ name: 'm', userKeySerializer: Serializers.string, valueSerializer: Serializers.int32, ttl: { ttlMs: 100 } });
    v.set('k', 1);
    rw.set('k', 1);
    l.add('k', 'old');
    m.put('k', 'a', 1);
    now += 60;
    l.add('k', 'new');
    m.put('k', 'b', 2);
    expect(rw.get('k')).toBe(1); // refreshes to now
    now += 50; // 110 after the first writes, 50 after the second
    expect(v.get('k')).toBeUndefined();
    expect(rw.get('k')).toBe(1);
    expect(l.get('k')).toEqual(['new']);
    expect([...m.entries('k')]).toEqual([['b', 2]]);
    expect(m.get('k', 'a')).toBeUndefined();
    now += 100;
    expect(l.get('k')).toEqual([]);
    expect(rw.get('k')).toBeUndefined();
  });

  it('returnExpiredIfNotCleanedUp returns expired values until the compaction filter removes them', async () => {
    let now = 5_000;
    const b = await backend('db', undefined, { ttlTimeProvider: () => now });
    const v = b.valueState({ name: 'v', valueSerializer: Serializers.int32, ttl: { ttlMs: 100, visibility: 'returnExpiredIfNotCleanedUp' } });
    const l = b.listState({ name: 'l', elementSerializer: Serializers.int32, ttl: { ttlMs: 100, visibility: 'returnExpiredIfNotCleanedUp' } });
    const keep = b.valueState({ name: 'keep', valueSerializer: Serializers.int32 });
    for (const u of users.slice(0, 50)) {
      v.set(u, 1);
      l.add(u, 1);
      keep.set(u, 7);
    }
    now += 50;
    for (const u of users.slice(0, 50)) l.add(u, 2);
    now += 60; // first writes expired, second not
    expect(v.get(users[0]!)).toBe(1);
    expect(l.get(users[0]!)).toEqual([1, 2]);
    await b.compactAll();
    for (const u of users.slice(0, 50)) {
      expect(v.get(u)).toBeUndefined();
      expect(l.get(u)).toEqual([2]);
      expect(keep.get(u)).toBe(7);
    }
  });
});

describe('checkpoint and restore', () => {
  async function fill(b: KeyedStateBackend<string>): Promise<void> {
    const c = b.valueState(countDesc);
    const e = b.listState(eventsDesc);
    const f = b.mapState(featuresDesc);
    for (const u of users) {
      if (!b.keyGroupRange.contains(kgOf(u))) continue;
      c.set(u, u.length);
      e.addAll(u, [`${u}-a`, `${u}-b`]);
      f.put(u, 'score', kgOf(u) / 10);
    }
  }

  function expectState(b: KeyedStateBackend<string>): void {
    const c = b.valueState(countDesc);
    const e = b.listState(eventsDesc);
    const f = b.mapState(featuresDesc);
    let n = 0;
    for (const u of users) {
      if (!b.keyGroupRange.contains(kgOf(u))) continue;
      n++;
      expect(c.get(u)).toBe(u.length);
      expect(e.get(u)).toEqual([`${u}-a`, `${u}-b`]);
      expect([...f.entries(u)]).toEqual([['score', kgOf(u) / 10]]);
    }
    expect([...c.keys()].length).toBe(n);
    expect(new Set([...e.keys()].map(kgOf)).size).toBeLessThanOrEqual(b.keyGroupRange.size);
  }

  it('restores the same range and checkpoints again referencing the restored files', async () => {
    const b = await backend('db', undefined, { name: 'op-0' });
    await fill(b);
    const cp = await b.checkpoint();
    expect(cp.handle.keyGroupRange).toEqual({ start: 0, end: MAXP - 1 });
    b.valueState(countDesc).set(users[0]!, -1); // after the checkpoint: not restored
    const r = await restore('r', [cp.handle], KeyGroupRange.of(0, MAXP - 1));
    expectState(r);
    const next = await r.checkpoint();
    expect(next.uploadedBytes).toBeLessThan(next.referencedBytes);
  });

  it('a checkpoint holds exactly the writes made before the call (a barrier), also the first one', async () => {
    const b = await backend('db', undefined, { name: 'op-0' });
    const v = b.valueState(countDesc);
    const [u] = users.filter((x) => b.keyGroupRange.contains(kgOf(x)));
    v.set(u!, 1);
    const first = b.checkpoint();
    v.set(u!, 2);
    await new Promise((r) => setTimeout(r, 20));
    v.set(u!, 3);
    const h1 = (await first).handle;
    v.set(u!, 4);
    const second = b.checkpoint();
    v.set(u!, 5);
    const h2 = (await second).handle;
    expect((await restore('r1', [h1], KeyGroupRange.of(0, MAXP - 1))).valueState(countDesc).get(u!)).toBe(1);
    expect((await restore('r2', [h2], KeyGroupRange.of(0, MAXP - 1))).valueState(countDesc).get(u!)).toBe(4);
  });

  it('scales out 1 → 2 and in 2 → 1 with exactly the owned key groups', async () => {
    const b = await backend('db', undefined, { name: 'op-0' });
    await fill(b);
    await b.db.compactRange();
    const cp = await b.checkpoint();
    const r0 = await restore('s0', [cp.handle], keyGroupRangeForOperator(MAXP, 2, 0));
    const r1 = await restore('s1', [cp.handle], keyGroupRangeForOperator(MAXP, 2, 1));
    expectState(r0);
    expectState(r1);
    // The clipped-away key groups are gone from iteration too.
    for (const u of r0.valueState(countDesc).keys()) expect(r0.keyGroupRange.contains(kgOf(u))).toBe(true);
    const h0 = (await r0.checkpoint()).handle;
    const h1 = (await r1.checkpoint()).handle;
    const merged = await restore('m', [h0, h1], KeyGroupRange.of(0, MAXP - 1));
    expectState(merged);
    // 2 → 3
    for (let i = 0; i < 3; i++) expectState(await restore(`t${i}`, [h0, h1], keyGroupRangeForOperator(MAXP, 3, i)));
  });

  it('maps state ids by name when old backends registered states in different orders', async () => {
    const a = await backend('a', keyGroupRangeForOperator(MAXP, 2, 0), { name: 'a' });
    const b = await backend('b', keyGroupRangeForOperator(MAXP, 2, 1), { name: 'b' });
    a.valueState(countDesc);
    a.listState(eventsDesc);
    b.mapState(featuresDesc);
    b.listState(eventsDesc);
    await fill(a);
    await fill(b);
    const merged = await restore('m', [(await a.checkpoint()).handle, (await b.checkpoint()).handle], KeyGroupRange.of(0, MAXP - 1));
    expectState(merged);
  });

  it('refuses handles that do not cover the range or overlap, before touching the target', async () => {
    const a = await backend('a', keyGroupRangeForOperator(MAXP, 2, 0), { name: 'a' });
    await fill(a);
    const h = (await a.checkpoint()).handle;
    await expect(restore('x', [h], KeyGroupRange.of(0, MAXP - 1))).rejects.toThrow(/do not cover key groups 8\.\.15/);
    await expect(restore('y', [h, h], KeyGroupRange.of(0, 7))).rejects.toThrow(/both hold key groups/);
    const other = await KeyedStateBackend.restore({
      dir: join(tmp.path, 'z'), maxParallelism: 32, keyGroupRange: { start: 0, end: 7 }, keySerializer: Serializers.string,
      checkpointStorage: storage, handles: [h],
    }).catch((e: unknown) => e);
    expect(String(other)).toMatch(/maxParallelism 16, not 32/);
  });
});
