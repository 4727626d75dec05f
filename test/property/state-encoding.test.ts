/**
 * The keyed-state encodings: key-group ranges partition the key groups; every serializer (also
 * nested tuples and lists) round-trips and, except json, orders its bytes as its values; state
 * entry keys decode back, never collide, keep one key's entries inside its prefix range, and sort
 * by (keyGroup, key, namespace, userKey).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StateKeyLayout, prefixSuccessor } from '../../src/state/key-codec.js';
import {
  MAX_PARALLELISM_UPPER_BOUND, assignToKeyGroup, keyGroupRangeForOperator, operatorIndexForKeyGroup,
} from '../../src/state/key-groups.js';
import { type TypeSerializer, Serializers as S } from '../../src/state/serializers.js';
import { PROPERTY_TIMEOUT, fcParams, hex } from '../helpers/fc-params.js';

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
const cmpBytes = (a: Uint8Array, b: Uint8Array): number => sign(Buffer.compare(a, b));
const isPrefix = (p: Uint8Array, of: Uint8Array): boolean => p.length <= of.length && Buffer.compare(p, of.subarray(0, p.length)) === 0;
const cmpNum = (a: number, b: number): number => sign(a - b);

/** Natural order of doubles as float64 sorts them: -0 before +0, NaN (any) last and equal to itself. */
function cmpDouble(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1;
  if (a === 0 && b === 0) return Object.is(a, b) ? 0 : Object.is(a, -0) ? -1 : 1;
  return cmpNum(a, b);
}

/** Unicode code point order (UTF-8 byte order), not JS `<` (UTF-16 code unit order). */
function cmpCodePoints(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return cmpNum(x[i]!, y[i]!);
  return cmpNum(x.length, y.length);
}

function cmpSeq<T>(a: readonly T[], b: readonly T[], cmp: (x: T, y: T) => number): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = cmp(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return cmpNum(a.length, b.length);
}

/** A serializer with an arbitrary of its values, their natural order and equality. */
interface Spec {
  ser: TypeSerializer<unknown>;
  value: fc.Arbitrary<unknown>;
  cmp: (a: unknown, b: unknown) => number;
}

/** Units that make strings share prefixes and hold zero bytes, surrogate pairs and U+FFFF. */
const smallUnit = fc.constantFrom('a', 'b', '\u0000', '\u0001', 'é', '\uffff', '😀', '\u{10ffff}');
const stringArb = fc.oneof(fc.string({ unit: smallUnit, maxLength: 5 }), fc.string({ unit: 'binary', maxLength: 8 }));
const bytesArb = fc.oneof(fc.uint8Array({ maxLength: 6 }), fc.array(fc.constantFrom(0, 1, 0xff), { maxLength: 5 }).map((a) => Uint8Array.from(a)));
const int32Arb = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.integer());
const int64Arb = fc.oneof(fc.bigInt({ min: -3n, max: 3n }), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }));
const float64Arb = fc.oneof(fc.constantFrom(0, -0, Number.NaN, Infinity, -Infinity, Number.MIN_VALUE, -Number.MIN_VALUE, 1, -1), fc.double());

const LEAVES: Spec[] = [
  { ser: S.string as TypeSerializer<unknown>, value: stringArb, cmp: (a, b) => cmpCodePoints(a as string, b as string) },
  { ser: S.int32 as TypeSerializer<unknown>, value: int32Arb, cmp: (a, b) => cmpNum(a as number, b as number) },
  { ser: S.int64 as TypeSerializer<unknown>, value: int64Arb, cmp: (a, b) => ((a as bigint) < (b as bigint) ? -1 : a === b ? 0 : 1) },
  { ser: S.float64 as TypeSerializer<unknown>, value: float64Arb, cmp: (a, b) => cmpDouble(a as number, b as number) },
  { ser: S.boolean as TypeSerializer<unknown>, value: fc.boolean(), cmp: (a, b) => cmpNum(Number(a), Number(b)) },
  { ser: S.bytes as TypeSerializer<unknown>, value: bytesArb, cmp: (a, b) => cmpBytes(a as Uint8Array, b as Uint8Array) },
  { ser: S.void as TypeSerializer<unknown>, value: fc.constant(undefined), cmp: () => 0 },
];

