/**
 * Flink's keyed state primitives over one database (docs/keyed-state.md). Every call names its
 * key explicitly (and a namespace, e.g. a window, where the state has one); the entry lives at
 * `[stateId][keyGroup][key][namespace]` (key-codec.ts), its value in the formats of
 * state-values.ts. All operations are synchronous: they are database gets, puts and merges.
 */
import type { Database } from '../db/database.js';
import type { DbIterator } from '../db/db-iterator.js';
import { type DecodedStateKey, StateKeyLayout, prefixSuccessor } from './key-codec.js';
import { KeyGroupClip, type KeyInterval } from './key-group-clip.js';
import { type KeyGroupRange, assignToKeyGroup } from './key-groups.js';
import type { TypeSerializer } from './serializers.js';
import {
  type ListElement, TIMESTAMP_BYTES, decodeListElements, encodeListElements, encodeStoredElements, readTimestamp, withTimestamp,
} from './state-values.js';
import { type ResolvedTtl, isExpired } from './ttl.js';

/** What a state needs from its backend. */
export interface StateContext<K> {
  readonly db: Database;
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  readonly keyGroupPrefixBytes: 1 | 2;
  readonly keySerializer: TypeSerializer<K>;
  /** Current time in ms for TTL (the backend's ttlTimeProvider). */
  now(): number;
  /** Throws ClosedError when the backend is closed. */
  checkOpen(): void;
}

export type StateKind = 'value' | 'list' | 'map' | 'reducing' | 'aggregating';

export interface StateSetup<K, N> {
  name: string;
  stateId: number;
  context: StateContext<K>;
  namespaceSerializer: TypeSerializer<N>;
  ttl: ResolvedTtl | undefined;
}

/** What every keyed state has: its name, clearing, and iteration over its keys and namespaces. */
export abstract class KeyedState<K, N> {
  readonly name: string;
  readonly stateId: number;
  protected readonly ctx: StateContext<K>;
  protected readonly layout: StateKeyLayout;
  protected readonly namespaceSerializer: TypeSerializer<N>;
  protected readonly ttl: ResolvedTtl | undefined;

  constructor(setup: StateSetup<K, N>) {
    this.name = setup.name;
    this.stateId = setup.stateId;
    this.ctx = setup.context;
    this.namespaceSerializer = setup.namespaceSerializer;
    this.ttl = setup.ttl;
    this.layout = new StateKeyLayout({
      stateId: setup.stateId,
      keyGroupPrefixBytes: setup.context.keyGroupPrefixBytes,
      keyFixedLength: setup.context.keySerializer.fixedLength,
      namespaceFixedLength: setup.namespaceSerializer.fixedLength,
    });
  }

  /** Key group of serialized key bytes; RangeError when this backend does not own it. */
  protected keyGroupOf(keyBytes: Uint8Array): number {
    const kg = assignToKeyGroup(keyBytes, this.ctx.maxParallelism);
    if (!this.ctx.keyGroupRange.contains(kg)) {
      throw new RangeError(`state ${this.name}: the key belongs to key group ${kg}, outside this backend's key-group range ${this.ctx.keyGroupRange.toString()}`);
    }
    return kg;
  }

  protected serializeKey(key: K): Uint8Array {
    this.ctx.checkOpen();
    return this.ctx.keySerializer.serialize(key);
  }

  /** Database key of (key, namespace[, userKey]). */
  protected entryKey(key: K, namespace: N | undefined, userKey?: Uint8Array): Uint8Array {
    const keyBytes = this.serializeKey(key);
    const ns = this.namespaceSerializer.serialize(namespace as N);
    return this.layout.entryKey(this.keyGroupOf(keyBytes), keyBytes, ns, userKey);
  }

  /** Removes the value of (key, namespace). */
  abstract clear(key: K, namespace?: N): void;

  /** Every key with an entry in this state (in this backend's key groups), optionally only those with an entry in `namespace`. */
  *keys(namespace?: N): Generator<K> {
    this.ctx.checkOpen();
    const nsBytes = namespace === undefined ? undefined : this.namespaceSerializer.serialize(namespace);
    let last: Uint8Array | undefined;
    for (const d of this.#scanState()) {
      if (nsBytes !== undefined && !bytesEqual(d.namespace, nsBytes)) continue;
      if (last !== undefined && bytesEqual(last, d.key)) continue;
      last = d.key;
      yield this.ctx.keySerializer.deserialize(d.key);
    }
  }

  /** Every namespace in which `key` has an entry, in namespace byte order. */
  *namespaces(key: K): Generator<N> {
    const keyBytes = this.serializeKey(key);
    const prefix = this.layout.keyPrefix(this.keyGroupOf(keyBytes), keyBytes);
    let last: Uint8Array | undefined;
    for (const [k] of scanPrefix(this.ctx.db, prefix)) {
      const d = this.layout.decode(k);
      if (last !== undefined && bytesEqual(last, d.namespace)) continue;
      last = d.namespace;
      yield this.namespaceSerializer.deserialize(d.namespace);
    }
  }

