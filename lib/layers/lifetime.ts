// close() for layers that hold native weights: new calls are refused with ERR_CLOSED, calls already
// in flight finish normally, and close() resolves once they have all settled. The native weights
// are released at close (in-flight calls keep their own reference until they end). Layers made of
// other layers (Sequential, Residual, SeparableConv2d, Linear) refuse new calls at close too, but
// close their parts only once their own calls have settled: a running call may still have parts to
// go through.
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

  /**
   * Counts the async call that `start` makes as in flight until it settles. The promise returned
   * settles with it, and only then is the call counted out: the caller's reactions to the call are
   * queued before close()'s, so close() resolves after the caller has seen every call it waited for.
   * (No handler is attached to the returned promise, so a rejection nobody handles is still
   * reported.) `start` calls checkOpen() itself, inside callAsync, so that ERR_CLOSED rejects (never
   * throws) and keeps the caller's stack.
   */
  track<T>(start: () => Promise<T>): Promise<T> {
    return Lifetime.trackAll([this], start);
  }

  /**
   * track() on several lifetimes at once: the call counts as in flight on each of them (a chained
   * Sequential call on every layer it runs), with one promise and one reaction however many there are.
   */
  static trackAll<T>(lifetimes: readonly Lifetime[], start: () => Promise<T>): Promise<T> {
    const call = start();
    for (const lifetime of lifetimes) lifetime.#inFlight++;
    const settled = () => {
      for (const lifetime of lifetimes) lifetime.#settled();
    };
    return new Promise<T>((resolve, reject) => {
      call.then(
        (value) => {
          resolve(value);
          settled();
        },
        (error: unknown) => {
          reject(error);
          settled();
        },
      );
    });
  }

  #settled(): void {
    if (--this.#inFlight === 0) for (const resolve of this.#drained.splice(0)) resolve();
  }

  /** Marks the layer closed, runs `release` once, and resolves when no call is in flight. */
  close(release: () => void): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      release();
    }
    return this.#whenDrained();
  }

  /**
   * For a layer made of others: marks it closed, and once none of its own calls is in flight closes
   * its parts (`closeParts`, which must be harmless to run twice); resolves when that has finished.
   */
  closeThen(closeParts: () => Promise<void>): Promise<void> {
    this.#closed = true;
    return this.#whenDrained().then(closeParts);
  }

  #whenDrained(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }
}
