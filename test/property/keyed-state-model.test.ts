/**
 * Model-based test of the keyed-state layer (issue 5): a job of 1..5 operators, each a
 * KeyedStateBackend owning its key-group range, runs random operations on every state kind
 * (ValueState, ListState, MapState, ReducingState, AggregatingState; five with namespaces of
 * int64, string, int32 and boolean serializers, seven with TTL on a controllable clock),
 * interleaved with keys() and namespaces() iteration, clearAll, flushes, compactRange, clock
 * advances, compactAll, checkpoints of all operators, restores of all operators from the last
 * checkpoint, and rescales (restoring the last checkpoint's handles into another parallelism,
 * mostly right after a checkpoint). The in-memory model is kept per key group
 * (test/helpers/keyed-state-model.ts) and rolls back to the last checkpoint on restore and
 * rescale, so each new operator must hold exactly the model restricted to its range.
 *
 * Checks: every read against the model as it happens. After every restore or rescale, some clock
 * advances, and at the end: every (key, namespace) of every state on every operator read and
 * compared (maps through entries/keysOf/values, in user-key byte order); keys() and
 * namespaces() in order without duplicates, exactly without TTL, between the live and the
 * not-yet-cleaned-up sets with TTL (exactly right after compactAll); and a raw scan of each
 * database: no entry outside the operator's key groups, and per state as many entries as the
 * model has cells. Misrouted keys must be refused.
 *
 * Three properties: maxParallelism 8 or 16 with keys over 'abc' (every key group hit, 1-byte
 * key-group prefix); 256 or 300 with keys over 'abcd' (2-byte prefix, key groups above 255,
 * the last key group ending a range); and a TTL property (only the TTL states, three keys, the
 * clock moving in steps small against the TTLs, frequent compactAll). Flushes and compactions
 * run on worker threads or inline, drawn per run; write buffers are 32 KiB and `bulk` commands
 * fill them. TTL semantics are Flink's 'neverReturnExpired': an entry whose lastAccess + ttlMs
 * <= now is never returned, list elements expire one by one, 'onReadAndWrite' refreshes on
 * reads (get, contains, ListState.get, and the read inside Reducing/AggregatingState.add).
 * Seeds print on failure (FC_SEED / FC_PATH replay); STRESS=1 runs longer sequences, more runs.
 *
 * TTL on MapState iteration (found by this test, fixed in states.ts): with updateType
 * 'onReadAndWrite', Flink's TtlMapState refreshes the timestamp of every entry an
 * entries()/keys()/values() iteration returns (EntriesIterator → getWrappedWithTtlCheckAndUpdate);
 * MapState did not, so an entry only iterated expired ttlMs after its last write or get. Shrunk
 * counterexamples (ttlMs 80, onReadAndWrite): put at t; advance 19, read all; advance 19, read
 * all; advance 32, read all; advance 10 → at t+80 entries('') was [] instead of [['', 7]]; and
 * put at t; read all at t+20; compactAll at t+80 → the filter removed the entry. The model now
 * refreshes on iteration (ITERATION_REFRESHES = true). MapState.isEmpty refreshes nothing, in the
 * model and in the backend.
 */
import fc from 'fast-check';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckpointStorage as Storage } from '../../src/checkpoint/checkpoint-storage.js';
import { CheckpointStorage } from '../../src/checkpoint/storage-factory.js';
import { type KeyGroupRange, assignToKeyGroup, keyGroupRangeForOperator } from '../../src/state/key-groups.js';
import { type KeyedStateHandle, KeyedStateBackend } from '../../src/state/keyed-state-backend.js';
import { Serializers, type TypeSerializer } from '../../src/state/serializers.js';
import { PROPERTY_TIMEOUT, STRESS, fcParams } from '../helpers/fc-params.js';
import { type Bounds, KeyedStateModel, type ModelStateSpec } from '../helpers/keyed-state-model.js';
import { tempDir } from '../helpers/temp-dir.js';

// ---------------------------------------------------------------------------------------------
// States

const VALUE = ['v', 'tv', 'tvr'] as const;
const LIST = ['l', 'tl', 'tlr'] as const;
const MAP = ['m', 'tm', 'tmr'] as const;
const REDUCING = ['r', 'tr'] as const;
type ValueName = (typeof VALUE)[number];
type ListName = (typeof LIST)[number];
type MapName = (typeof MAP)[number];
type ReducingName = (typeof REDUCING)[number];
type StateName = ValueName | ListName | MapName | ReducingName | 'a';
const ALL: readonly StateName[] = [...VALUE, ...LIST, ...MAP, ...REDUCING, 'a'];

interface Spec extends ModelStateSpec {
  /** Namespaces by index (absent: the void namespace). */
  ns?: readonly unknown[];
  nsSer?: TypeSerializer<unknown>;
}

const TTL_CREATE = (ttlMs: number) => ({ ttlMs, updateType: 'onCreateAndWrite' as const });
const TTL_READ = (ttlMs: number) => ({ ttlMs, updateType: 'onReadAndWrite' as const });

/** Whether MapState iteration refreshes 'onReadAndWrite' timestamps (Flink: yes; src/state today: no). See the header. */
const ITERATION_REFRESHES = true;

