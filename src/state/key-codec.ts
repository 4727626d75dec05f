/**
 * The database key of a keyed-state entry.
 *
 * Layout, byte by byte:
 *
 * ```
 * offset  size      field
 * 0       2         stateId, u16 big-endian (0 = REGISTRY_STATE_ID, reserved for the backend's
 *                   state registry; user states use 1..65535)
 * 2       P         keyGroup, big-endian, P = keyGroupPrefixBytes(maxParallelism): 1 byte when
 *                   maxParallelism <= 128, else 2 (as Flink's RocksDB backend)
 * 2+P     ...       key part
 * ...     ...       namespace part
 * ...     rest      userKey, raw, to the end of the key (MapState only; empty otherwise)
 * ```
 *
 * A part (key or namespace) is the serializer's bytes, written
 * - raw, when its serializer has a fixed length (every value has the same length, so the part's
 *   end is known), or
 * - escaped and terminated otherwise: every 0x00 byte is written as `0x00 0xFF` and the part ends
 *   with `0x00 0x01`. No other byte follows a 0x00 inside an escaped part.
 *
 * Why: comparing two escaped parts bytewise gives the same answer as comparing the raw bytes (the
 * terminator `0x00 0x01` sorts below both an escaped zero `0x00 0xFF` and any non-zero byte, just
 * as "end of string" sorts below any byte), and no escaped part is a prefix of another. So
 * - entry keys sort by (stateId, keyGroup, key, namespace, userKey) in the serializers' byte order;
 * - no two distinct (key, namespace) pairs give the same key, and no keyPrefix/keyNamespacePrefix
 *   of one key is a prefix of another key's entries: a prefix scan over one key (or one
 *   (key, namespace)) never meets another key;
 * - decode() can split the parts back without knowing the serializers.
 *
 * Functions here throw RangeError for malformed input, never CorruptionError: the caller knows
 * which file and offset the bytes came from and can wrap the error.
 */

/** The backend keeps its state registry under state id 0. */
export const REGISTRY_STATE_ID = 0;
export const MAX_STATE_ID = 0xffff;

export interface DecodedStateKey {
  stateId: number;
  keyGroup: number;
  key: Uint8Array;
  namespace: Uint8Array;
  /** Empty when none. */
  userKey: Uint8Array;
}

const ESCAPE = 0x00;
const ESCAPED_ZERO = 0xff;
const TERMINATOR = 0x01;

/** Bytes `writeEscaped` writes for `bytes`: its length, plus one per 0x00 byte, plus the 2-byte terminator. */
export function escapedLength(bytes: Uint8Array): number {
  let n = bytes.length + 2;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0) n++;
  return n;
}

/** Writes `bytes` escaped and terminated into `out` at `offset`; returns the offset after it. */
export function writeEscaped(out: Uint8Array, offset: number, bytes: Uint8Array): number {
  let o = offset;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    out[o++] = b;
    if (b === ESCAPE) out[o++] = ESCAPED_ZERO;
  }
  out[o++] = ESCAPE;
  out[o++] = TERMINATOR;
  return o;
}

/** `bytes` escaped and terminated, as a new array. */
export function escape(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(escapedLength(bytes));
  writeEscaped(out, 0, bytes);
  return out;
}

/**
 * Scans the escaped part starting at `offset`: returns the offset just after its terminator and
 * the number of raw bytes it holds. RangeError when the part is unterminated or holds a 0x00
 * followed by anything but 0xFF or 0x01.
 */
function scanEscaped(bytes: Uint8Array, offset: number): { end: number; rawLength: number } {
  let rawLength = 0;
  let i = offset;
  for (;;) {
    if (i >= bytes.length) throw new RangeError(`unterminated escaped part starting at offset ${offset}`);
    const b = bytes[i]!;
    if (b !== ESCAPE) {
      rawLength++;
      i++;
      continue;
    }
    const next = bytes[i + 1];
    if (next === ESCAPED_ZERO) {
      rawLength++;
      i += 2;
    } else if (next === TERMINATOR) {
      return { end: i + 2, rawLength };
    } else {
      throw new RangeError(
        next === undefined
          ? `unterminated escaped part starting at offset ${offset}`
          : `invalid escape 0x00 0x${next.toString(16).padStart(2, '0')} at offset ${i}`,
      );
    }
  }
}

/**
 * Reads one escaped-and-terminated part at `offset`: returns its raw bytes (a new array, never a
 * view of `bytes`) and the offset after its terminator. RangeError on malformed input.
 */
