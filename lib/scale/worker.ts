// A BullMQ worker that runs shard jobs: the model is loaded once per process, each job runs one shard
// (run-shard.ts) and completes with its summary. Jobs at once are bounded by the calls the library
// can run at once on this machine's cores: a worker that took more would only hold jobs that an idle
// worker elsewhere could run.
import { hostname } from 'node:os';

import { UnrecoverableError, Worker, type Job } from 'bullmq';

import { backend, setThreads } from '../backend';
import { describe, ErrorCodes, rangeError, typeError } from '../errors';
import { validateShardJob, type ShardJob, type ShardSummary } from './job-spec';
import { readOptionalString, readOptionsObject, readPositiveInteger, readQueueName } from './options';
import { parseRedisUrl, redactRedisUrl } from './redis-url';
import { loadExtractionModel, runShard, type ExtractionModel } from './run-shard';

export interface CreateWorkerOptions {
  /** redis://host:port[/db] (rediss:// for TLS). */
  redis: string;
  queue: string;
  /** Jobs at once, from 1 to backend().maxConcurrentCalls (after `threads`). Default 1. */
  concurrency?: number;
  /** Threads per convolution call (setThreads, process-wide). Default: as the process has it. */
  threads?: number;
  /** Model spec and weights paths; neither: the embedded default model. */
  model?: string;
  weights?: string;
  /** A model the caller has loaded (instead of model/weights); the caller closes it. */
  extraction?: ExtractionModel;
  /**
   * Compute with the sync forward on the event loop's thread (no thread hop; see runShard). Only for a
   * process that is a worker and nothing else, with concurrency 1: the loop then still renews the
   * job's lock between batches. Default false, for services that embed a worker.
   */
  syncForward?: boolean;
  /** Shown as the job's processedBy and in summaries. Default host:pid. */
  name?: string;
  /** How long a job's lock lasts without renewal: a worker silent this long has its job taken back. Default 30,000. */
  lockDurationMs?: number;
  /** How often workers look for jobs whose lock has expired. Default 30,000. */
  stalledIntervalMs?: number;
  /** Times a job may be taken back from a dead worker before it fails. Default 2. */
  maxStalledCount?: number;
  /** Receives one line per event (job done or failed, Redis connection trouble). Default: none. */
  log?: (line: string) => void;
}

export interface ScaleWorker {
  readonly name: string;
  readonly concurrency: number;
  readonly modelName: string;
  readonly worker: Worker<ShardJob, ShardSummary>;
  /** Finishes the jobs in hand, disconnects, and closes the model if the worker loaded it. */
  close(): Promise<void>;
}

const OPTION_NAMES = [
  'redis', 'queue', 'concurrency', 'threads', 'model', 'weights', 'extraction', 'syncForward', 'name',
  'lockDurationMs', 'stalledIntervalMs', 'maxStalledCount', 'log',
];

const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

function isConnectionError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) || /Connection is closed|connect ETIMEDOUT/.test(error.message);
}