const SPECS: Record<StateName, Spec> = {
  v: { kind: 'value', ns: [-(2n ** 40n), 0n, 7n], nsSer: Serializers.int64 as TypeSerializer<unknown> },
  tv: { kind: 'value', ttl: TTL_CREATE(100) },
  tvr: { kind: 'value', ttl: TTL_READ(100) },
  l: { kind: 'list', ns: ['', 'w1', 'w10'], nsSer: Serializers.string as TypeSerializer<unknown> },
  tl: { kind: 'list', ttl: TTL_CREATE(100) },
  tlr: { kind: 'list', ttl: TTL_READ(150), ns: ['a', 'ab', 'b'], nsSer: Serializers.string as TypeSerializer<unknown> },
  m: { kind: 'map', ns: [-1, 0, 1], nsSer: Serializers.int32 as TypeSerializer<unknown> },
  tm: { kind: 'map', ttl: TTL_CREATE(100) },
  tmr: { kind: 'map', ttl: TTL_READ(80) },
  r: { kind: 'reducing' },
  tr: { kind: 'reducing', ttl: TTL_READ(120) },
  a: { kind: 'aggregating', ns: [false, true], nsSer: Serializers.boolean as TypeSerializer<unknown> },
};

const nsCount = (s: StateName): number => SPECS[s].ns?.length ?? 1;
const nsIndex = (s: StateName, i: number): number => i % nsCount(s);
const nsValue = (s: StateName, i: number): unknown => SPECS[s].ns?.[nsIndex(s, i)];

const UK_STR = ['', 'a', 'a\u0000', 'ab', 'b', 'é'] as const;
const UK_INT = [-2147483648, -5, 0, 3, 1000, 2147483647] as const;
const UK_COUNT = UK_STR.length;
const ukValue = (s: MapName, i: number): string | number => (s === 'tm' ? UK_INT[i % UK_COUNT]! : UK_STR[i % UK_COUNT]!);
const ukSer = (s: MapName): TypeSerializer<unknown> => (s === 'tm' ? Serializers.int32 : Serializers.string) as TypeSerializer<unknown>;

const compareBytes = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);
const ukOrder = (s: MapName) => (a: number, b: number): number => compareBytes(ukSer(s).serialize(ukValue(s, a)), ukSer(s).serialize(ukValue(s, b)));

/** Stored value of `n` in state `s` (`big`: a padded string, so write buffers fill and flush). */
function valueOf(s: ValueName, n: number, big: boolean): unknown {
  if (s === 'tvr') return n;
  return big ? `${s}${n}:`.padEnd(1500, '#') : `${s}${n}`;
}
const elementOf = (s: ListName, n: number): unknown => (s === 'tl' ? `e${n}` : s === 'tlr' ? n - 500 : n);
const mapValueOf = (s: MapName, n: number): unknown => (s === 'tm' ? `m${n}` : s === 'tmr' ? 7 - n : n);

const REDUCE: Record<ReducingName, (a: bigint, b: bigint) => bigint> = {
  r: (a, b) => a + b,
  tr: (a, b) => (a > b ? a : b),
};
const AGG = {
  createAccumulator: (): [number, number] => [0, 0],
  add: (v: number, [c, s]: [number, number]): [number, number] => [c + 1, s + v],
  getResult: ([c, s]: [number, number]): string => `${c}:${s}`,
};

/** What the test needs of a state, whatever its types. */
interface AnyState {
  keys(namespace?: unknown): Iterable<string>;
  namespaces(key: string): Iterable<unknown>;
  clearAll(): void;
  clear(key: string, namespace?: unknown): void;
}
interface AnyValue extends AnyState {
  get(key: string, ns?: unknown): unknown;
  set(key: string, v: unknown, ns?: unknown): void;
}
interface AnyList extends AnyState {
  get(key: string, ns?: unknown): unknown[];
  add(key: string, e: unknown, ns?: unknown): void;
  addAll(key: string, es: unknown[], ns?: unknown): void;
  update(key: string, es: unknown[], ns?: unknown): void;
}
interface AnyMap extends AnyState {
  get(key: string, uk: unknown, ns?: unknown): unknown;
  put(key: string, uk: unknown, v: unknown, ns?: unknown): void;
  remove(key: string, uk: unknown, ns?: unknown): void;
  contains(key: string, uk: unknown, ns?: unknown): boolean;
  entries(key: string, ns?: unknown): Iterable<[unknown, unknown]>;
  keysOf(key: string, ns?: unknown): Iterable<unknown>;
  values(key: string, ns?: unknown): Iterable<unknown>;
  isEmpty(key: string, ns?: unknown): boolean;
}
interface AnyFolding extends AnyState {
  get(key: string, ns?: unknown): unknown;
  add(key: string, v: unknown, ns?: unknown): void;
}

interface OpStates {
  value: Record<ValueName, AnyValue>;
  list: Record<ListName, AnyList>;
  map: Record<MapName, AnyMap>;
  reducing: Record<ReducingName, AnyFolding>;
  a: AnyFolding;
  all: Record<StateName, AnyState>;
}

