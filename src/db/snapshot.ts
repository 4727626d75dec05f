/** A consistent read view: every read through it sees the database as of `sequence`. */
import { ClosedError } from '../base/errors.js';

export class Snapshot {
  #released = false;

  /** @internal created by Database.snapshot() */
  constructor(readonly sequence: number, private readonly onRelease: (s: Snapshot) => void) {}

  get released(): boolean {
    return this.#released;
  }

  /** Lets compaction drop versions only this snapshot could see. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.onRelease(this);
  }

  /** @internal */
  checkUsable(): void {
    if (this.#released) throw new ClosedError('snapshot');
  }
}