function tupleSpec(elements: Spec[]): Spec {
  return {
    ser: S.tuple(...elements.map((e) => e.ser)) as TypeSerializer<unknown>,
    value: fc.tuple(...elements.map((e) => e.value)),
    cmp: (a, b) => {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < elements.length; i++) {
        const c = elements[i]!.cmp(x[i], y[i]);
        if (c !== 0) return c;
      }
      return 0;
    },
  };
}

function listSpec(element: Spec): Spec {
  return {
    ser: S.list(element.ser) as TypeSerializer<unknown>,
    value: fc.array(element.value, { maxLength: 4 }),
    cmp: (a, b) => cmpSeq(a as unknown[], b as unknown[], element.cmp),
  };
}

const leafArb = fc.constantFrom(...LEAVES);
function specArb(depth: number): fc.Arbitrary<Spec> {
  if (depth === 0) return leafArb;
  const inner = specArb(depth - 1);
  return fc.oneof(
    { arbitrary: leafArb, weight: 3 },
    { arbitrary: fc.array(inner, { maxLength: 3 }).map(tupleSpec), weight: 2 },
    { arbitrary: inner.map(listSpec), weight: 1 },
  );
}
const anySpec = specArb(2);

/** A spec with a few of its values (at least 2, so pairs can be compared). */
const specWithValues = anySpec.chain((spec) => fc.tuple(fc.constant(spec), fc.array(spec.value, { minLength: 2, maxLength: 8 })));

function checkOrder(spec: Spec, values: unknown[]): void {
  const encoded = values.map((v) => spec.ser.serialize(v));
  for (let i = 0; i < values.length; i++) {
    for (let j = 0; j < values.length; j++) {
      const expected = spec.cmp(values[i], values[j]);
      if (cmpBytes(encoded[i]!, encoded[j]!) !== expected) {
        throw new Error(`${spec.ser.name}: bytes ${hex(encoded[i]!)} vs ${hex(encoded[j]!)} do not order as values (expected ${expected})`);
      }
    }
  }
}

describe('key groups', () => {
  const mpArb = fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: MAX_PARALLELISM_UPPER_BOUND }));
  const mpAndParallelism = mpArb.chain((mp) => fc.tuple(fc.constant(mp), fc.oneof(fc.integer({ min: 1, max: Math.min(mp, 20) }), fc.integer({ min: 1, max: mp }))));

  it('operator ranges partition 0..maxParallelism-1 and operatorIndexForKeyGroup agrees with them', () => {
    fc.assert(
      fc.property(mpAndParallelism, ([mp, p]) => {
        let next = 0;
        let minSize = Infinity;
        let maxSize = 0;
        for (let op = 0; op < p; op++) {
          const r = keyGroupRangeForOperator(mp, p, op);
          if (r.isEmpty() || r.start !== next) throw new Error(`operator ${op} has range ${r.toString()}, expected one starting at ${next}`);
          minSize = Math.min(minSize, r.size);
          maxSize = Math.max(maxSize, r.size);
          for (const kg of r) if (operatorIndexForKeyGroup(mp, p, kg) !== op) throw new Error(`key group ${kg} not owned by operator ${op}`);
          next = r.end + 1;
        }
        expect(next).toBe(mp);
        expect(maxSize - minSize).toBeLessThanOrEqual(1);
      }),
      fcParams(100),
    );
  }, PROPERTY_TIMEOUT);

  it('assigns every key to a key group in range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), mpArb, (key, mp) => {
        const kg = assignToKeyGroup(key, mp);
        expect(Number.isInteger(kg) && kg >= 0 && kg < mp).toBe(true);
        expect(assignToKeyGroup(Uint8Array.from(key), mp)).toBe(kg);
      }),
      fcParams(500),
    );
  });
});