/** Registers (or, after a restore, finds) every state on a backend. */
function register(b: KeyedStateBackend<string>): OpStates {
  const cast = <T>(s: unknown): T => s as T;
  const ttl = (s: StateName) => (SPECS[s].ttl === undefined ? {} : { ttl: SPECS[s].ttl });
  const nsSer = (s: StateName) => (SPECS[s].nsSer === undefined ? {} : { namespaceSerializer: SPECS[s].nsSer });
  const value: Record<ValueName, AnyValue> = {
    v: cast(b.valueState({ name: 'v', valueSerializer: Serializers.string, ...nsSer('v') })),
    tv: cast(b.valueState({ name: 'tv', valueSerializer: Serializers.string, ...ttl('tv') })),
    tvr: cast(b.valueState({ name: 'tvr', valueSerializer: Serializers.int32, ...ttl('tvr') })),
  };
  const list: Record<ListName, AnyList> = {
    l: cast(b.listState({ name: 'l', elementSerializer: Serializers.int32, ...nsSer('l') })),
    tl: cast(b.listState({ name: 'tl', elementSerializer: Serializers.string, ...ttl('tl') })),
    tlr: cast(b.listState({ name: 'tlr', elementSerializer: Serializers.int32, ...ttl('tlr'), ...nsSer('tlr') })),
  };
  const map: Record<MapName, AnyMap> = {
    m: cast(b.mapState({ name: 'm', userKeySerializer: Serializers.string, valueSerializer: Serializers.int32, ...nsSer('m') })),
    tm: cast(b.mapState({ name: 'tm', userKeySerializer: Serializers.int32, valueSerializer: Serializers.string, ...ttl('tm') })),
    tmr: cast(b.mapState({ name: 'tmr', userKeySerializer: Serializers.string, valueSerializer: Serializers.int32, ...ttl('tmr') })),
  };
  const reducing: Record<ReducingName, AnyFolding> = {
    r: cast(b.reducingState({ name: 'r', valueSerializer: Serializers.int64, reduce: REDUCE.r })),
    tr: cast(b.reducingState({ name: 'tr', valueSerializer: Serializers.int64, reduce: REDUCE.tr, ...ttl('tr') })),
  };
  const a: AnyFolding = cast(b.aggregatingState({
    name: 'a', accumulatorSerializer: Serializers.tuple(Serializers.int32, Serializers.int32), aggregate: AGG, ...nsSer('a'),
  }));
  return { value, list, map, reducing, a, all: { ...value, ...list, ...map, ...reducing, a } };
}

// ---------------------------------------------------------------------------------------------
// Commands

type Cmd =
  | { t: 'value'; op: 'set' | 'get' | 'clear'; s: ValueName; key: string; ns: number; n: number; big: boolean }
  | { t: 'list'; op: 'add' | 'addAll' | 'update' | 'get' | 'clear'; s: ListName; key: string; ns: number; els: number[] }
  | { t: 'map'; op: 'put' | 'remove' | 'get' | 'contains' | 'entries' | 'isEmpty' | 'clear'; s: MapName; key: string; ns: number; uk: number; n: number }
  | { t: 'reducing'; op: 'add' | 'get' | 'clear'; s: ReducingName; key: string; n: number }
  | { t: 'aggregating'; op: 'add' | 'get' | 'clear'; key: string; ns: number; n: number }
  | { t: 'keys'; s: StateName; op: number; ns: number | undefined }
  | { t: 'namespaces'; s: StateName; key: string }
  | { t: 'clearAll'; s: StateName; op: number }
  | { t: 'misroute'; key: string; op: number; kind: number }
  | { t: 'bulk'; s: 'v' | 'tv' | 'l'; ns: number; n: number }
  | { t: 'flush'; op: number }
  | { t: 'compactRange'; op: number; from: number; to: number }
  | { t: 'advance'; ms: number; check: boolean }
  | { t: 'compactAll'; op: number }
  | { t: 'checkpoint' }
  | { t: 'restore' }
  | { t: 'rescale'; p: number; checkpointFirst: boolean };

/** Every string over `alphabet` of length 0..maxLength. */
function keyPool(alphabet: string, maxLength: number): string[] {
  const out = [''];
  let prev = [''];
  for (let l = 1; l <= maxLength; l++) {
    prev = prev.flatMap((p) => [...alphabet].map((c) => p + c));
    out.push(...prev);
  }
  return out;
}

interface ArbOptions {
  pool: readonly string[];
  /** Keys most commands pick from (the rest of the pool less often). */
  hot: number;
  maxRescale: number;
  /** Only the states with TTL, with the clock advancing often: the TTL-focused property. */
  ttlOnly: boolean;
}

