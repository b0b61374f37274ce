// Prometheus text exposition (format 0.0.4) of what an operator needs to see the service saturate:
// answers by route and status, error codes, latency, in-flight requests, the model's calls and queue,
// the library's async queue, event-loop delay and the backend in use.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

import { backend } from 'conv1x1';

/** Latency buckets in seconds: a small batch takes milliseconds, a large one or a queue seconds. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Event-loop sampling interval (ms). Node records each interval's length, so it is subtracted. */
const LOOP_RESOLUTION_MS = 10;
/** The event-loop quantiles cover the last 30 to 60 s: a load spike shows, and later fades. */
const LOOP_WINDOW_MS = 60_000;

class Histogram {
  readonly counts = new Array<number>(BUCKETS.length + 1).fill(0);  // per bucket; the last is +Inf
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    const bucket = BUCKETS.findIndex((le) => seconds <= le);
    this.counts[bucket < 0 ? BUCKETS.length : bucket]++;
    this.sum += seconds;
    this.count++;
  }

  render(name: string, extra: Record<string, string>): string[] {
    const lines: string[] = [];
    let cumulative = 0;
    BUCKETS.forEach((le, i) => {
      cumulative += this.counts[i];
      lines.push(`${name}_bucket${labels({ ...extra, le })} ${cumulative}`);
    });
    lines.push(`${name}_bucket${labels({ ...extra, le: '+Inf' })} ${this.count}`);
    lines.push(`${name}_sum${labels(extra)} ${this.sum}`);
    lines.push(`${name}_count${labels(extra)} ${this.count}`);
    return lines;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Record<string, string | number>): string {
  const parts = Object.entries(pairs).map(([key, value]) => `${key}="${escapeLabel(String(value))}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

/**
 * Two monitors reset in turn every half window; the one reset longer ago is read. (Node's interval
 * histograms cannot be merged, so a ring of slots is not possible.)
 */
class LoopDelay {
  readonly #monitors: IntervalHistogram[] = [0, 1].map(() => monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS }));
  #next = 0;  // the monitor reset next, i.e. the one with the longer history
  readonly #timer: NodeJS.Timeout;

  constructor() {
    for (const monitor of this.#monitors) monitor.enable();
    this.#timer = setInterval(() => {
      this.#monitors[this.#next].reset();
      this.#next ^= 1;
    }, LOOP_WINDOW_MS / 2);
    this.#timer.unref();
  }

  get current(): IntervalHistogram {
    return this.#monitors[this.#next];
  }

  stop(): void {
    clearInterval(this.#timer);
    for (const monitor of this.#monitors) monitor.disable();
  }
}

export interface LiveGauges {
  inFlight: number;
  maxInFlight: number;
  draining: boolean;
  modelRunning: number;
  modelWaiting: number;
  modelConcurrency: number;
}

export class Metrics {
  readonly #requests = new Map<string, number>();  // key: route + '\0' + status
  readonly #errors = new Map<string, number>();
  readonly #latency = new Map<string, Histogram>();
  readonly #modelCalls = new Histogram();
  readonly #loop = new LoopDelay();
  #inputs = 0;

  /** One answered (or abandoned: status 'aborted') request. */
  observe(route: string, status: number | 'aborted', seconds: number): void {
    const key = `${route}\0${status}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    let histogram = this.#latency.get(route);
    if (!histogram) {
      histogram = new Histogram();
      this.#latency.set(route, histogram);
    }
    histogram.observe(seconds);
  }

  /** One model call (forwardAsync), from its start to its result. */
  modelCall(seconds: number): void {
    this.#modelCalls.observe(seconds);
  }

  error(code: string): void {
    this.#errors.set(code, (this.#errors.get(code) ?? 0) + 1);
  }

  inputs(count: number): void {
    this.#inputs += count;
  }

  stop(): void {
    this.#loop.stop();
  }

  render(live: LiveGauges): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

    family('conv1x1_http_requests_total', 'counter', 'HTTP requests answered, by route and status (aborted: the client left first).');
    for (const [key, value] of this.#requests) {
      const [route, status] = key.split('\0');
      lines.push(`conv1x1_http_requests_total${labels({ route, status })} ${value}`);
    }
    family('conv1x1_http_errors_total', 'counter', 'Error answers, by error code.');
    for (const [code, value] of this.#errors) lines.push(`conv1x1_http_errors_total${labels({ code })} ${value}`);

    family('conv1x1_http_request_duration_seconds', 'histogram', 'Time from the request to the end of its answer, by route.');
    for (const [route, histogram] of this.#latency) lines.push(...histogram.render('conv1x1_http_request_duration_seconds', { route }));
    family('conv1x1_model_call_duration_seconds', 'histogram',
      'Time of one model call (forwardAsync of a request\'s batch), without its wait for a turn.');
    lines.push(...this.#modelCalls.render('conv1x1_model_call_duration_seconds', {}));

    family('conv1x1_inputs_total', 'counter', 'Inputs (batch items) run through the model.');
    lines.push(`conv1x1_inputs_total ${this.#inputs}`);
    family('conv1x1_http_in_flight', 'gauge', 'Feature requests admitted and not yet answered.');
    lines.push(`conv1x1_http_in_flight ${live.inFlight}`);
    family('conv1x1_http_in_flight_limit', 'gauge', 'The --max-in-flight limit; requests beyond it get 429.');
    lines.push(`conv1x1_http_in_flight_limit ${live.maxInFlight}`);
    family('conv1x1_draining', 'gauge', '1 while the server shuts down (new requests get 503).');
    lines.push(`conv1x1_draining ${live.draining ? 1 : 0}`);

    family('conv1x1_model_calls_running', 'gauge', 'Model calls (forwardAsync) running.');
    lines.push(`conv1x1_model_calls_running ${live.modelRunning}`);
    family('conv1x1_model_calls_waiting', 'gauge', 'Decoded requests waiting for a model call (the server queue depth).');
    lines.push(`conv1x1_model_calls_waiting ${live.modelWaiting}`);
    family('conv1x1_model_calls_limit', 'gauge', 'Model calls run at once (--model-concurrency).');
    lines.push(`conv1x1_model_calls_limit ${live.modelConcurrency}`);

    const info = backend();
    family('conv1x1_async_queue_calls', 'gauge', "The library's async calls in flight, running and waiting for a compute slot (queue depth).");
    lines.push(`conv1x1_async_queue_calls ${info.queue.calls}`);
    family('conv1x1_async_queue_bytes', 'gauge', "Bytes held by the library's async calls in flight.");
    lines.push(`conv1x1_async_queue_bytes ${info.queue.bytes}`);
    family('conv1x1_async_queue_limit_calls', 'gauge', 'Async calls admitted at once before ERR_QUEUE_FULL (answered 429).');
    lines.push(`conv1x1_async_queue_limit_calls ${info.queue.maxCalls}`);
    family('conv1x1_backend_info', 'gauge', 'The backend in use (always 1).');
    lines.push(`conv1x1_backend_info${labels({
      name: info.name, kernels: info.kernels, simd: info.simd, selection: info.selection,
      threads: info.threads, max_concurrent_calls: info.maxConcurrentCalls, cores: info.cores,
    })} 1`);

    family('conv1x1_event_loop_delay_seconds', 'summary',
      'How late the event loop ran a timer, over the last 30 to 60 s (perf_hooks.monitorEventLoopDelay).');
    const loop = this.#loop.current;
    const delay = (nanoseconds: number) => Math.max(0, nanoseconds / 1e9 - LOOP_RESOLUTION_MS / 1e3);
    const count = loop.count;
    if (count > 0) {
      for (const q of [0.5, 0.9, 0.99, 0.999]) {
        lines.push(`conv1x1_event_loop_delay_seconds${labels({ quantile: q })} ${delay(loop.percentile(q * 100))}`);
      }
      lines.push(`conv1x1_event_loop_delay_seconds${labels({ quantile: 1 })} ${delay(loop.max)}`);
    }
    lines.push(`conv1x1_event_loop_delay_seconds_sum ${count > 0 ? delay(loop.mean) * count : 0}`);
    lines.push(`conv1x1_event_loop_delay_seconds_count ${count}`);

    family('process_cpu_seconds_total', 'counter', 'CPU time of the server process (user and system), on all its threads.');
    const cpu = process.cpuUsage();
    lines.push(`process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`);
    family('process_resident_memory_bytes', 'gauge', 'Resident memory of the server process.');
    lines.push(`process_resident_memory_bytes ${process.memoryUsage.rss()}`);
    return `${lines.join('\n')}\n`;
  }
}