/** Resolves once the worker is connected and taking jobs. */
export async function createWorker(options: CreateWorkerOptions): Promise<ScaleWorker> {
  const checked = readOptionsObject<CreateWorkerOptions>(options, OPTION_NAMES, 'options');
  const connection = parseRedisUrl(checked.redis, 'options.redis');
  const queue = readQueueName(checked.queue, 'options.queue');
  const cores = backend().cores;
  const threads = checked.threads === undefined ? undefined : readPositiveInteger(checked.threads, 'options.threads', 1, cores);
  const slots = Math.max(1, Math.floor(cores / (threads ?? backend().threads)));
  const concurrency = readPositiveInteger(checked.concurrency, 'options.concurrency', 1);
  if (concurrency > slots) {
    throw rangeError(
      ErrorCodes.OUT_OF_RANGE,
      `options.concurrency must be from 1 to ${slots} (the calls this process runs at once: ${cores} cores / ` +
        `${threads ?? backend().threads} thread(s) per call) but received ${concurrency}; lower threads for more jobs at once`,
    );
  }
  if (checked.syncForward !== undefined && typeof checked.syncForward !== 'boolean') {
    throw typeError(ErrorCodes.INVALID_ARG_TYPE, `options.syncForward must be a boolean but received ${describe(checked.syncForward)}`);
  }
  if (checked.syncForward && concurrency > 1) {
    throw rangeError(ErrorCodes.INVALID_ARG_VALUE, `options.syncForward runs one job at a time; it needs concurrency 1 but concurrency is ${concurrency}`);
  }
  if (checked.extraction !== undefined && typeof (checked.extraction as Partial<ExtractionModel> | null)?.model?.forwardAsync !== 'function') {
    throw typeError(ErrorCodes.INVALID_ARG_TYPE, `options.extraction must be a loaded model ({ model, inputChannels, name }) but received ${describe(checked.extraction)}`);
  }
  if (checked.log !== undefined && typeof checked.log !== 'function') {
    throw typeError(ErrorCodes.INVALID_ARG_TYPE, `options.log must be a function but received ${describe(checked.log)}`);
  }
  const lockDuration = readPositiveInteger(checked.lockDurationMs, 'options.lockDurationMs', 30_000);
  const stalledInterval = readPositiveInteger(checked.stalledIntervalMs, 'options.stalledIntervalMs', 30_000);
  const maxStalledCount = readPositiveInteger(checked.maxStalledCount, 'options.maxStalledCount', 2);
  if (threads !== undefined) setThreads(threads);  // process-wide: only once every option is known to be good
  const syncForward = checked.syncForward ?? false;
  const name = readOptionalString(checked.name, 'options.name') ?? `${hostname()}:${process.pid}`;
  const log = checked.log ?? (() => {});
  const ownsModel = checked.extraction === undefined;
  const extraction = checked.extraction ??
    loadExtractionModel(readOptionalString(checked.model, 'options.model'), readOptionalString(checked.weights, 'options.weights'));

  const processShard = async (job: Job<ShardJob, ShardSummary>): Promise<ShardSummary> => {
    let shard: ShardJob;
    try {
      shard = validateShardJob(job.data);
    } catch (error) {
      throw new UnrecoverableError((error as Error).message);  // retrying cannot fix the job's data
    }
    return runShard(extraction, shard, { worker: name, syncForward });
  };

  const worker = new Worker<ShardJob, ShardSummary>(queue, processShard, {
    connection,
    concurrency,
    name,
    lockDuration,
    stalledInterval,
    maxStalledCount,
  });

  // Connection errors repeat while Redis is away (ioredis keeps reconnecting): one line per outage,
  // and one when a job completes again. Other errors (a lock lost to a stall, say) are logged each time.
  let outage = false;
  worker.on('error', (error) => {
    if (!isConnectionError(error)) {
      log(`error: ${error.message}`);
      return;
    }
    if (!outage) log(`Redis at ${redactRedisUrl(checked.redis)}: ${error.message}; reconnecting`);
    outage = true;
  });
  worker.on('completed', (job, summary) => {
    if (outage) log(`Redis at ${redactRedisUrl(checked.redis)}: reconnected`);
    outage = false;
    log(`${job.id}: ${summary.items} item${summary.items === 1 ? '' : 's'} in ${summary.seconds.toFixed(2)} s → ${summary.output}`);
  });
  worker.on('failed', (job, error) => {
    if (!job) return;
    const attempts = job.opts.attempts ?? 1;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= attempts;
    log(`${job.id}: attempt ${job.attemptsMade} of ${attempts} failed${final ? ' (final)' : ', will retry'}: ${error.message}`);
  });
  worker.on('stalled', (jobId) => log(`${jobId}: its worker stopped renewing the lock; back in the queue`));

  try {
    await worker.waitUntilReady();
  } catch (error) {
    await worker.close(true).catch(() => {});
    throw error;
  }
  return {
    name,
    concurrency,
    modelName: extraction.name,
    worker,
    async close() {
      await worker.close();
      if (ownsModel) await extraction.model.close?.();
    },
  };
}