  /** Removes every entry of this state in this backend (one range deletion per key-group range). */
  clearAll(): void {
    this.ctx.checkOpen();
    if (this.ctx.keyGroupRange.isEmpty()) return;
    const { gte, lt } = this.#interval();
    this.ctx.db.deleteRange(gte, lt);
  }

  /** This state's keys in the backend's key groups: one contiguous interval. */
  #interval(): KeyInterval {
    return new KeyGroupClip(this.ctx.keyGroupRange, this.ctx.keyGroupPrefixBytes, this.ctx.maxParallelism).stateInterval(this.stateId);
  }

  *#scanState(): Generator<DecodedStateKey> {
    if (this.ctx.keyGroupRange.isEmpty()) return;
    const it = this.ctx.db.iterator(this.#interval());
    try {
      for (const [k] of it) yield this.layout.decode(k);
    } finally {
      it.close();
    }
  }

  // ---- TTL helpers for single values ----

  /** Stored bytes of a single value: with a timestamp in front when the state has TTL. */
  protected wrap(value: Uint8Array): Uint8Array {
    return this.ttl === undefined ? value : withTimestamp(this.ctx.now(), value);
  }

  /**
   * The user bytes of the single value at `dbKey`, or undefined when absent or expired
   * and not visible. Applies cleanup on read (expired entries are deleted) and the
   * onReadAndWrite refresh.
   */
  protected readValue(dbKey: Uint8Array): Uint8Array | undefined {
    const stored = this.ctx.db.get(dbKey);
    if (stored === undefined) return undefined;
    const ttl = this.ttl;
    if (ttl === undefined) return stored;
    const now = this.ctx.now();
    const expired = isExpired(readTimestamp(stored, 0), ttl.ttlMs, now);
    const value = stored.subarray(TIMESTAMP_BYTES);
    if (expired) {
      if (ttl.visibility === 'neverReturnExpired') {
        this.ctx.db.delete(dbKey);
        return undefined;
      }
      return value;
    }
    if (ttl.updateType === 'onReadAndWrite') this.ctx.db.put(dbKey, withTimestamp(now, value));
    return value;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function scanPrefix(db: Database, prefix: Uint8Array): DbIterator {
  const upper = prefixSuccessor(prefix);
  return db.iterator(upper === undefined ? { gte: prefix } : { gte: prefix, lt: upper });
}

/** Flink's ValueState: one value per (key, namespace). */
export class ValueState<K, V, N = undefined> extends KeyedState<K, N> {
  readonly #serializer: TypeSerializer<V>;

  constructor(setup: StateSetup<K, N>, valueSerializer: TypeSerializer<V>) {
    super(setup);
    this.#serializer = valueSerializer;
  }

  get(key: K, namespace?: N): V | undefined {
    const k = this.entryKey(key, namespace);
    const bytes = this.readValue(k);
    return bytes === undefined ? undefined : this.#serializer.deserialize(bytes);
  }

  set(key: K, value: V, namespace?: N): void {
    const k = this.entryKey(key, namespace);
    this.ctx.db.put(k, this.wrap(this.#serializer.serialize(value)));
  }

  clear(key: K, namespace?: N): void {
    this.ctx.db.delete(this.entryKey(key, namespace));
  }
}

/**
 * Flink's ListState. `add` and `addAll` are merge operands (the database's concat operator
 * appends them), so appending never reads the list.
 */
export class ListState<K, E, N = undefined> extends KeyedState<K, N> {
  readonly #serializer: TypeSerializer<E>;

  constructor(setup: StateSetup<K, N>, elementSerializer: TypeSerializer<E>) {
    super(setup);
    this.#serializer = elementSerializer;
  }

  /** The elements in insertion order; an empty array when there are none. */
  get(key: K, namespace?: N): E[] {
    const k = this.entryKey(key, namespace);
    const stored = this.ctx.db.get(k);
    if (stored === undefined) return [];
    const elements = decodeListElements(stored, this.ttl !== undefined);
    return this.#visible(k, elements).map((e) => this.#serializer.deserialize(e.bytes));
  }

  add(key: K, element: E, namespace?: N): void {
    const k = this.entryKey(key, namespace);
    this.ctx.db.merge(k, encodeListElements([this.#serializer.serialize(element)], this.#timestamp()));
  }

  addAll(key: K, elements: readonly E[], namespace?: N): void {
    if (!Array.isArray(elements)) throw new TypeError(`state ${this.name}: addAll takes an array`);
    const k = this.entryKey(key, namespace);
    if (elements.length === 0) return;
    const bytes = elements.map((e) => this.#serializer.serialize(e));
    this.ctx.db.merge(k, encodeListElements(bytes, this.#timestamp()));
  }

  /** Replaces the list (an empty array clears it). */
  update(key: K, elements: readonly E[], namespace?: N): void {
    if (!Array.isArray(elements)) throw new TypeError(`state ${this.name}: update takes an array`);
    const k = this.entryKey(key, namespace);
    const bytes = elements.map((e) => this.#serializer.serialize(e));
    if (bytes.length === 0) this.ctx.db.delete(k);
    else this.ctx.db.put(k, encodeListElements(bytes, this.#timestamp()));
  }

  clear(key: K, namespace?: N): void {
    this.ctx.db.delete(this.entryKey(key, namespace));
  }

  #timestamp(): number | undefined {
    return this.ttl === undefined ? undefined : this.ctx.now();
  }

  /** Applies TTL visibility, cleanup on read and the onReadAndWrite refresh to a stored list. */
  #visible(dbKey: Uint8Array, elements: ListElement[]): ListElement[] {
    const ttl = this.ttl;
    if (ttl === undefined) return elements;
    const now = this.ctx.now();
    const live = elements.filter((e) => !isExpired(e.timestamp!, ttl.ttlMs, now));
    const returned = ttl.visibility === 'neverReturnExpired' ? live : elements;
    if (ttl.updateType === 'onReadAndWrite' && returned.length > 0) {
      const refreshed = returned.map((e) => ({ timestamp: now, bytes: e.bytes }));
      this.ctx.db.put(dbKey, encodeStoredElements(refreshed));
    } else if (ttl.visibility === 'neverReturnExpired' && live.length !== elements.length) {
      if (live.length === 0) this.ctx.db.delete(dbKey);
      else this.ctx.db.put(dbKey, encodeStoredElements(live));
    }
    return returned;
  }
}

/** Flink's MapState: a sorted map per (key, namespace); each entry is its own database key. */
export class MapState<K, UK, UV, N = undefined> extends KeyedState<K, N> {
  readonly #userKeySerializer: TypeSerializer<UK>;
  readonly #valueSerializer: TypeSerializer<UV>;

  constructor(setup: StateSetup<K, N>, userKeySerializer: TypeSerializer<UK>, valueSerializer: TypeSerializer<UV>) {
    super(setup);
    this.#userKeySerializer = userKeySerializer;
    this.#valueSerializer = valueSerializer;
  }

  get(key: K, userKey: UK, namespace?: N): UV | undefined {
    const k = this.entryKey(key, namespace, this.#userKeySerializer.serialize(userKey));
    const bytes = this.readValue(k);
    return bytes === undefined ? undefined : this.#valueSerializer.deserialize(bytes);
  }

  put(key: K, userKey: UK, value: UV, namespace?: N): void {
    const k = this.entryKey(key, namespace, this.#userKeySerializer.serialize(userKey));
    this.ctx.db.put(k, this.wrap(this.#valueSerializer.serialize(value)));
  }

  putAll(key: K, entries: Iterable<readonly [UK, UV]>, namespace?: N): void {
    for (const [uk, uv] of entries) this.put(key, uk, uv, namespace);
  }

  remove(key: K, userKey: UK, namespace?: N): void {
    this.ctx.db.delete(this.entryKey(key, namespace, this.#userKeySerializer.serialize(userKey)));
  }

  contains(key: K, userKey: UK, namespace?: N): boolean {
    const k = this.entryKey(key, namespace, this.#userKeySerializer.serialize(userKey));
    return this.readValue(k) !== undefined;
  }

  /** Entries in user-key byte order (the serializer's order: numbers and strings sort naturally). */
  *entries(key: K, namespace?: N): Generator<[UK, UV]> {
    for (const [uk, v] of this.#scan(key, namespace)) yield [this.#userKeySerializer.deserialize(uk), this.#valueSerializer.deserialize(v)];
  }

  *keysOf(key: K, namespace?: N): Generator<UK> {
    for (const [uk] of this.#scan(key, namespace)) yield this.#userKeySerializer.deserialize(uk);
  }

  *values(key: K, namespace?: N): Generator<UV> {
    for (const [, v] of this.#scan(key, namespace)) yield this.#valueSerializer.deserialize(v);
  }

  isEmpty(key: K, namespace?: N): boolean {
    for (const _ of this.#scan(key, namespace, false)) return false;
    return true;
  }

  /** Removes the whole map of (key, namespace) with one range deletion. */
  clear(key: K, namespace?: N): void {
    const prefix = this.#prefix(key, namespace);
    this.ctx.db.deleteRange(prefix, prefixSuccessor(prefix)!);
  }

  #prefix(key: K, namespace: N | undefined): Uint8Array {
    const keyBytes = this.serializeKey(key);
    const ns = this.namespaceSerializer.serialize(namespace as N);
    return this.layout.keyNamespacePrefix(this.keyGroupOf(keyBytes), keyBytes, ns);
  }

  /**
   * Visible (user key, value bytes) pairs; expired entries are skipped (and deleted) as TTL says.
   * With `refresh` and 'onReadAndWrite', every live entry returned gets the current time after
   * the scan, as Flink's TtlMapState iterators do (isEmpty does not refresh).
   */
  *#scan(key: K, namespace: N | undefined, refresh = true): Generator<[Uint8Array, Uint8Array]> {
    const prefix = this.#prefix(key, namespace);
    const ttl = this.ttl;
    const expired: Uint8Array[] = [];
    const touched: [Uint8Array, Uint8Array][] = [];
    const it = scanPrefix(this.ctx.db, prefix);
    try {
      for (const [k, stored] of it) {
        const userKey = k.subarray(prefix.length);
        if (ttl === undefined) {
          yield [userKey, stored];
          continue;
        }
        const isOld = isExpired(readTimestamp(stored, 0), ttl.ttlMs, this.ctx.now());
        if (isOld && ttl.visibility === 'neverReturnExpired') {
          expired.push(k);
          continue;
        }
        const value = stored.subarray(TIMESTAMP_BYTES);
        if (refresh && !isOld && ttl.updateType === 'onReadAndWrite') touched.push([k, value]);
        yield [userKey, value];
      }
    } finally {
      it.close();
      // Writes after the scan: cleanup on read, and the onReadAndWrite refresh.
      for (const k of expired) this.ctx.db.delete(k);
      for (const [k, v] of touched) this.ctx.db.put(k, withTimestamp(this.ctx.now(), v));
    }
  }
}

/** Flink's ReduceFunction. */
export type ReduceFunction<V> = (accumulated: V, value: V) => V;

/** Flink's ReducingState: `add` folds the value into the stored one with `reduce`. */
export class ReducingState<K, V, N = undefined> extends KeyedState<K, N> {
  readonly #serializer: TypeSerializer<V>;
  readonly #reduce: ReduceFunction<V>;

  constructor(setup: StateSetup<K, N>, valueSerializer: TypeSerializer<V>, reduce: ReduceFunction<V>) {
    super(setup);
    this.#serializer = valueSerializer;
    this.#reduce = reduce;
  }

  get(key: K, namespace?: N): V | undefined {
    const k = this.entryKey(key, namespace);
    const bytes = this.readValue(k);
    return bytes === undefined ? undefined : this.#serializer.deserialize(bytes);
  }

  add(key: K, value: V, namespace?: N): void {
    const k = this.entryKey(key, namespace);
    const bytes = this.readValue(k);
    const next = bytes === undefined ? value : this.#reduce(this.#serializer.deserialize(bytes), value);
    this.ctx.db.put(k, this.wrap(this.#serializer.serialize(next)));
  }

  clear(key: K, namespace?: N): void {
    this.ctx.db.delete(this.entryKey(key, namespace));
  }
}

/** Flink's AggregateFunction (merge is not needed: there are no merging windows here). */
export interface AggregateFunction<IN, ACC, OUT> {
  createAccumulator(): ACC;
  add(value: IN, accumulator: ACC): ACC;
  getResult(accumulator: ACC): OUT;
}

/** Flink's AggregatingState: stores the accumulator; `get` returns `getResult(accumulator)`. */
export class AggregatingState<K, IN, ACC, OUT, N = undefined> extends KeyedState<K, N> {
  readonly #serializer: TypeSerializer<ACC>;
  readonly #fn: AggregateFunction<IN, ACC, OUT>;

  constructor(setup: StateSetup<K, N>, accumulatorSerializer: TypeSerializer<ACC>, fn: AggregateFunction<IN, ACC, OUT>) {
    super(setup);
    this.#serializer = accumulatorSerializer;
    this.#fn = fn;
  }

  get(key: K, namespace?: N): OUT | undefined {
    const k = this.entryKey(key, namespace);
    const bytes = this.readValue(k);
    return bytes === undefined ? undefined : this.#fn.getResult(this.#serializer.deserialize(bytes));
  }

  add(key: K, value: IN, namespace?: N): void {
    const k = this.entryKey(key, namespace);
    const bytes = this.readValue(k);
    const acc = bytes === undefined ? this.#fn.createAccumulator() : this.#serializer.deserialize(bytes);
    this.ctx.db.put(k, this.wrap(this.#serializer.serialize(this.#fn.add(value, acc))));
  }

  clear(key: K, namespace?: N): void {
    this.ctx.db.delete(this.entryKey(key, namespace));
  }
}
