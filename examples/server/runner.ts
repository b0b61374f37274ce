// Model calls run at most `concurrency` at a time (by default the calls the library itself runs at
// once, backend().maxConcurrentCalls); the others wait here in arrival order. Interleaving more
// forwardAsync chains than that only makes them evict each other's intermediates from cache: on the
// embedded model, 4 chains in flight gave ~20% fewer inputs/s than 1 (2 threads per call).
import { performance } from 'node:perf_hooks';

import type { Layer, Tensor } from 'conv1x1';

export class ModelRunner {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    private readonly model: Layer,
    readonly concurrency: number,
    private readonly onCall: (seconds: number) => void = () => {},
  ) {}

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  async run(input: Tensor): Promise<Tensor> {
    if (this.#running < this.concurrency) this.#running++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));  // the slot is handed over
    const started = performance.now();
    try {
      return await this.model.forwardAsync(input);
    } finally {
      this.onCall((performance.now() - started) / 1000);
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
