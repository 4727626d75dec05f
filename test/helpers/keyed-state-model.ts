/**
 * An in-memory model of keyed state for test/property/keyed-state-model.test.ts: per key group,
 * per state, the cells a KeyedStateBackend holds, with Flink's TTL semantics for
 * 'neverReturnExpired' (an entry whose lastAccess + ttlMs <= now is never returned; list
 * elements carry and lose their timestamps one by one).
 *
 * Cells are identified by (key, namespace index, user-key index): the test maps indices to typed
 * namespaces and user keys per state, so the model never needs the serializers. Expired cells
 * stay in the model (they may still be on disk) until a read that deletes them (cleanup on read)
 * or a `compactAll` (the TTL compaction filter with the current time) removes them; `keys()`,
 * `namespaces()` and the database's entry count of a TTL state are therefore checked between
 * the "live" and the "present" sets, everything else exactly.
 */

export type ModelKind = 'value' | 'list' | 'map' | 'reducing' | 'aggregating';

export interface ModelTtl {
  ttlMs: number;
  updateType: 'onCreateAndWrite' | 'onReadAndWrite';
}

export interface ModelStateSpec {
  kind: ModelKind;
  ttl?: ModelTtl;
}

/** One value (ValueState, ReducingState, AggregatingState, one MapState entry). `uk` is -1 outside maps. */
interface Single {
  key: string;
  ns: number;
  uk: number;
  v: unknown;
  ts: number;
}

/** One ListState list; never empty. */
interface List {
  key: string;
  ns: number;
  els: { v: unknown; ts: number }[];
}

type Cell = Single | List;
type KeyGroupCells = Map<string, Map<string, Cell>>;

export interface RangeLike {
  contains(keyGroup: number): boolean;
}

/** Keys or namespaces that must be there (`live`) and that may be there (`present`, a superset). */
export interface Bounds<T> {
  live: Set<T>;
  present: Set<T>;
}

export interface ModelOptions {
  /**
   * Whether a MapState iteration (entries/keysOf/values) refreshes the timestamps of the entries
   * it returns when updateType is 'onReadAndWrite', as Flink's TtlMapState.EntriesIterator does
   * (it calls getWrappedWithTtlCheckAndUpdate on every entry).
   */
  iterationRefreshes: boolean;
}

const cellId = (key: string, ns: number, uk: number): string => JSON.stringify([key, ns, uk]);

export class KeyedStateModel {
  #kgs = new Map<number, KeyGroupCells>();
  /** Reads that met an expired value or list element (to see that TTL paths run). */
  expiredReads = 0;

  constructor(
    readonly specs: Readonly<Record<string, ModelStateSpec>>,
    readonly keyGroupOf: (key: string) => number,
    readonly now: () => number,
    readonly options: ModelOptions,
  ) {}

