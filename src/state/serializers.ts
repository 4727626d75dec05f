/**
 * Serializers turn state keys, namespaces and values into bytes. Where the bytes end up in a
 * database key, their order matters: range and prefix scans follow byte order, so the
 * serializers below are order-preserving (comparing two serialized values bytewise, unsigned,
 * gives the natural order of the values); only `json` is not.
 *
 * | serializer | bytes | fixedLength | order |
 * |---|---|---|---|
 * | `string`  | UTF-8; lone surrogates rejected (RangeError) so round trips are exact | — | Unicode code point order (which is not JS `<` order: that compares UTF-16 code units) |
 * | `int32`   | 4 bytes big-endian two's complement with the sign bit flipped | 4 | numeric |
 * | `int64`   | 8 bytes big-endian two's complement with the sign bit flipped (bigint) | 8 | numeric |
 * | `float64` | IEEE 754 big-endian; positive: sign bit flipped, negative: all bits flipped. NaN is canonicalised to 0x7FF8000000000000 before encoding | 8 | -Infinity < ... < -0 < +0 < ... < +Infinity < NaN |
 * | `boolean` | 1 byte, 0 or 1 | 1 | false < true |
 * | `bytes`   | the bytes (Uint8Array) | — | bytewise |
 * | `json`    | UTF-8 of JSON.stringify | — | not order-preserving |
 * | `void`    | nothing; the value is `undefined` (the default namespace) | 0 | — |
 * | `tuple(...s)` | fixed-length elements raw, variable-length elements escaped-and-terminated (key-codec.ts) except the last, which is raw | sum, when all are fixed | element-wise |
 * | `list(s)` | every element escaped-and-terminated | — | element-wise, a prefix sorts first |
 *
 * serialize throws TypeError for a value of the wrong JS type and RangeError for one out of range;
 * deserialize throws RangeError for bytes it cannot decode. Results are always fresh arrays.
 */
import { escapedLength, readEscaped, writeEscaped } from './key-codec.js';

export interface TypeSerializer<T> {
  /** Stable name stored with the state so a restore with another serializer is detected, e.g. 'int32', 'tuple(string,int64)'. */
  readonly name: string;
  /** Byte length of every serialized value when constant; undefined when variable. */
  readonly fixedLength: number | undefined;
  /** TypeError for a value of the wrong type, RangeError for out of range. */
  serialize(value: T): Uint8Array;
  /** RangeError for bytes it cannot decode (wrong length, invalid UTF-8...). */
  deserialize(bytes: Uint8Array): T;
}

/** The value type of a serializer. */
export type SerializedType<S> = S extends TypeSerializer<infer T> ? T : never;

/** The tuple of value types of a tuple of serializers. */
export type SerializedTypes<S extends readonly TypeSerializer<any>[]> = { -readonly [K in keyof S]: SerializedType<S[K]> };

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Uint8Array) return 'Uint8Array';
  return typeof value;
}

function expectLength(name: string, bytes: Uint8Array, length: number): void {
  if (bytes.length !== length) throw new RangeError(`${name}: expected ${length} bytes, got ${bytes.length}`);
}

const encoder = new TextEncoder();
// fatal: invalid UTF-8 throws instead of becoming U+FFFD; ignoreBOM: a leading U+FEFF is data, not a BOM.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// With the u flag, a surrogate class matches only unpaired surrogates.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

const stringSerializer: TypeSerializer<string> = {
  name: 'string',
  fixedLength: undefined,
  serialize(value: string): Uint8Array {
    if (typeof value !== 'string') throw new TypeError(`string serializer: expected a string, got ${describe(value)}`);
    const ascii = asciiBytes(value);
    if (ascii !== undefined) return ascii;
    if (LONE_SURROGATE.test(value)) throw new RangeError('string serializer: the string has a lone surrogate (not encodable as UTF-8)');
    return encoder.encode(value);
  },
  deserialize(bytes: Uint8Array): string {
    const ascii = asciiString(bytes);
    if (ascii !== undefined) return ascii;
    try {
      return decoder.decode(bytes);
    } catch {
      throw new RangeError('string serializer: invalid UTF-8');
    }
  },
};

/**
 * Short ASCII strings (most keys) skip TextEncoder/TextDecoder: a call into the runtime costs more
 * than copying a few bytes. UTF-8 of ASCII is the bytes themselves, so the result is identical.
 */
const ASCII_FAST_PATH_MAX = 64;

function asciiBytes(value: string): Uint8Array | undefined {
  const n = value.length;
  if (n > ASCII_FAST_PATH_MAX) return undefined;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80) return undefined;
    out[i] = c;
  }
  return out;
}

function asciiString(bytes: Uint8Array): string | undefined {
  const n = bytes.length;
  if (n > ASCII_FAST_PATH_MAX) return undefined;
  let s = '';
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    if (c >= 0x80) return undefined;
    s += String.fromCharCode(c);
  }
  return s;
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