export function readEscaped(bytes: Uint8Array, offset: number): { value: Uint8Array; end: number } {
  const { end, rawLength } = scanEscaped(bytes, offset);
  const value = new Uint8Array(rawLength);
  if (rawLength === end - offset - 2) {
    value.set(bytes.subarray(offset, offset + rawLength));
  } else {
    let o = 0;
    for (let i = offset; o < rawLength; i++) {
      const b = bytes[i]!;
      value[o++] = b;
      if (b === ESCAPE) i++;
    }
  }
  return { value, end };
}

/** The inverse of {@link escape}: RangeError unless `bytes` is exactly one escaped part. */
export function unescape(bytes: Uint8Array): Uint8Array {
  const { value, end } = readEscaped(bytes, 0);
  if (end !== bytes.length) throw new RangeError(`${bytes.length - end} trailing bytes after an escaped part`);
  return value;
}

function checkStateId(stateId: number): void {
  if (!Number.isInteger(stateId) || stateId < 0 || stateId > MAX_STATE_ID) {
    throw new RangeError(`state id must be an integer in 0..${MAX_STATE_ID}, got ${stateId}`);
  }
}

/** The 2-byte big-endian state id that starts every key of a state. */
export function encodeStateId(stateId: number): Uint8Array {
  checkStateId(stateId);
  return Uint8Array.of(stateId >>> 8, stateId & 0xff);
}

/** The state id of an entry key (its first two bytes); RangeError when shorter. */
export function decodeStateId(entryKey: Uint8Array): number {
  if (entryKey.length < 2) throw new RangeError(`state key of ${entryKey.length} bytes has no state id`);
  return (entryKey[0]! << 8) | entryKey[1]!;
}

/** The key group of an entry key (the 1 or 2 bytes after the state id); RangeError when shorter. */
export function decodeKeyGroup(entryKey: Uint8Array, keyGroupPrefixBytes: 1 | 2): number {
  if (entryKey.length < 2 + keyGroupPrefixBytes) {
    throw new RangeError(`state key of ${entryKey.length} bytes has no key group`);
  }
  return keyGroupPrefixBytes === 1 ? entryKey[2]! : (entryKey[2]! << 8) | entryKey[3]!;
}

/** Smallest byte string greater than every string starting with prefix (undefined when prefix is all 0xFF, or empty). */
export function prefixSuccessor(prefix: Uint8Array): Uint8Array | undefined {
  let n = prefix.length;
  while (n > 0 && prefix[n - 1] === 0xff) n--;
  if (n === 0) return undefined;
  const out = new Uint8Array(prefix.subarray(0, n)); // a copy, also when prefix is a Buffer
  out[n - 1]!++;
  return out;
}

function checkFixedLength(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 0)) {
    throw new RangeError(`${name} must be undefined or a non-negative integer, got ${v}`);
  }
}

/**
 * Builds and splits the keys of one state (one stateId). Key and namespace are given as their
 * serialized bytes; the layout only needs to know whether their serializers have a fixed length.
 */
export class StateKeyLayout {
  readonly stateId: number;
  readonly keyGroupPrefixBytes: 1 | 2;
  readonly keyFixedLength: number | undefined;
  readonly namespaceFixedLength: number | undefined;
  /** 2 + keyGroupPrefixBytes. */
  private readonly headerLength: number;
  private readonly maxKeyGroup: number;

  constructor(options: {
    stateId: number;
    keyGroupPrefixBytes: 1 | 2;
    keyFixedLength: number | undefined;
    namespaceFixedLength: number | undefined;
  }) {
    checkStateId(options.stateId);
    if (options.keyGroupPrefixBytes !== 1 && options.keyGroupPrefixBytes !== 2) {
      throw new RangeError(`keyGroupPrefixBytes must be 1 or 2, got ${String(options.keyGroupPrefixBytes)}`);
    }
    checkFixedLength('keyFixedLength', options.keyFixedLength);
    checkFixedLength('namespaceFixedLength', options.namespaceFixedLength);
    this.stateId = options.stateId;
    this.keyGroupPrefixBytes = options.keyGroupPrefixBytes;
    this.keyFixedLength = options.keyFixedLength;
    this.namespaceFixedLength = options.namespaceFixedLength;
    this.headerLength = 2 + options.keyGroupPrefixBytes;
    this.maxKeyGroup = options.keyGroupPrefixBytes === 1 ? 0xff : 0xffff;
  }

