// `conv1x1 worker`: takes shard jobs from a queue until stopped. SIGINT/SIGTERM finish the jobs in
// hand and exit 0; a second signal exits at once (the jobs go back to the queue after the lock expires).
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';

import { backend } from '../backend';
import { createWorker } from '../scale/worker';
import { optionalPositiveInteger, REDIS_OPTIONS, requiredOption } from './scale-args';
import { UsageError } from './usage';

export async function runWorkerCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      ...REDIS_OPTIONS,
      concurrency: { type: 'string' },
      threads: { type: 'string' },
      model: { type: 'string' },
      weights: { type: 'string' },
      name: { type: 'string' },
      'lock-duration': { type: 'string' },
      'stalled-interval': { type: 'string' },
    },
  });
  if (Boolean(values.model) !== Boolean(values.weights)) {
    throw new UsageError('--model and --weights go together (or give neither for the embedded default model)');
  }
  const concurrency = optionalPositiveInteger(values.concurrency, 'concurrency') ?? 1;
  const cores = backend().cores;
  if (concurrency > cores) {
    throw new UsageError(`--concurrency must be at most ${cores} (the cores of this machine) but is ${concurrency}`);
  }
  // By default the jobs at once share the cores: one call per job, each with an equal part of them.
  const threads = optionalPositiveInteger(values.threads, 'threads') ?? Math.max(1, Math.floor(cores / concurrency));
  const name = values.name ?? `${hostname()}:${process.pid}`;
  const log = (line: string) => process.stderr.write(`worker ${name}: ${line}\n`);
  const worker = await createWorker({
    redis: requiredOption(values.redis, 'redis', 'worker'),
    queue: requiredOption(values.queue, 'queue', 'worker'),
    concurrency,
    threads,
    model: values.model,
    weights: values.weights,
    name,
    // A worker process does nothing else: with one job at a time, the sync forward needs no thread hop.
    syncForward: concurrency === 1,
    lockDurationMs: optionalPositiveInteger(values['lock-duration'], 'lock-duration'),
    stalledIntervalMs: optionalPositiveInteger(values['stalled-interval'], 'stalled-interval'),
    log,
  });
  log(`taking jobs from queue ${values.queue}: ${worker.modelName}, ${worker.concurrency} job(s) at once, ` +
    `${backend().threads} thread(s) per call, backend ${backend().name}`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log(`${signal} again: exiting now`);
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      stopping = true;
      log(`${signal}: finishing the jobs in hand, then exiting (${signal} again to exit now)`);
      worker.close().then(
        () => resolve(0),
        (error: unknown) => {
          log(`closing failed: ${(error as Error).message}`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