const int32Serializer: TypeSerializer<number> = {
  name: 'int32',
  fixedLength: 4,
  serialize(value: number): Uint8Array {
    if (typeof value !== 'number') throw new TypeError(`int32 serializer: expected a number, got ${describe(value)}`);
    if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
      throw new RangeError(`int32 serializer: ${value} is not an integer in ${INT32_MIN}..${INT32_MAX}`);
    }
    const u = (value ^ 0x80000000) >>> 0;
    return Uint8Array.of(u >>> 24, (u >>> 16) & 0xff, (u >>> 8) & 0xff, u & 0xff);
  },
  deserialize(bytes: Uint8Array): number {
    expectLength('int32 serializer', bytes, 4);
    return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) ^ 0x80000000;
  },
};

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const INT64_SCRATCH = new BigInt64Array(1);
const INT64_SCRATCH_BYTES = new Uint8Array(INT64_SCRATCH.buffer);
/** Scratch index of big-endian byte i (the platform's byte order decides). */
const INT64_BYTE = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1
  ? [7, 6, 5, 4, 3, 2, 1, 0]
  : [0, 1, 2, 3, 4, 5, 6, 7];
const EMPTY = new Uint8Array(0);

const int64Serializer: TypeSerializer<bigint> = {
  name: 'int64',
  fixedLength: 8,
  serialize(value: bigint): Uint8Array {
    if (typeof value !== 'bigint') throw new TypeError(`int64 serializer: expected a bigint, got ${describe(value)}`);
    if (value < INT64_MIN || value > INT64_MAX) throw new RangeError(`int64 serializer: ${value} is outside the int64 range`);
    // Through a little-endian BigInt64Array scratch and a byte swap: DataView's BigInt path
    // costs ~15x more per call. Flipping the top bit of the big-endian first byte is the sign flip.
    INT64_SCRATCH[0] = value;
    const out = new Uint8Array(8);
    for (let i = 0; i < 8; i++) out[i] = INT64_SCRATCH_BYTES[INT64_BYTE[i]!]!;
    out[0] = out[0]! ^ 0x80;
    return out;
  },
  deserialize(bytes: Uint8Array): bigint {
    expectLength('int64 serializer', bytes, 8);
    for (let i = 0; i < 8; i++) INT64_SCRATCH_BYTES[INT64_BYTE[i]!] = bytes[i]!;
    INT64_SCRATCH_BYTES[INT64_BYTE[0]!] = INT64_SCRATCH_BYTES[INT64_BYTE[0]!]! ^ 0x80;
    return INT64_SCRATCH[0]!;
  },
};

const float64Serializer: TypeSerializer<number> = {
  name: 'float64',
  fixedLength: 8,
  serialize(value: number): Uint8Array {
    if (typeof value !== 'number') throw new TypeError(`float64 serializer: expected a number, got ${describe(value)}`);
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    if (Number.isNaN(value)) {
      // Canonical quiet NaN: every NaN reads back as NaN and sorts above +Infinity.
      view.setUint32(0, 0x7ff80000);
    } else {
      view.setFloat64(0, value);
    }
    if (out[0]! & 0x80) {
      for (let i = 0; i < 8; i++) out[i] = ~out[i]! & 0xff;
    } else {
      out[0] = out[0]! | 0x80;
    }
    return out;
  },
  deserialize(bytes: Uint8Array): number {
    expectLength('float64 serializer', bytes, 8);
    const raw = new Uint8Array(bytes);
    if (raw[0]! & 0x80) {
      raw[0] = raw[0]! & 0x7f;
    } else {
      for (let i = 0; i < 8; i++) raw[i] = ~raw[i]! & 0xff;
    }
    return new DataView(raw.buffer).getFloat64(0);
  },
};

const booleanSerializer: TypeSerializer<boolean> = {
  name: 'boolean',
  fixedLength: 1,
  serialize(value: boolean): Uint8Array {
    if (typeof value !== 'boolean') throw new TypeError(`boolean serializer: expected a boolean, got ${describe(value)}`);
    return Uint8Array.of(value ? 1 : 0);
  },
  deserialize(bytes: Uint8Array): boolean {
    expectLength('boolean serializer', bytes, 1);
    const b = bytes[0]!;
    if (b > 1) throw new RangeError(`boolean serializer: invalid byte 0x${b.toString(16)}`);
    return b === 1;
  },
};

const bytesSerializer: TypeSerializer<Uint8Array> = {
  name: 'bytes',
  fixedLength: undefined,
  serialize(value: Uint8Array): Uint8Array {
    if (!(value instanceof Uint8Array)) throw new TypeError(`bytes serializer: expected a Uint8Array, got ${describe(value)}`);
    return new Uint8Array(value);
  },
  deserialize(bytes: Uint8Array): Uint8Array {
    return new Uint8Array(bytes);
  },
};

/**
 * Any JSON value through JSON.stringify / JSON.parse. Typed `any` so it can serve a
 * `ValueState<MyRecord>` without casts; values that JSON does not represent exactly (undefined
 * properties, NaN, Dates, class instances) come back as JSON.parse makes them.
 */
