// Progress of a long job on stderr: a redrawn bar with rate and ETA on a terminal, and a plain line
// every few seconds otherwise (logs and CI read those).
export interface ProgressOptions {
  total: number;
  label: string;
  stream?: NodeJS.WriteStream;
  /** Plain-line interval when not a terminal. */
  lineIntervalMs?: number;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}

export class Progress {
  readonly #total: number;
  readonly #label: string;
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #lineIntervalMs: number;
  readonly #start = process.hrtime.bigint();
  #done = 0;
  #lastDraw = 0;

  constructor(options: ProgressOptions) {
    this.#total = options.total;
    this.#label = options.label;
    this.#stream = options.stream ?? process.stderr;
    this.#tty = Boolean(this.#stream.isTTY);
    this.#lineIntervalMs = options.lineIntervalMs ?? 5000;
  }

  get elapsedSeconds(): number {
    return Number(process.hrtime.bigint() - this.#start) / 1e9;
  }

  advance(items: number): void {
    this.#done += items;
    const now = this.elapsedSeconds * 1000;
    const interval = this.#tty ? 100 : this.#lineIntervalMs;
    if (now - this.#lastDraw >= interval || this.#done === this.#total) {
      this.#lastDraw = now;
      this.#draw();
    }
  }

  /** Ends the bar's line on a terminal. */
  finish(): void {
    if (this.#tty) this.#stream.write('\n');
  }

  #draw(): void {
    const seconds = this.elapsedSeconds;
    const rate = seconds > 0 ? this.#done / seconds : 0;
    const eta = rate > 0 ? (this.#total - this.#done) / rate : Number.POSITIVE_INFINITY;
    const fraction = this.#total > 0 ? this.#done / this.#total : 1;
    const stats = `${this.#done}/${this.#total} items  ${rate.toFixed(1)} items/s  ETA ${formatDuration(eta)}`;
    if (this.#tty) {
      const width = 30;
      const filled = Math.round(fraction * width);
      this.#stream.write(`\r${this.#label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${stats}\x1b[K`);
    } else {
      this.#stream.write(`${this.#label}: ${stats} (${Math.round(fraction * 100)}%)\n`);
    }
  }
}
