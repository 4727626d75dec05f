/**
 * The pipeline's tasks: source partitions, the channels between them, and the keyed operators.
 *
 *   source-0 ──┬──▶ op-0          Each source partition has one channel to every operator and
 *   source-1 ──┼──▶ op-1          sends a record to the operator that owns the record's key
 *   source-2 ──┘                  group. Channels are FIFO queues; records and barriers travel
 *                                 in them in order.
 *
 * Checkpoint N: the coordinator calls every participant's `snapshot(N)`. A source partition
 * injects barrier N into all its channels at its next step and acknowledges with its offset.
 * An operator acknowledges once barrier N arrived on every input channel (alignment) and its
 * backend took checkpoint N. Records behind a barrier belong to the next checkpoint, so a
 * channel whose barrier arrived is blocked until the barriers of all channels arrived.
 */
import {
  type CheckpointParticipant, type KeyedStateBackend, type KeyedStateHandle, type KeyedStateParticipant, type ListState, type MapState,
  type ReducingState, Serializers, type ValueState, assignToKeyGroup, operatorIndexForKeyGroup,
} from '../../src/index.js';
import { type KeyResult, type SourceConfig, type SourceRecord, compareEvents, recordAt } from './source.js';

export type StreamElement =
  | { kind: 'record'; record: SourceRecord }
  | { kind: 'barrier'; checkpointId: number };

/** A FIFO queue from one source partition to one operator. */
export class Channel {
  #items: StreamElement[] = [];
  #head = 0;

  push(e: StreamElement): void {
    this.#items.push(e);
  }

  peek(): StreamElement | undefined {
    return this.#items[this.#head];
  }

  shift(): StreamElement | undefined {
    const e = this.#items[this.#head];
    if (e === undefined) return undefined;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return e;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }
}

/** A promise with its resolve and reject. */
class Deferred<T> {
  readonly promise: Promise<T>;
  resolve!: (v: T) => void;
  reject!: (e: unknown) => void;
  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.promise.catch(() => undefined); // rejections are observed by the coordinator
  }
}

/** A source partition's checkpointed state: the offset of the first record after the barrier. */
export interface SourceHandle {
  partition: number;
  offset: number;
}

/** Routes a key to the operator owning its key group (Flink's keyBy). */
export function router(maxParallelism: number, parallelism: number): (key: string) => number {
  const cache = new Map<string, number>();
  return (key) => {
    let op = cache.get(key);
    if (op === undefined) {
      const keyGroup = assignToKeyGroup(Serializers.string.serialize(key), maxParallelism);
      op = operatorIndexForKeyGroup(maxParallelism, parallelism, keyGroup);
      cache.set(key, op);
    }
    return op;
  };
}

export class SourceTask implements CheckpointParticipant {
  readonly name: string;
  #offset: number;
  #barriers: { checkpointId: number; ack: Deferred<SourceHandle> }[] = [];

  constructor(
    readonly config: SourceConfig,
    readonly partition: number,
    offset: number,
    readonly outputs: readonly Channel[],
    readonly route: (key: string) => number,
    /** Called for every record emitted (fault injection hooks in). */
    readonly onRecord: (r: SourceRecord) => void = () => undefined,
  ) {
    this.name = `source-${partition}`;
    this.#offset = offset;
  }

  get offset(): number {
    return this.#offset;
  }

  get exhausted(): boolean {
    return this.#offset >= this.config.recordsPerPartition;
  }

  /** Checkpoint N: a barrier goes out at the next step; the handle is the offset at that point. */
  snapshot(checkpointId: number): Promise<SourceHandle> {
    const ack = new Deferred<SourceHandle>();
    this.#barriers.push({ checkpointId, ack });
    return ack.promise;
  }

  /** The handle is all the state there is: nothing to delete. */
  async discard(): Promise<void> {}

