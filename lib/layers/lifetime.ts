// close() for layers that hold native weights: new calls are refused with ERR_CLOSED, calls already
// in flight finish normally, and close() resolves once they have all settled. The native weights
// are released at close (in-flight calls keep their own reference until they end).
import { Conv1x1Error, ErrorCodes } from '../errors';

export class Lifetime {
  #closed = false;
  #inFlight = 0;
  #drained: (() => void)[] = [];

  constructor(private readonly kind: string) {}

  get closed(): boolean {
    return this.#closed;
  }

  /** Throws ERR_CLOSED once close() was called. */
  checkOpen(): void {
    if (this.#closed) {
      throw new Conv1x1Error(`the ${this.kind} layer was closed; create a new one to run it again`, ErrorCodes.CLOSED);
    }
  }

  /** Counts an async call as in flight until it settles; checks the layer is open first. */
  async track<T>(run: () => Promise<T>): Promise<T> {
    this.checkOpen();
    this.#inFlight++;
    try {
      return await run();
    } finally {
      if (--this.#inFlight === 0) for (const resolve of this.#drained.splice(0)) resolve();
    }
  }

  /** Marks the layer closed, runs `release` once, and resolves when no call is in flight. */
  close(release: () => void): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      release();
    }
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }
}