  #spec(state: string): ModelStateSpec {
    const s = this.specs[state];
    if (s === undefined) throw new Error(`model: unknown state ${state}`);
    return s;
  }

  #cells(state: string, key: string): Map<string, Cell> {
    const kg = this.keyGroupOf(key);
    let states = this.#kgs.get(kg);
    if (states === undefined) this.#kgs.set(kg, (states = new Map()));
    let cells = states.get(state);
    if (cells === undefined) states.set(state, (cells = new Map()));
    return cells;
  }

  #expired(state: string, ts: number): boolean {
    const ttl = this.#spec(state).ttl;
    return ttl !== undefined && ts + ttl.ttlMs <= this.now();
  }

  #refreshOnRead(state: string): boolean {
    return this.#spec(state).ttl?.updateType === 'onReadAndWrite';
  }

  // ---- single values ----

  /** A read through readSingle: undefined when absent or expired (and then deleted); refreshes with onReadAndWrite. */
  getSingle(state: string, key: string, ns: number, uk = -1): unknown {
    const cells = this.#cells(state, key);
    const id = cellId(key, ns, uk);
    const c = cells.get(id) as Single | undefined;
    if (c === undefined) return undefined;
    if (this.#expired(state, c.ts)) {
      this.expiredReads++;
      cells.delete(id);
      return undefined;
    }
    if (this.#refreshOnRead(state)) c.ts = this.now();
    return c.v;
  }

  putSingle(state: string, key: string, ns: number, v: unknown, uk = -1): void {
    this.#cells(state, key).set(cellId(key, ns, uk), { key, ns, uk, v, ts: this.now() });
  }

  /** Deletes one cell (value, list, or one map entry). */
  remove(state: string, key: string, ns: number, uk = -1): void {
    this.#cells(state, key).delete(cellId(key, ns, uk));
  }

  // ---- lists ----

  listGet(state: string, key: string, ns: number): unknown[] {
    const cells = this.#cells(state, key);
    const id = cellId(key, ns, -1);
    const c = cells.get(id) as List | undefined;
    if (c === undefined) return [];
    const live = c.els.filter((e) => !this.#expired(state, e.ts));
    if (live.length < c.els.length) this.expiredReads++;
    if (live.length === 0) {
      cells.delete(id);
      return [];
    }
    if (this.#refreshOnRead(state)) for (const e of live) e.ts = this.now();
    c.els = live;
    return live.map((e) => e.v);
  }

  listAppend(state: string, key: string, ns: number, vs: readonly unknown[]): void {
    if (vs.length === 0) return;
    const cells = this.#cells(state, key);
    const id = cellId(key, ns, -1);
    const els = vs.map((v) => ({ v, ts: this.now() }));
    const c = cells.get(id) as List | undefined;
    if (c === undefined) cells.set(id, { key, ns, els });
    else c.els.push(...els);
  }

  listReplace(state: string, key: string, ns: number, vs: readonly unknown[]): void {
    const cells = this.#cells(state, key);
    const id = cellId(key, ns, -1);
    if (vs.length === 0) cells.delete(id);
    else cells.set(id, { key, ns, els: vs.map((v) => ({ v, ts: this.now() })) });
  }

  // ---- maps ----

  #mapCells(state: string, key: string, ns: number, ukOrder: (a: number, b: number) => number): Single[] {
    const out: Single[] = [];
    for (const c of this.#cells(state, key).values()) {
      if (c.key === key && c.ns === ns) out.push(c as Single);
    }
    return out.sort((a, b) => ukOrder(a.uk, b.uk));
  }

  /** A full iteration of the map of (key, ns): live entries in user-key order; expired ones are deleted. */
  mapEntries(state: string, key: string, ns: number, ukOrder: (a: number, b: number) => number): [number, unknown][] {
    const cells = this.#cells(state, key);
    const out: [number, unknown][] = [];
    for (const c of this.#mapCells(state, key, ns, ukOrder)) {
      if (this.#expired(state, c.ts)) {
        this.expiredReads++;
        cells.delete(cellId(key, ns, c.uk));
        continue;
      }
      if (this.options.iterationRefreshes && this.#refreshOnRead(state)) c.ts = this.now();
      out.push([c.uk, c.v]);
    }
    return out;
  }

  /**
   * isEmpty: no live entry. Timestamps are left alone (the backend does not refresh here), and so
   * are expired entries (whether the backend deleted them only matters to keys()).
   */
  mapIsEmpty(state: string, key: string, ns: number): boolean {
    for (const c of this.#cells(state, key).values()) {
      if (c.key === key && c.ns === ns && !this.#expired(state, (c as Single).ts)) return false;
    }
    return true;
  }

  mapClear(state: string, key: string, ns: number): void {
    const cells = this.#cells(state, key);
    for (const [id, c] of [...cells]) if (c.key === key && c.ns === ns) cells.delete(id);
  }

  // ---- whole states and key groups ----

  /** clearAll() of one backend: every cell of `state` in `range`. */
  clearAll(state: string, range: RangeLike): void {
    for (const [kg, states] of this.#kgs) if (range.contains(kg)) states.delete(state);
  }

  /** compactAll() of one backend: the TTL filter at the current time removes what expired in `range`. */
  compactAll(range: RangeLike): void {
    for (const [kg, states] of this.#kgs) {
      if (!range.contains(kg)) continue;
      for (const [state, cells] of states) {
        if (this.#spec(state).ttl === undefined) continue;
        for (const [id, c] of [...cells]) {
          if ('els' in c) {
            c.els = c.els.filter((e) => !this.#expired(state, e.ts));
            if (c.els.length === 0) cells.delete(id);
          } else if (this.#expired(state, c.ts)) {
            cells.delete(id);
          }
        }
      }
    }
  }

  #isLive(state: string, c: Cell): boolean {
    return 'els' in c ? c.els.some((e) => !this.#expired(state, e.ts)) : !this.#expired(state, c.ts);
  }

  /** keys(ns) of `state` in `range`. */
  keys(state: string, range: RangeLike, ns?: number): Bounds<string> {
    const live = new Set<string>();
    const present = new Set<string>();
    for (const [kg, states] of this.#kgs) {
      if (!range.contains(kg)) continue;
      for (const c of states.get(state)?.values() ?? []) {
        if (ns !== undefined && c.ns !== ns) continue;
        present.add(c.key);
        if (this.#isLive(state, c)) live.add(c.key);
      }
    }
    return { live, present };
  }

  /** namespaces(key) of `state` (namespace indices). */
  namespaces(state: string, key: string): Bounds<number> {
    const live = new Set<number>();
    const present = new Set<number>();
    for (const c of this.#cells(state, key).values()) {
      if (c.key !== key) continue;
      present.add(c.ns);
      if (this.#isLive(state, c)) live.add(c.ns);
    }
    return { live, present };
  }

  /** Database entries `state` has in `range`: one per value, list or map entry (expired ones may be gone). */
  entryCount(state: string, range: RangeLike): { live: number; present: number } {
    let live = 0;
    let present = 0;
    for (const [kg, states] of this.#kgs) {
      if (!range.contains(kg)) continue;
      for (const c of states.get(state)?.values() ?? []) {
        present++;
        if (this.#isLive(state, c)) live++;
      }
    }
    return { live, present };
  }

  /** A deep copy of the whole model (a checkpoint of every operator). */
  snapshot(): Map<number, KeyGroupCells> {
    return structuredClone(this.#kgs);
  }

  /** Rolls back to a snapshot (restore or rescale from the last checkpoint: the union over key groups). */
  restore(snapshot: Map<number, KeyGroupCells>): void {
    this.#kgs = structuredClone(snapshot);
  }
}