function cmdArb({ pool, hot, maxRescale, ttlOnly }: ArbOptions): fc.Arbitrary<Cmd> {
  const pick = <T extends StateName>(names: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...names.filter((x) => !ttlOnly || SPECS[x].ttl !== undefined));
  // Mostly a few hot keys (so operations meet the same keys), sometimes any key of the pool.
  const key = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...pool.slice(0, hot)) }, { weight: 1, arbitrary: fc.constantFrom(...pool) });
  const ns = fc.nat(ttlOnly ? 1 : 2);
  const n = fc.nat(999);
  const op = fc.nat(3);
  const stateName = pick(ALL);
  const cheap: fc.WeightedArbitrary<Cmd>[] = [
    { weight: 12, arbitrary: fc.record({ t: fc.constant('value' as const), op: fc.constantFrom('set' as const, 'set' as const, 'get' as const, 'clear' as const), s: pick(VALUE), key, ns, n, big: fc.nat(9).map((x) => x === 9) }) },
    {
      weight: ttlOnly ? 16 : 12,
      arbitrary: fc.record({
        t: fc.constant('list' as const),
        // With TTL, lists that grew over time (elements of several ages) matter most.
        op: ttlOnly
          ? fc.constantFrom('add' as const, 'add' as const, 'add' as const, 'addAll' as const, 'update' as const, 'get' as const, 'get' as const, 'clear' as const)
          : fc.constantFrom('add' as const, 'addAll' as const, 'update' as const, 'get' as const, 'get' as const, 'clear' as const),
        s: pick(LIST), key, ns, els: fc.array(n, { maxLength: 4 }),
      }),
    },
    {
      weight: 14,
      arbitrary: fc.record({
        t: fc.constant('map' as const),
        op: fc.constantFrom('put' as const, 'put' as const, 'remove' as const, 'get' as const, 'contains' as const, 'entries' as const, 'entries' as const, 'isEmpty' as const, 'clear' as const),
        s: pick(MAP), key, ns, uk: fc.nat(ttlOnly ? 2 : UK_COUNT - 1), n,
      }),
    },
    { weight: 6, arbitrary: fc.record({ t: fc.constant('reducing' as const), op: fc.constantFrom('add' as const, 'add' as const, 'get' as const, 'clear' as const), s: pick(REDUCING), key, n }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('keys' as const), s: stateName, op, ns: fc.option(ns, { nil: undefined }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('namespaces' as const), s: stateName, key }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('clearAll' as const), s: stateName, op }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('misroute' as const), key, op, kind: fc.nat(4) }) },
    // Steps small against the TTLs (80..150 ms), so reads land between a write or refresh and its expiry, and exact boundaries.
    {
      weight: ttlOnly ? 8 : 4,
      arbitrary: fc.record({
        t: fc.constant('advance' as const),
        ms: fc.oneof(
          { weight: 4, arbitrary: fc.integer({ min: 1, max: 40 }) },
          { weight: 1, arbitrary: fc.constantFrom(79, 80, 99, 100, 101, 119, 120, 149, 150) },
          { weight: 1, arbitrary: fc.integer({ min: 1, max: 200 }) },
        ),
        // Then read everything (the checkAll of a restore), at the new time.
        check: fc.nat(ttlOnly ? 2 : 9).map((x) => x === 0),
      }),
    },
  ];
  if (!ttlOnly) {
    cheap.push(
      { weight: 4, arbitrary: fc.record({ t: fc.constant('aggregating' as const), op: fc.constantFrom('add' as const, 'add' as const, 'get' as const, 'clear' as const), key, ns, n }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('bulk' as const), s: fc.constantFrom('v' as const, 'tv' as const, 'l' as const), ns, n }) },
    );
  }
  // Flushes, compactions, checkpoints, restores and rescales take milliseconds, the rest microseconds.
  const costly: fc.WeightedArbitrary<Cmd>[] = [
    { weight: 2, arbitrary: fc.record({ t: fc.constant('flush' as const), op }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('compactRange' as const), op, from: fc.nat(ALL.length), to: fc.nat(ALL.length) }) },
    { weight: ttlOnly ? 6 : 1, arbitrary: fc.record({ t: fc.constant('compactAll' as const), op }) },
    { weight: 3, arbitrary: fc.constant({ t: 'checkpoint' as const }) },
    { weight: 1, arbitrary: fc.constant({ t: 'restore' as const }) },
    // Mostly as a job is rescaled (checkpoint, then restore it elsewhere), sometimes from an older checkpoint.
    { weight: 5, arbitrary: fc.record({ t: fc.constant('rescale' as const), p: fc.integer({ min: 1, max: maxRescale }), checkpointFirst: fc.nat(3).map((x) => x !== 3) }) },
  ];
  return fc.oneof(
    { weight: 5, arbitrary: fc.oneof(...cheap) },
    { weight: 1, arbitrary: fc.oneof(...costly) },
  );
}

// ---------------------------------------------------------------------------------------------
// The job: operators, checkpoints, restores, rescales

interface Operator {
  backend: KeyedStateBackend<string>;
  range: KeyGroupRange;
  s: OpStates;
}

interface RunConfig {
  maxParallelism: number;
  pool: readonly string[];
  parallelism: number;
  /** Flushes and compactions (and so the TTL compaction filter) on worker threads or inline. */
  backgroundMode: 'worker' | 'inline';
  /**
   * Whether `advance` commands with `check` read everything afterwards. Reads find expiries at
   * once (and MapState iterations refresh, or not), but they also clean up on read, leaving the
   * TTL compaction filter nothing to do: the TTL property draws it per run.
   */
  checkOnAdvance: boolean;
}