describe('serializers', () => {
  it('every serializer, nested tuples and lists included, round-trips', () => {
    fc.assert(
      fc.property(specWithValues, ([spec, values]) => {
        for (const v of values) {
          const bytes = spec.ser.serialize(v);
          if (spec.ser.fixedLength !== undefined) expect(bytes.length).toBe(spec.ser.fixedLength);
          const back = spec.ser.deserialize(bytes);
          expect(spec.cmp(back, v)).toBe(0);
          expect(hex(spec.ser.serialize(back))).toBe(hex(bytes));
        }
      }),
      fcParams(500),
    );
  }, PROPERTY_TIMEOUT);

  it('byte order equals value order for every serializer but json, nested ones included', () => {
    fc.assert(
      fc.property(specWithValues, ([spec, values]) => checkOrder(spec, values)),
      fcParams(500),
    );
  }, PROPERTY_TIMEOUT);

  const byName = (name: string): Spec => LEAVES.find((l) => l.ser.name === name)!;
  const named: [string, Spec][] = [
    ['int32', byName('int32')],
    ['int64', byName('int64')],
    ['float64', byName('float64')],
    ['string', byName('string')],
    ['tuple(string,int32)', tupleSpec([byName('string'), byName('int32')])],
    ['list(int32)', listSpec(byName('int32'))],
  ];
  it.each(named)('byte order equals value order: %s', (_name, spec) => {
    fc.assert(
      fc.property(fc.array(spec.value, { minLength: 2, maxLength: 10 }), (values) => checkOrder(spec, values)),
      fcParams(300),
    );
  });

  it('json round-trips any JSON value as JSON.parse(JSON.stringify) would', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(S.json.deserialize(S.json.serialize(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      fcParams(300),
    );
  });

  it('deserialize throws only RangeError on arbitrary bytes', () => {
    fc.assert(
      fc.property(anySpec, bytesArb, (spec, bytes) => {
        try {
          const v = spec.ser.deserialize(bytes);
          // Whatever decodes re-encodes to a value that decodes the same.
          expect(spec.cmp(spec.ser.deserialize(spec.ser.serialize(v)), v)).toBe(0);
        } catch (e) {
          if (!(e instanceof RangeError)) throw e;
        }
      }),
      fcParams(500),
    );
  });
});

describe('state keys', () => {
  const part = fc.array(fc.constantFrom(0, 1, 2, 0xff), { maxLength: 4 }).map((a) => Uint8Array.from(a));
  const fixedOrNot = fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined });
  const layoutArb = fc
    .record({ stateId: fc.integer({ min: 0, max: 0xffff }), keyGroupPrefixBytes: fc.constantFrom(1 as const, 2 as const), keyFixedLength: fixedOrNot, namespaceFixedLength: fixedOrNot })
    .map((o) => new StateKeyLayout(o));
  const bytesOf = (fixed: number | undefined): fc.Arbitrary<Uint8Array> =>
    fixed === undefined ? part : fc.array(fc.constantFrom(0, 1, 0xff), { minLength: fixed, maxLength: fixed }).map((a) => Uint8Array.from(a));
  interface Entry { keyGroup: number; key: Uint8Array; namespace: Uint8Array; userKey: Uint8Array | undefined }
  const entryArb = (layout: StateKeyLayout): fc.Arbitrary<Entry> =>
    fc.record({
      keyGroup: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: layout.keyGroupPrefixBytes === 1 ? 0xff : 0xffff })),
      key: bytesOf(layout.keyFixedLength),
      namespace: bytesOf(layout.namespaceFixedLength),
      userKey: fc.option(part, { nil: undefined }),
    });
  const layoutWithEntries = layoutArb.chain((layout) => fc.tuple(fc.constant(layout), fc.array(entryArb(layout), { minLength: 2, maxLength: 12 })));

  it('decode(entryKey(...)) round-trips, and every prefix is a prefix of the entry key', () => {
    fc.assert(
      fc.property(layoutWithEntries, ([layout, entries]) => {
        for (const e of entries) {
          const k = layout.entryKey(e.keyGroup, e.key, e.namespace, e.userKey);
          expect(layout.decode(k)).toEqual({ stateId: layout.stateId, keyGroup: e.keyGroup, key: e.key, namespace: e.namespace, userKey: e.userKey ?? new Uint8Array(0) });
          for (const p of [layout.statePrefix(), layout.keyGroupPrefix(e.keyGroup), layout.keyPrefix(e.keyGroup, e.key), layout.keyNamespacePrefix(e.keyGroup, e.key, e.namespace)]) {
            expect(isPrefix(p, k)).toBe(true);
          }
        }
      }),
      fcParams(300),
    );
  }, PROPERTY_TIMEOUT);

  it('distinct (key, namespace) pairs never collide, and a key prefix range holds only that key', () => {
    fc.assert(
      fc.property(layoutWithEntries, ([layout, entries]) => {
        for (const a of entries) {
          for (const b of entries) {
            const sameKey = a.keyGroup === b.keyGroup && hex(a.key) === hex(b.key);
            const samePair = sameKey && hex(a.namespace) === hex(b.namespace);
            const pa = layout.keyNamespacePrefix(a.keyGroup, a.key, a.namespace);
            const pb = layout.keyNamespacePrefix(b.keyGroup, b.key, b.namespace);
            expect(isPrefix(pa, pb)).toBe(samePair);
            const kb = layout.entryKey(b.keyGroup, b.key, b.namespace, b.userKey);
            expect(isPrefix(pa, kb)).toBe(samePair);
            // A scan over [keyPrefix(a), prefixSuccessor(keyPrefix(a))) meets exactly the entries of a's key.
            const lo = layout.keyPrefix(a.keyGroup, a.key);
            const hi = prefixSuccessor(lo);
            const inRange = cmpBytes(kb, lo) >= 0 && (hi === undefined || cmpBytes(kb, hi) < 0);
            expect(inRange).toBe(sameKey);
            expect(isPrefix(lo, kb)).toBe(sameKey);
          }
        }
      }),
      fcParams(300),
    );
  }, PROPERTY_TIMEOUT);

  const orderedLayout = fc.tuple(anySpec, anySpec, fc.constantFrom(1 as const, 2 as const)).chain(([keySpec, nsSpec, kgBytes]) =>
    fc.tuple(
      fc.constant(keySpec),
      fc.constant(nsSpec),
      fc.constant(kgBytes),
      fc.array(
        fc.record({
          keyGroup: fc.integer({ min: 0, max: kgBytes === 1 ? 3 : 300 }),
          key: keySpec.value,
          namespace: nsSpec.value,
          userKey: fc.option(bytesArb, { nil: undefined }),
        }),
        { minLength: 2, maxLength: 10 },
      ),
    ),
  );

  it('entry keys sort by (keyGroup, key, namespace, userKey) for order-preserving serializers', () => {
    fc.assert(
      fc.property(orderedLayout, ([keySpec, nsSpec, kgBytes, entries]) => {
        const layout = new StateKeyLayout({ stateId: 3, keyGroupPrefixBytes: kgBytes, keyFixedLength: keySpec.ser.fixedLength, namespaceFixedLength: nsSpec.ser.fixedLength });
        const encoded = entries.map((e) => layout.entryKey(e.keyGroup, keySpec.ser.serialize(e.key), nsSpec.ser.serialize(e.namespace), e.userKey));
        for (let i = 0; i < entries.length; i++) {
          for (let j = 0; j < entries.length; j++) {
            const a = entries[i]!;
            const b = entries[j]!;
            const expected =
              cmpNum(a.keyGroup, b.keyGroup) ||
              keySpec.cmp(a.key, b.key) ||
              nsSpec.cmp(a.namespace, b.namespace) ||
              cmpBytes(a.userKey ?? new Uint8Array(0), b.userKey ?? new Uint8Array(0));
            expect(cmpBytes(encoded[i]!, encoded[j]!)).toBe(expected);
          }
        }
      }),
      fcParams(300),
    );
  }, PROPERTY_TIMEOUT);
});
