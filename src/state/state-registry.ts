/**
 * The backend's registry of states, kept in the database itself under state id 0 so that every
 * checkpoint carries it (docs/keyed-state.md, "Registry"):
 *
 * - `[0x00 0x00 0x00]` → backend info JSON `{ formatVersion, maxParallelism, keySerializer, keyGroupRange }`
 * - `[0x00 0x00 0x01][UTF-8 state name]` → state entry JSON `{ id, kind, namespaceSerializer,
 *   valueSerializer, userKeySerializer, ttl }`
 *
 * A state registered again must have the same kind and serializers (a mismatch would read
 * bytes written by another serializer), and TTL may change its duration but not be switched on
 * or off (that changes the value format).
 */
import type { StateKind } from './states.js';
import type { ResolvedTtl } from './ttl.js';

export const REGISTRY_FORMAT_VERSION = 1;
const INFO_KEY = Uint8Array.of(0, 0, 0);
const STATE_KEY_PREFIX = Uint8Array.of(0, 0, 1);

export interface BackendInfo {
  formatVersion: number;
  maxParallelism: number;
  keySerializer: string;
  keyGroupRange: { start: number; end: number };
}

export interface StateEntry {
  name: string;
  id: number;
  kind: StateKind;
  namespaceSerializer: string;
  /** The value, element or accumulator serializer. */
  valueSerializer: string;
  /** MapState's user-key serializer; null otherwise. */
  userKeySerializer: string | null;
  ttl: ResolvedTtl | null;
}

export function backendInfo(maxParallelism: number, keySerializer: string, keyGroupRange: { start: number; end: number }): BackendInfo {
  return { formatVersion: REGISTRY_FORMAT_VERSION, maxParallelism, keySerializer, keyGroupRange: { start: keyGroupRange.start, end: keyGroupRange.end } };
}

export function backendInfoKey(): Uint8Array {
  return INFO_KEY;
}

export function stateEntryKey(name: string): Uint8Array {
  const n = new TextEncoder().encode(name);
  const out = new Uint8Array(STATE_KEY_PREFIX.length + n.length);
  out.set(STATE_KEY_PREFIX, 0);
  out.set(n, STATE_KEY_PREFIX.length);
  return out;
}

export function stateEntryRange(): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: STATE_KEY_PREFIX, lt: Uint8Array.of(0, 0, 2) };
}

export function encodeJson(v: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(v));
}

const KINDS: readonly string[] = ['value', 'list', 'map', 'reducing', 'aggregating'];

/** Validates a state entry read from a database or checkpoint metadata (TypeError on a malformed one). */
export function checkStateEntry(v: unknown): StateEntry {
  const e = v as Partial<StateEntry> | null;
  const ok = typeof e === 'object' && e !== null && typeof e.name === 'string' && Number.isInteger(e.id) && (e.id as number) >= 1 &&
    (e.id as number) <= 0xffff && typeof e.kind === 'string' && KINDS.includes(e.kind) && typeof e.namespaceSerializer === 'string' &&
    typeof e.valueSerializer === 'string' && (e.userKeySerializer === null || typeof e.userKeySerializer === 'string') &&
    (e.ttl === null || (typeof e.ttl === 'object' && typeof e.ttl.ttlMs === 'number'));
  if (!ok) throw new TypeError(`malformed state registry entry ${JSON.stringify(v)}`);
  return e as StateEntry;
}

export function checkBackendInfo(v: unknown): BackendInfo {
  const i = v as Partial<BackendInfo> | null;
  const ok = typeof i === 'object' && i !== null && i.formatVersion === REGISTRY_FORMAT_VERSION && Number.isInteger(i.maxParallelism) &&
    typeof i.keySerializer === 'string' && typeof i.keyGroupRange === 'object' && i.keyGroupRange !== null;
  if (!ok) throw new TypeError(`malformed keyed-state backend info ${JSON.stringify(v)}`);
  return i as BackendInfo;
}

/** Throws a RangeError naming the difference when `wanted` cannot read what `existing` wrote. */
export function checkCompatible(existing: StateEntry, wanted: Omit<StateEntry, 'id'>): void {
  const where = `state ${JSON.stringify(existing.name)}`;
  if (existing.kind !== wanted.kind) throw new RangeError(`${where} is a ${existing.kind} state; it cannot be used as a ${wanted.kind} state`);
  for (const field of ['namespaceSerializer', 'valueSerializer', 'userKeySerializer'] as const) {
    if (existing[field] !== wanted[field]) {
      throw new RangeError(`${where} was written with ${field} ${String(existing[field])}; got ${String(wanted[field])}`);
    }
  }
  if ((existing.ttl === null) !== (wanted.ttl === null)) {
    throw new RangeError(`${where} was written ${existing.ttl === null ? 'without' : 'with'} TTL; switching TTL on or off changes its value format`);
  }
}