const WRITE_BUFFER = 32 << 10;

/** Statistics over all runs of a property, to see that the interesting paths happen. */
interface Stats {
  runs: number;
  checkpoints: number;
  restores: number;
  rescales: number;
  ttlExpiredReads: number;
}
const newStats = (): Stats => ({ runs: 0, checkpoints: 0, restores: 0, rescales: 0, ttlExpiredReads: 0 });

async function runJob(cfg: RunConfig, cmds: readonly Cmd[], stats: Stats): Promise<void> {
  const { maxParallelism, pool } = cfg;
  const d = tempDir('lsm-keyed-model-');
  const storage: Storage = CheckpointStorage.directory(join(d.path, 'storage'));
  let now = 1_000_000;
  const kgCache = new Map<string, number>();
  const kgOf = (key: string): number => {
    let kg = kgCache.get(key);
    if (kg === undefined) kgCache.set(key, (kg = assignToKeyGroup(Serializers.string.serialize(key), maxParallelism)));
    return kg;
  };
  const keyOrder = (a: string, b: string): number => kgOf(a) - kgOf(b) || compareBytes(Serializers.string.serialize(a), Serializers.string.serialize(b));
  // iterationRefreshes: false is what src/state does today; Flink refreshes on iteration (see the file header, "Known divergence").
  const model = new KeyedStateModel(SPECS, kgOf, () => now, { iterationRefreshes: ITERATION_REFRESHES });
  const common = {
    maxParallelism, keySerializer: Serializers.string, checkpointStorage: storage, writeBufferSize: WRITE_BUFFER,
    targetFileSizeBase: 8 << 10, ttlTimeProvider: () => now, backgroundMode: cfg.backgroundMode,
  };
  let ops: Operator[] = [];
  let generation = 0;
  let lastHandles: KeyedStateHandle[] = [];
  let lastSnapshot = model.snapshot();

  const ownerOf = (key: string): Operator => {
    const kg = kgOf(key);
    const o = ops.find((x) => x.range.contains(kg));
    if (o === undefined) throw new Error(`no operator owns key group ${kg}`);
    return o;
  };
  const opAt = (i: number): Operator => ops[i % ops.length]!;

  async function openAll(p: number): Promise<void> {
    for (let i = 0; i < p; i++) {
      const range = keyGroupRangeForOperator(maxParallelism, p, i);
      const name = `g${generation}-op${i}`;
      const backend = await KeyedStateBackend.open({ ...common, dir: join(d.path, name), keyGroupRange: range, name });
      ops.push({ backend, range, s: register(backend) });
    }
  }

  async function checkpointAll(): Promise<void> {
    const handles: KeyedStateHandle[] = [];
    for (const o of ops) handles.push((await o.backend.checkpoint()).handle);
    lastHandles = handles;
    lastSnapshot = model.snapshot();
    stats.checkpoints++;
  }

  /** Closes every operator and restores `p` of them from the last checkpoint; the model rolls back. */
  async function restoreAll(p: number): Promise<void> {
    const old = ops;
    ops = [];
    for (const o of old) await o.backend.close();
    generation++;
    for (let i = 0; i < p; i++) {
      const range = keyGroupRangeForOperator(maxParallelism, p, i);
      const name = `g${generation}-op${i}`;
      const backend = await KeyedStateBackend.restore({ ...common, dir: join(d.path, name), keyGroupRange: range, name, handles: lastHandles });
      const o: Operator = { backend, range, s: register(backend) };
      ops.push(o);
      expect(backend.stateNames()).toEqual([...ALL].sort());
    }
    model.restore(lastSnapshot);
  }

  // ---- checks ----

  function expectBounded<T>(what: string, got: T[], bounds: Bounds<T>, order: (a: T, b: T) => number): void {
    for (let i = 1; i < got.length; i++) {
      if (order(got[i - 1]!, got[i]!) >= 0) expect.fail(`${what}: not strictly increasing at ${i}: ${String(got[i - 1])}, ${String(got[i])}`);
    }
    const set = new Set(got);
    const missing = [...bounds.live].filter((x) => !set.has(x));
    const extra = got.filter((x) => !bounds.present.has(x));
    if (missing.length > 0 || extra.length > 0) {
      expect.fail(`${what}: missing ${fc.stringify(missing)}, unexpected ${fc.stringify(extra)} (got ${fc.stringify(got)})`);
    }
  }

  function checkKeys(o: Operator, s: StateName, ns: number | undefined): void {
    const got = [...o.s.all[s].keys(ns === undefined ? undefined : nsValue(s, ns))];
    expectBounded(`${s}.keys(${ns ?? ''}) on ${o.range.toString()}`, got, model.keys(s, o.range, ns === undefined ? undefined : nsIndex(s, ns)), keyOrder);
  }

  function checkNamespaces(s: StateName, key: string): void {
    const got = [...ownerOf(key).s.all[s].namespaces(key)];
    const b = model.namespaces(s, key);
    const toValues = (set: Set<number>): Set<unknown> => new Set([...set].map((i) => nsValue(s, i)));
    const byBytes = (x: unknown, y: unknown): number => {
      const ser = SPECS[s].nsSer ?? Serializers.void;
      return compareBytes(ser.serialize(x as undefined), ser.serialize(y as undefined));
    };
    expectBounded(`${s}.namespaces(${fc.stringify(key)})`, got, { live: toValues(b.live), present: toValues(b.present) }, byBytes);
  }

  // ---- commands ----

  function valueCmd(c: Extract<Cmd, { t: 'value' }>): void {
    const st = ownerOf(c.key).s.value[c.s];
    const ns = nsIndex(c.s, c.ns);
    if (c.op === 'set') {
      const v = valueOf(c.s, c.n, c.big);
      st.set(c.key, v, nsValue(c.s, ns));
      model.putSingle(c.s, c.key, ns, v);
    } else if (c.op === 'clear') {
      st.clear(c.key, nsValue(c.s, ns));
      model.remove(c.s, c.key, ns);
    } else {
      expect(st.get(c.key, nsValue(c.s, ns)), `${c.s}.get(${c.key}, ${ns})`).toEqual(model.getSingle(c.s, c.key, ns));
    }
  }

  function listCmd(c: Extract<Cmd, { t: 'list' }>): void {
    const st = ownerOf(c.key).s.list[c.s];
    const ns = nsIndex(c.s, c.ns);
    const nsv = nsValue(c.s, ns);
    const els = c.els.map((n) => elementOf(c.s, n));
    switch (c.op) {
      case 'add':
        st.add(c.key, els[0] ?? elementOf(c.s, 0), nsv);
        model.listAppend(c.s, c.key, ns, [els[0] ?? elementOf(c.s, 0)]);
        break;
      case 'addAll':
        st.addAll(c.key, els, nsv);
        model.listAppend(c.s, c.key, ns, els);
        break;
      case 'update':
        st.update(c.key, els, nsv);
        model.listReplace(c.s, c.key, ns, els);
        break;
      case 'clear':
        st.clear(c.key, nsv);
        model.remove(c.s, c.key, ns);
        break;
      case 'get':
        expect(st.get(c.key, nsv), `${c.s}.get(${c.key}, ${ns})`).toEqual(model.listGet(c.s, c.key, ns));
        break;
    }
  }

  function mapEntriesCheck(st: AnyMap, s: MapName, key: string, ns: number): void {
    const nsv = nsValue(s, ns);
    const want = model.mapEntries(s, key, ns, ukOrder(s)).map(([uk, v]) => [ukValue(s, uk), v]);
    expect([...st.entries(key, nsv)], `${s}.entries(${key}, ${ns})`).toEqual(want);
    // keysOf and values are reads too (the model's refresh is idempotent at one time).
    expect([...st.keysOf(key, nsv)], `${s}.keysOf(${key}, ${ns})`).toEqual(model.mapEntries(s, key, ns, ukOrder(s)).map(([uk]) => ukValue(s, uk)));
    expect([...st.values(key, nsv)], `${s}.values(${key}, ${ns})`).toEqual(model.mapEntries(s, key, ns, ukOrder(s)).map(([, v]) => v));
  }

  function mapCmd(c: Extract<Cmd, { t: 'map' }>): void {
    const st = ownerOf(c.key).s.map[c.s];
    const ns = nsIndex(c.s, c.ns);
    const nsv = nsValue(c.s, ns);
    const uk = ukValue(c.s, c.uk);
    switch (c.op) {
      case 'put':
        st.put(c.key, uk, mapValueOf(c.s, c.n), nsv);
        model.putSingle(c.s, c.key, ns, mapValueOf(c.s, c.n), c.uk);
        break;
      case 'remove':
        st.remove(c.key, uk, nsv);
        model.remove(c.s, c.key, ns, c.uk);
        break;
      case 'get':
        expect(st.get(c.key, uk, nsv), `${c.s}.get(${c.key}, ${String(uk)}, ${ns})`).toEqual(model.getSingle(c.s, c.key, ns, c.uk));
        break;
      case 'contains':
        expect(st.contains(c.key, uk, nsv), `${c.s}.contains(${c.key}, ${String(uk)}, ${ns})`).toBe(model.getSingle(c.s, c.key, ns, c.uk) !== undefined);
        break;
      case 'entries':
        mapEntriesCheck(st, c.s, c.key, ns);
        break;
      case 'isEmpty':
        expect(st.isEmpty(c.key, nsv), `${c.s}.isEmpty(${c.key}, ${ns})`).toBe(model.mapIsEmpty(c.s, c.key, ns));
        break;
      case 'clear':
        st.clear(c.key, nsv);
        model.mapClear(c.s, c.key, ns);
        break;
    }
  }

  function reducingCmd(c: Extract<Cmd, { t: 'reducing' }>): void {
    const st = ownerOf(c.key).s.reducing[c.s];
    if (c.op === 'add') {
      const v = BigInt(c.n - 300);
      st.add(c.key, v);
      const cur = model.getSingle(c.s, c.key, 0) as bigint | undefined;
      model.putSingle(c.s, c.key, 0, cur === undefined ? v : REDUCE[c.s](cur, v));
    } else if (c.op === 'clear') {
      st.clear(c.key);
      model.remove(c.s, c.key, 0);
    } else {
      expect(st.get(c.key), `${c.s}.get(${c.key})`).toEqual(model.getSingle(c.s, c.key, 0));
    }
  }

  function aggregatingCmd(c: Extract<Cmd, { t: 'aggregating' }>): void {
    const st = ownerOf(c.key).s.a;
    const ns = nsIndex('a', c.ns);
    const nsv = nsValue('a', ns);
    if (c.op === 'add') {
      st.add(c.key, c.n, nsv);
      const acc = (model.getSingle('a', c.key, ns) as [number, number] | undefined) ?? AGG.createAccumulator();
      model.putSingle('a', c.key, ns, AGG.add(c.n, acc));
    } else if (c.op === 'clear') {
      st.clear(c.key, nsv);
      model.remove('a', c.key, ns);
    } else {
      const acc = model.getSingle('a', c.key, ns) as [number, number] | undefined;
      expect(st.get(c.key, nsv), `a.get(${c.key}, ${ns})`).toEqual(acc === undefined ? undefined : AGG.getResult(acc));
    }
  }

  /**
   * What the database itself holds (a raw scan, below the state API, which never looks outside
   * the backend's range): no entry outside the operator's key groups (a restore clips them with
   * range deletions), and per state as many entries as the model has cells.
   */
  function checkPhysical(o: Operator): void {
    const prefixBytes = maxParallelism <= 128 ? 1 : 2;
    const counts = new Map<number, number>();
    for (const [k] of o.backend.db.iterator()) {
      const id = (k[0]! << 8) | k[1]!;
      if (id === 0) continue; // the registry
      const kg = prefixBytes === 1 ? k[2]! : (k[2]! << 8) | k[3]!;
      if (!o.range.contains(kg)) expect.fail(`${o.backend.name} ${o.range.toString()} holds an entry of state ${id} in key group ${kg}`);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const e of o.backend.stateEntries()) {
      const got = counts.get(e.id) ?? 0;
      const want = model.entryCount(e.name, o.range);
      if (got < want.live || got > want.present) {
        expect.fail(`${o.backend.name} ${o.range.toString()}: state ${e.name} has ${got} entries, the model ${want.live}..${want.present}`);
      }
    }
  }

  /** Reads every (key, namespace[, user key]) of every state on every operator, and iterates keys() and namespaces(). */
  function checkAll(): void {
    for (const o of ops) {
      checkPhysical(o);
      const owned = pool.filter((k) => o.range.contains(kgOf(k)));
      for (const key of owned) {
        for (const s of VALUE) for (let ns = 0; ns < nsCount(s); ns++) valueCmd({ t: 'value', op: 'get', s, key, ns, n: 0, big: false });
        for (const s of LIST) for (let ns = 0; ns < nsCount(s); ns++) listCmd({ t: 'list', op: 'get', s, key, ns, els: [] });
        for (const s of MAP) for (let ns = 0; ns < nsCount(s); ns++) mapEntriesCheck(o.s.map[s], s, key, ns);
        for (const s of REDUCING) reducingCmd({ t: 'reducing', op: 'get', s, key, n: 0 });
        for (let ns = 0; ns < nsCount('a'); ns++) aggregatingCmd({ t: 'aggregating', op: 'get', key, ns, n: 0 });
        for (const s of ALL) checkNamespaces(s, key);
      }
      for (const s of ALL) {
        checkKeys(o, s, undefined);
        if (SPECS[s].ns !== undefined) for (let ns = 0; ns < nsCount(s); ns++) checkKeys(o, s, ns);
      }
    }
  }

  async function exec(c: Cmd): Promise<void> {
    switch (c.t) {
      case 'value': return valueCmd(c);
      case 'list': return listCmd(c);
      case 'map': return mapCmd(c);
      case 'reducing': return reducingCmd(c);
      case 'aggregating': return aggregatingCmd(c);
      case 'keys': return checkKeys(opAt(c.op), c.s, SPECS[c.s].ns === undefined ? undefined : c.ns);
      case 'namespaces': return checkNamespaces(c.s, c.key);
      case 'clearAll': {
        const o = opAt(c.op);
        o.s.all[c.s].clearAll();
        model.clearAll(c.s, o.range);
        return;
      }
      case 'misroute': {
        const o = opAt(c.op);
        if (o.range.contains(kgOf(c.key))) return;
        const outside = /outside this backend's key-group range/;
        const s = o.s;
        const attempts = [
          () => s.value.v.set(c.key, 'x', nsValue('v', 0)),
          () => s.list.tl.add(c.key, 'x'),
          () => s.map.m.put(c.key, 'x', 1, nsValue('m', 0)),
          () => s.reducing.r.get(c.key),
          () => s.a.add(c.key, 1, false),
        ];
        expect(attempts[c.kind % attempts.length]!).toThrow(outside);
        return;
      }
      case 'bulk': {
        // Every key of the pool, on its owner: fills write buffers so flushes and compactions happen.
        const ns = nsIndex(c.s, c.ns);
        for (const key of pool) {
          const o = ownerOf(key);
          if (c.s === 'l') {
            const e = elementOf('l', c.n);
            o.s.list.l.add(key, e, nsValue('l', ns));
            model.listAppend('l', key, ns, [e]);
          } else {
            const v = `${c.s}${c.n}:${key}`.padEnd(800, '.');
            o.s.value[c.s].set(key, v, nsValue(c.s, ns));
            model.putSingle(c.s, key, ns, v);
          }
        }
        return;
      }
      case 'flush': return opAt(c.op).backend.flush();
      case 'compactRange': {
        const o = opAt(c.op);
        const ids = o.backend.stateEntries().map((e) => e.id);
        const lo = Math.min(c.from, c.to);
        const hi = Math.max(c.from, c.to);
        if (lo === hi) return o.backend.db.compactRange();
        const bound = (i: number): Uint8Array => {
          const id = ids[i] ?? 0xffff;
          return Uint8Array.of(id >>> 8, id & 0xff);
        };
        return o.backend.db.compactRange(bound(lo), bound(hi));
      }
      case 'advance':
        now += c.ms;
        if (c.check && cfg.checkOnAdvance) checkAll();
        return;
      case 'compactAll': {
        const o = opAt(c.op);
        await o.backend.compactAll();
        model.compactAll(o.range);
        // After a compaction with the current time, keys() of a TTL state is exact.
        for (const s of ALL) if (SPECS[s].ttl !== undefined) {
          const got = [...o.s.all[s].keys()];
          expect(new Set(got), `${s}.keys() after compactAll`).toEqual(model.keys(s, o.range).present);
        }
        return;
      }
      case 'checkpoint': return checkpointAll();
      case 'restore':
        stats.restores++;
        await restoreAll(ops.length);
        return checkAll();
      case 'rescale':
        stats.rescales++;
        if (c.checkpointFirst) await checkpointAll();
        await restoreAll(c.p);
        return checkAll();
    }
  }

  try {
    await openAll(cfg.parallelism);
    await checkpointAll(); // so that a restore before any other checkpoint restores the empty state
    for (const c of cmds) await exec(c);
    checkAll();
    stats.runs++;
    stats.ttlExpiredReads += model.expiredReads;
  } finally {
    for (const o of ops) await o.backend.close().catch(() => undefined);
    await storage.close();
    d.cleanup();
  }
}