  /** Injects pending barriers, then emits up to `max` records (fewer when a channel is full). */
  step(max: number, channelCapacity: number): number {
    for (const { checkpointId, ack } of this.#barriers.splice(0)) {
      for (const c of this.outputs) c.push({ kind: 'barrier', checkpointId });
      ack.resolve({ partition: this.partition, offset: this.#offset });
    }
    let n = 0;
    while (n < max && !this.exhausted && this.outputs.every((c) => c.length < channelCapacity)) {
      const record = recordAt(this.config, this.partition, this.#offset);
      this.onRecord(record);
      this.outputs[this.route(record.key)]!.push({ kind: 'record', record });
      this.#offset++;
      n++;
    }
    return n;
  }
}

/** The state an operator keeps per key (the same fields as source.ts's KeyResult). */
export interface OperatorStates {
  sum: ValueState<string, bigint>;
  count: ReducingState<string, bigint>;
  events: ListState<string, string>;
  lastOffsets: MapState<string, number, number>;
}

export function registerStates(backend: KeyedStateBackend<string>): OperatorStates {
  return {
    sum: backend.valueState({ name: 'sum', valueSerializer: Serializers.int64 }),
    count: backend.reducingState({ name: 'count', valueSerializer: Serializers.int64, reduce: (a: bigint, b: bigint) => a + b }),
    events: backend.listState({ name: 'events', elementSerializer: Serializers.string }),
    lastOffsets: backend.mapState({ name: 'lastOffsets', userKeySerializer: Serializers.int32, valueSerializer: Serializers.int32 }),
  };
}

/** Reads every key's results from a backend's states. */
export function readStates(states: OperatorStates, into = new Map<string, KeyResult>()): Map<string, KeyResult> {
  for (const key of states.count.keys()) {
    into.set(key, {
      sum: states.sum.get(key) ?? 0n,
      count: states.count.get(key) ?? 0n,
      lastOffsets: Object.fromEntries(states.lastOffsets.entries(key)),
      events: states.events.get(key).sort(compareEvents),
    });
  }
  return into;
}

export class KeyedOperator {
  readonly name: string;
  readonly states: OperatorStates;
  /** Per input channel: has it delivered the barrier being aligned? */
  readonly #blocked: boolean[];
  #aligning: number | undefined;
  #checkpointing: Promise<void> | undefined;
  readonly #acks = new Map<number, Deferred<KeyedStateHandle>>();
  #next = 0;
  processed = 0;

  constructor(
    readonly index: number,
    readonly backend: KeyedStateBackend<string>,
    readonly inputs: readonly Channel[],
    /** Called when the barriers of checkpoint N are aligned, before the backend checkpoints. */
    readonly onAligned: (checkpointId: number) => void = () => undefined,
  ) {
    this.name = `op-${index}`;
    this.states = registerStates(backend);
    this.#blocked = inputs.map(() => false);
  }

  #ack(checkpointId: number): Deferred<KeyedStateHandle> {
    let d = this.#acks.get(checkpointId);
    if (d === undefined) this.#acks.set(checkpointId, (d = new Deferred()));
    return d;
  }

  /** The coordinator's view: resolves once barrier N is aligned and the backend has checkpointed. */
  participant(): KeyedStateParticipant {
    return {
      name: this.name,
      snapshot: (checkpointId) => {
        const p = this.#ack(checkpointId).promise;
        void p.finally(() => this.#acks.delete(checkpointId)).catch(() => undefined);
        return p;
      },
      discard: (checkpointId) => this.backend.discardCheckpoint(checkpointId),
    };
  }

  /** True while the backend checkpoints (the operator then processes nothing). */
  get busy(): boolean {
    return this.#checkpointing !== undefined;
  }

  /** Processes up to `max` elements from unblocked channels, round robin. */
  step(max: number): number {
    let n = 0;
    while (n < max && this.#checkpointing === undefined) {
      const c = this.#pickChannel();
      if (c === undefined) break;
      const e = this.inputs[c]!.shift()!;
      if (e.kind === 'record') {
        this.#process(e.record);
        n++;
      } else {
        this.#onBarrier(c, e.checkpointId);
      }
    }
    return n;
  }

  #pickChannel(): number | undefined {
    for (let i = 0; i < this.inputs.length; i++) {
      const c = (this.#next + i) % this.inputs.length;
      if (!this.#blocked[c] && this.inputs[c]!.length > 0) {
        this.#next = c + 1;
        return c;
      }
    }
    return undefined;
  }

  #process(r: SourceRecord): void {
    const { sum, count, events, lastOffsets } = this.states;
    sum.set(r.key, (sum.get(r.key) ?? 0n) + BigInt(r.amount));
    count.add(r.key, 1n);
    events.add(r.key, `${r.partition}:${r.offset}`);
    lastOffsets.put(r.key, r.partition, r.offset);
    this.processed++;
  }

  #onBarrier(channel: number, checkpointId: number): void {
    if (this.#aligning !== undefined && this.#aligning !== checkpointId) {
      throw new Error(`${this.name}: barrier ${checkpointId} on channel ${channel} while aligning ${this.#aligning}`);
    }
    this.#aligning = checkpointId;
    this.#blocked[channel] = true; // what follows on this channel belongs to the next checkpoint
    if (!this.#blocked.every(Boolean)) return;
    // Aligned: the state holds exactly the records before barrier N on every channel.
    this.onAligned(checkpointId);
    const ack = this.#ack(checkpointId);
    // The backend freezes its memtable a few microtasks into checkpoint(), so the operator
    // writes nothing until the checkpoint is done (a production operator would resume after
    // the synchronous part).
    this.#checkpointing = this.backend.checkpoint(checkpointId).then(
      (r) => ack.resolve(r.handle),
      (err: unknown) => ack.reject(err),
    ).finally(() => {
      this.#checkpointing = undefined;
      this.#aligning = undefined;
      this.#blocked.fill(false);
    });
  }

  /** Waits for a checkpoint in progress (before closing). */
  async idle(): Promise<void> {
    await this.#checkpointing;
  }
}
