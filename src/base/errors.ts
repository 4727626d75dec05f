/**
 * Error hierarchy. Codes are API (stable, listed in docs/errors.md); messages are not.
 * Callers branch with `LsmError.is(err, code)` or the subclasses' static `is()`, which check the
 * code rather than `instanceof`, so errors that cross module copies or worker threads still match.
 */

export type ErrorCode =
  | 'LSM_CORRUPTION'
  | 'LSM_IO'
  | 'LSM_CLOSED'
  | 'LSM_BUSY'
  | 'LSM_NOT_FOUND'
  | 'LSM_EXISTS'
  | 'LSM_CODEC_MISSING'
  | 'LSM_NOT_SUPPORTED'
  | 'LSM_CHECKPOINT_DECLINED'
  | 'LSM_CHECKPOINT_TIMEOUT'
  | 'LSM_CHECKPOINT_ABORTED'
  | 'LSM_ASSERTION';

export class LsmError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'LsmError';
  }

  static is(err: unknown, code?: ErrorCode): err is LsmError {
    if (typeof err !== 'object' || err === null) return false;
    const c = (err as { code?: unknown }).code;
    if (typeof c !== 'string' || !c.startsWith('LSM_')) return false;
    return code === undefined || c === code;
  }
}

export interface CorruptionDetails {
  /** File the bad bytes were read from, when known. */
  file?: string;
  /** Byte offset in that file, when known. */
  offset?: number;
  expected?: string | number;
  actual?: string | number;
}

/** Bytes on disk do not match what their format or checksum says they must be. */
export class CorruptionError extends LsmError {
  readonly file: string | undefined;
  readonly offset: number | undefined;
  readonly expected: string | number | undefined;
  readonly actual: string | number | undefined;

  constructor(message: string, details: CorruptionDetails = {}, options?: { cause?: unknown }) {
    const where =
      details.file === undefined
        ? ''
        : ` (file ${details.file}${details.offset === undefined ? '' : `, offset ${details.offset}`})`;
    super('LSM_CORRUPTION', `${message}${where}`, options);
    this.name = 'CorruptionError';
    this.file = details.file;
    this.offset = details.offset;
    this.expected = details.expected;
    this.actual = details.actual;
  }

  static override is(err: unknown): err is CorruptionError {
    return LsmError.is(err, 'LSM_CORRUPTION');
  }

  /** The same error located in `file`, unless it already names a file. */
  static inFile(err: unknown, file: string): unknown {
    if (!CorruptionError.is(err) || err.file !== undefined) return err;
    return new CorruptionError(err.message, { file, offset: err.offset, expected: err.expected, actual: err.actual }, { cause: err });
  }
}

/** An operating-system I/O call failed; `cause` holds the system error (with its errno code). */
export class IoError extends LsmError {
  readonly path: string | undefined;

  constructor(message: string, path?: string, options?: { cause?: unknown }) {
    super('LSM_IO', path === undefined ? message : `${message}: ${path}`, options);
    this.name = 'IoError';
    this.path = path;
  }

  static override is(err: unknown): err is IoError {
    return LsmError.is(err, 'LSM_IO');
  }
}

/** The database (or iterator, snapshot) was used after close. */
export class ClosedError extends LsmError {
  constructor(what = 'database') {
    super('LSM_CLOSED', `${what} is closed`);
    this.name = 'ClosedError';
  }

  static override is(err: unknown): err is ClosedError {
    return LsmError.is(err, 'LSM_CLOSED');
  }
}

/** A broken internal invariant: a bug in lsm-state, never a user error. */
export class AssertionError extends LsmError {
  constructor(message: string) {
    super('LSM_ASSERTION', `invariant violated: ${message}`);
    this.name = 'AssertionError';
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Wraps a Node system error into an IoError (leaves lsm-state errors untouched). */
export function toIoError(err: unknown, operation: string, path?: string): LsmError {
  if (LsmError.is(err)) return err;
  const sys = (err as { code?: string }).code;
  return new IoError(`${operation} failed${sys ? ` (${sys})` : ''}`, path, { cause: err });
}