// ---------------------------------------------------------------------------------------------

const lengths = { minLength: 1, maxLength: STRESS ? 300 : 100, size: 'max' as const };
const backgroundMode = fc.constantFrom('inline' as const, 'worker' as const);

describe('keyed state agrees with a per-key-group model', () => {
  it('maxParallelism 8 or 16 (1-byte key-group prefix, every key group hit), parallelism 1..4, every state kind, checkpoints, restores, rescales', async () => {
    const pool = keyPool('abc', 3); // 40 keys: every key group of 8 and of 16
    const stats = newStats();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(8, 16), fc.integer({ min: 1, max: 4 }), backgroundMode,
        fc.array(cmdArb({ pool, hot: 6, maxRescale: 4, ttlOnly: false }), lengths),
        (maxParallelism, parallelism, mode, cmds) => runJob({ maxParallelism, pool, parallelism, backgroundMode: mode, checkOnAdvance: true }, cmds, stats),
      ),
      fcParams(6, 100),
    );
    if (stats.runs >= 5) {
      // Beyond the initial checkpoint of each run, checkpoints and restores happened (not asserted on a 1-run replay).
      expect(stats.checkpoints).toBeGreaterThan(stats.runs);
      expect(stats.rescales + stats.restores).toBeGreaterThan(0);
    }
  }, PROPERTY_TIMEOUT);

  it('maxParallelism 256 or 300 (2-byte key-group prefix, key groups above 255), parallelism 1..5', async () => {
    const pool = keyPool('abcd', 3); // 85 keys over 75 key groups of 300, 11 of them above 255
    const stats = newStats();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(256, 300), fc.integer({ min: 1, max: 5 }), backgroundMode,
        fc.array(cmdArb({ pool, hot: 8, maxRescale: 5, ttlOnly: false }), lengths),
        (maxParallelism, parallelism, mode, cmds) => runJob({ maxParallelism, pool, parallelism, backgroundMode: mode, checkOnAdvance: true }, cmds, stats),
      ),
      fcParams(3, 30),
    );
  }, PROPERTY_TIMEOUT);

  it('TTL on a test clock: few keys, the clock advancing around the TTLs, compactAll, restores of old timestamps', async () => {
    const pool = keyPool('ab', 1); // '', 'a', 'b'
    const stats = newStats();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 }), backgroundMode, fc.boolean(),
        fc.array(cmdArb({ pool, hot: 3, maxRescale: 2, ttlOnly: true }), lengths),
        (parallelism, mode, checkOnAdvance, cmds) => runJob({ maxParallelism: 8, pool, parallelism, backgroundMode: mode, checkOnAdvance }, cmds, stats),
      ),
      fcParams(10, 200),
    );
    if (stats.runs >= 5) expect(stats.ttlExpiredReads).toBeGreaterThan(0); // reads met expired entries
  }, PROPERTY_TIMEOUT);
});
