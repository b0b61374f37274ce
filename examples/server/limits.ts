// Admission: at most --max-in-flight feature requests are read and computed at once (more would only
// queue bodies in memory), and none once the server is draining. drained() resolves when the last
// admitted request has been answered.
import { ErrorCodes, HttpError } from './http-error';

/** Seconds a refused client should wait: about one batch's time on a saturated server. */
const RETRY_AFTER_SECONDS = '1';

export class Admission {
  #inFlight = 0;
  #draining = false;
  #waiters: (() => void)[] = [];

  constructor(readonly maxInFlight: number) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Admits a request or throws its 429/503; every admitted request must call leave() once. */
  enter(): void {
    if (this.#draining) throw shuttingDown();
    if (this.#inFlight >= this.maxInFlight) {
      throw new HttpError(429, ErrorCodes.TOO_MANY_REQUESTS,
        `${this.#inFlight} requests are in flight, the server's limit (--max-in-flight ${this.maxInFlight}); retry later`,
        { 'Retry-After': RETRY_AFTER_SECONDS });
    }
    this.#inFlight++;
  }

  leave(): void {
    if (--this.#inFlight === 0) for (const resolve of this.#waiters.splice(0)) resolve();
  }

  /** Refuses new requests from now on; resolves once the admitted ones are done. */
  drain(): Promise<void> {
    this.#draining = true;
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

export function shuttingDown(): HttpError {
  return new HttpError(503, ErrorCodes.SHUTTING_DOWN, 'the server is shutting down; retry on another instance',
    { 'Retry-After': RETRY_AFTER_SECONDS });
}

/** The library's own bound on async calls in flight (ERR_QUEUE_FULL), as a 429. */
export function queueFull(message: string): HttpError {
  return new HttpError(429, ErrorCodes.QUEUE_FULL, message, { 'Retry-After': RETRY_AFTER_SECONDS });
}