const jsonSerializer: TypeSerializer<any> = {
  name: 'json',
  fixedLength: undefined,
  serialize(value: unknown): Uint8Array {
    const text = JSON.stringify(value); // TypeError itself for bigint and cycles
    if (text === undefined) throw new TypeError(`json serializer: ${describe(value)} has no JSON representation`);
    return stringSerializer.serialize(text);
  },
  deserialize(bytes: Uint8Array): unknown {
    const text = stringSerializer.deserialize(bytes);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new RangeError('json serializer: invalid JSON');
    }
  },
};

const voidSerializer: TypeSerializer<undefined> = {
  name: 'void',
  fixedLength: 0,
  serialize(value: undefined): Uint8Array {
    if (value !== undefined) throw new TypeError(`void serializer: expected undefined, got ${describe(value)}`);
    return EMPTY; // zero bytes cannot be mutated: one shared array saves an allocation per state access
  },
  deserialize(bytes: Uint8Array): undefined {
    expectLength('void serializer', bytes, 0);
    return undefined;
  },
};

/**
 * A tuple: fixed-length elements are written raw, variable-length ones escaped and terminated,
 * except the last element, which is written raw (nothing follows it). Order: element-wise.
 */
function tuple<S extends TypeSerializer<any>[]>(...serializers: S): TypeSerializer<SerializedTypes<S>> {
  const elements: TypeSerializer<unknown>[] = [...serializers];
  const name = `tuple(${elements.map((s) => s.name).join(',')})`;
  let fixedLength: number | undefined = 0;
  for (const s of elements) fixedLength = fixedLength === undefined || s.fixedLength === undefined ? undefined : fixedLength + s.fixedLength;
  const last = elements.length - 1;
  /** Elements written raw: fixed-length ones and the last one. */
  const raw = elements.map((s, i) => s.fixedLength !== undefined || i === last);
  return {
    name,
    fixedLength,
    serialize(value: SerializedTypes<S>): Uint8Array {
      if (!Array.isArray(value)) throw new TypeError(`${name} serializer: expected an array, got ${describe(value)}`);
      if (value.length !== elements.length) {
        throw new TypeError(`${name} serializer: expected ${elements.length} elements, got ${value.length}`);
      }
      const parts = elements.map((s, i) => s.serialize(value[i]));
      let length = 0;
      for (let i = 0; i < parts.length; i++) length += raw[i] ? parts[i]!.length : escapedLength(parts[i]!);
      const out = new Uint8Array(length);
      let o = 0;
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i]!;
        if (raw[i]) {
          out.set(part, o);
          o += part.length;
        } else {
          o = writeEscaped(out, o, part);
        }
      }
      return out;
    },
    deserialize(bytes: Uint8Array): SerializedTypes<S> {
      if (fixedLength !== undefined) expectLength(`${name} serializer`, bytes, fixedLength);
      const values: unknown[] = [];
      let o = 0;
      for (let i = 0; i < elements.length; i++) {
        const s = elements[i]!;
        let part: Uint8Array;
        if (s.fixedLength !== undefined) {
          if (o + s.fixedLength > bytes.length) throw new RangeError(`${name} serializer: too few bytes for element ${i}`);
          part = bytes.subarray(o, o + s.fixedLength);
          o += s.fixedLength;
        } else if (i === last) {
          part = bytes.subarray(o);
          o = bytes.length;
        } else {
          const r = readEscaped(bytes, o);
          part = r.value;
          o = r.end;
        }
        values.push(s.deserialize(part));
      }
      if (o !== bytes.length) throw new RangeError(`${name} serializer: ${bytes.length - o} trailing bytes`);
      return values as SerializedTypes<S>;
    },
  };
}

/** A list: every element escaped and terminated, so lists sort element-wise (a prefix first). */
function list<T>(element: TypeSerializer<T>): TypeSerializer<T[]> {
  const name = `list(${element.name})`;
  return {
    name,
    fixedLength: undefined,
    serialize(value: T[]): Uint8Array {
      if (!Array.isArray(value)) throw new TypeError(`${name} serializer: expected an array, got ${describe(value)}`);
      const parts = value.map((v) => element.serialize(v));
      let length = 0;
      for (const p of parts) length += escapedLength(p);
      const out = new Uint8Array(length);
      let o = 0;
      for (const p of parts) o = writeEscaped(out, o, p);
      return out;
    },
    deserialize(bytes: Uint8Array): T[] {
      const values: T[] = [];
      let o = 0;
      while (o < bytes.length) {
        const r = readEscaped(bytes, o);
        values.push(element.deserialize(r.value));
        o = r.end;
      }
      return values;
    },
  };
}

export const Serializers = {
  string: stringSerializer,
  int32: int32Serializer,
  /** bigint values. */
  int64: int64Serializer,
  float64: float64Serializer,
  boolean: booleanSerializer,
  /** Uint8Array values (copied both ways). */
  bytes: bytesSerializer,
  /** Any JSON value via JSON.stringify; not order-preserving. */
  json: jsonSerializer,
  /** fixedLength 0, value undefined: the default namespace. */
  void: voidSerializer,
  tuple,
  list,
} as const;