  /** Full key of an entry. */
  entryKey(keyGroup: number, key: Uint8Array, namespace: Uint8Array, userKey?: Uint8Array): Uint8Array {
    const userKeyLength = userKey === undefined ? 0 : userKey.length;
    const out = new Uint8Array(
      this.headerLength + this.partLength(key, this.keyFixedLength, 'key') + this.partLength(namespace, this.namespaceFixedLength, 'namespace') + userKeyLength,
    );
    let o = this.writeHeader(out, keyGroup);
    o = writePart(out, o, key, this.keyFixedLength);
    o = writePart(out, o, namespace, this.namespaceFixedLength);
    if (userKey !== undefined) out.set(userKey, o);
    return out;
  }

  /** Prefix shared by every entry of (key) in any namespace. */
  keyPrefix(keyGroup: number, key: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.headerLength + this.partLength(key, this.keyFixedLength, 'key'));
    writePart(out, this.writeHeader(out, keyGroup), key, this.keyFixedLength);
    return out;
  }

  /** Prefix shared by every entry of (key, namespace): the map entries of a MapState. */
  keyNamespacePrefix(keyGroup: number, key: Uint8Array, namespace: Uint8Array): Uint8Array {
    return this.entryKey(keyGroup, key, namespace);
  }

  /** [stateId] : every entry of this state. */
  statePrefix(): Uint8Array {
    return encodeStateId(this.stateId);
  }

  /** [stateId][keyGroup] : first possible key of a key group. */
  keyGroupPrefix(keyGroup: number): Uint8Array {
    const out = new Uint8Array(this.headerLength);
    this.writeHeader(out, keyGroup);
    return out;
  }

  /**
   * Splits an entry key into its fields (fresh arrays, never views of `entryKey`). RangeError when
   * the key is malformed for this layout: too short, a bad escape, or another state's id.
   */
  decode(entryKey: Uint8Array): DecodedStateKey {
    const stateId = decodeStateId(entryKey);
    if (stateId !== this.stateId) throw new RangeError(`key of state ${stateId} decoded with the layout of state ${this.stateId}`);
    const keyGroup = decodeKeyGroup(entryKey, this.keyGroupPrefixBytes);
    let o = this.headerLength;
    const k = readPart(entryKey, o, this.keyFixedLength, 'key');
    o = k.end;
    const ns = readPart(entryKey, o, this.namespaceFixedLength, 'namespace');
    o = ns.end;
    return { stateId, keyGroup, key: k.value, namespace: ns.value, userKey: copy(entryKey, o, entryKey.length) };
  }

  private writeHeader(out: Uint8Array, keyGroup: number): number {
    if (!Number.isInteger(keyGroup) || keyGroup < 0 || keyGroup > this.maxKeyGroup) {
      throw new RangeError(`key group must be an integer in 0..${this.maxKeyGroup} for a ${this.keyGroupPrefixBytes}-byte prefix, got ${keyGroup}`);
    }
    out[0] = this.stateId >>> 8;
    out[1] = this.stateId & 0xff;
    if (this.keyGroupPrefixBytes === 1) {
      out[2] = keyGroup;
      return 3;
    }
    out[2] = keyGroup >>> 8;
    out[3] = keyGroup & 0xff;
    return 4;
  }

  private partLength(bytes: Uint8Array, fixedLength: number | undefined, what: string): number {
    if (fixedLength === undefined) return escapedLength(bytes);
    if (bytes.length !== fixedLength) {
      throw new RangeError(`${what} of ${bytes.length} bytes, but its serializer has a fixed length of ${fixedLength}`);
    }
    return fixedLength;
  }
}

function writePart(out: Uint8Array, offset: number, bytes: Uint8Array, fixedLength: number | undefined): number {
  if (fixedLength === undefined) return writeEscaped(out, offset, bytes);
  out.set(bytes, offset);
  return offset + bytes.length;
}

function readPart(bytes: Uint8Array, offset: number, fixedLength: number | undefined, what: string): { value: Uint8Array; end: number } {
  if (fixedLength === undefined) return readEscaped(bytes, offset);
  const end = offset + fixedLength;
  if (end > bytes.length) throw new RangeError(`state key too short for its ${fixedLength}-byte ${what}`);
  return { value: copy(bytes, offset, end), end };
}

/** A copy of bytes[start, end) as a plain Uint8Array (Buffer.prototype.slice would return a view). */
function copy(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end));
}
