/**
 * One growable byte buffer holding one byte string at a time, for loops that must not allocate
 * per entry (compactions copy every key and value they keep across a cursor move). view()
 * returns a view of the current contents that is made once per distinct length and reused, so a
 * run of keys or values of a few lengths allocates nothing after the first of each.
 */

/** Lengths above this get a fresh view each time (rare; caching them would only hold memory). */
const MAX_CACHED_VIEW_LENGTH = 64 * 1024;

/** Copies shorter than this use a loop: cheaper than a native call (and a subarray) for a few bytes. */
const SHORT_COPY = 64;

/**
 * Views of a buffer's first n bytes, made once per n and reused: for cursors and builders whose
 * current key lives in one buffer and is handed out as a Uint8Array on every step.
 */
export class PrefixViews {
  #buf: Uint8Array;
  #views: (Uint8Array | undefined)[] = [];

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  /** Points at a new buffer (after growing), dropping the old views. */
  reset(buf: Uint8Array): void {
    this.#buf = buf;
    this.#views = [];
  }

  /** The view of the first n bytes; lengths above 64 KiB get a fresh one (caching them would only hold memory). */
  get(n: number): Uint8Array {
    if (n > MAX_CACHED_VIEW_LENGTH) return this.#buf.subarray(0, n);
    let view = this.#views[n];
    if (view === undefined) {
      view = this.#buf.subarray(0, n);
      this.#views[n] = view;
    }
    return view;
  }
}

export class ReusableBytes {
  #buf: Uint8Array;
  #length = 0;
  readonly #views: PrefixViews;

  constructor(initialCapacity = 64) {
    this.#buf = new Uint8Array(initialCapacity);
    this.#views = new PrefixViews(this.#buf);
  }

  get length(): number {
    return this.#length;
  }

  /** The backing buffer; its first `length` bytes are the contents. */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /** Replaces the contents with a copy of src[start, end). */
  assign(src: Uint8Array, start = 0, end = src.length): void {
    const n = end - start;
    this.#reserve(n);
    const buf = this.#buf;
    if (n < SHORT_COPY) {
      for (let i = 0; i < n; i++) buf[i] = src[start + i]!;
    } else {
      buf.set(start === 0 && end === src.length ? src : src.subarray(start, end));
    }
    this.#length = n;
  }

  /** True when the contents equal src[start, end). */
  equals(src: Uint8Array, start: number, end: number): boolean {
    if (end - start !== this.#length) return false;
    const buf = this.#buf;
    for (let i = 0; i < this.#length; i++) if (buf[i] !== src[start + i]) return false;
    return true;
  }

  /** A view of the contents, valid until the next assign. */
  view(): Uint8Array {
    return this.#views.get(this.#length);
  }

  #reserve(n: number): void {
    if (n <= this.#buf.length) return;
    this.#buf = new Uint8Array(Math.max(n, this.#buf.length * 2));
    this.#views.reset(this.#buf);
  }
}
