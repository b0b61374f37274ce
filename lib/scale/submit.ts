// Splits an input set into shard jobs and adds them to the queue. Job ids come from the shards
// (job-spec.ts), so submitting the same set again adds nothing that is already queued, running or
// done; `retryFailed` puts failed shards back (after their input was fixed, say).
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';

import { InputError, listInputFiles } from '../cli/inputs';
import { describe, ErrorCodes, rangeError, typeError } from '../errors';
import { writeFileAtomic } from '../io/file-io';
import { OUTPUT_FORMATS, planShards, type OutputFormat, type ShardJob, type ShardSummary } from './job-spec';
import { readOptionsObject, readPositiveInteger, readQueueName } from './options';
import { openQueue } from './connect';
import { parseRedisUrl } from './redis-url';
import { ScaleError, ScaleErrorCodes } from './scale-error';

export interface SubmitOptions {
  redis: string;
  queue: string;
  /** .npy/.npz files or folders of them (folders are listed in name order). */
  input: string | string[];
  /** The output folder: one `shard-<i>-of-<n>.<format>` per shard, and manifest.json. */
  out: string;
  /** Input files per shard (per job). */
  shardSize: number;
  format?: OutputFormat;
  /** Items per forward pass in the worker (default 1). */
  batch?: number;
  /** Tries per job before it fails for good (default 3). */
  attempts?: number;
  /** First retry delay; doubles on each retry (default 1,000 ms). */
  backoffMs?: number;
  /** Failed jobs of this set are retried instead of left failed (default false). */
  retryFailed?: boolean;
}

export interface SubmitSummary {
  queue: string;
  files: number;
  shards: number;
  /** Jobs added now. */
  added: number;
  /** Jobs of this set that were already in the queue (waiting, running, done or failed). */
  existing: number;
  /** Failed jobs put back by retryFailed. */
  retried: number;
  jobIds: string[];
  /** Which input files each output holds, in row order. */
  manifest: string;
}

const OPTION_NAMES = ['redis', 'queue', 'input', 'out', 'shardSize', 'format', 'batch', 'attempts', 'backoffMs', 'retryFailed'];

function readInputs(value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((entry) => typeof entry === 'string' && entry !== '')) {
    throw typeError(ErrorCodes.INVALID_ARG_TYPE, `options.input must be a path or a non-empty array of paths but received ${describe(value)}`);
  }
  try {
    return listInputFiles(list).map((file) => path.resolve(file));
  } catch (error) {
    if (error instanceof InputError) throw new ScaleError(error.message, ScaleErrorCodes.INPUT, { cause: error });
    throw error;
  }
}

export async function submitJobs(options: SubmitOptions): Promise<SubmitSummary> {
  const checked = readOptionsObject<SubmitOptions>(options, OPTION_NAMES, 'options');
  parseRedisUrl(checked.redis, 'options.redis');  // checked before any file is listed or written
  const queueName = readQueueName(checked.queue, 'options.queue');
  if (typeof checked.out !== 'string' || checked.out === '') {
    throw typeError(ErrorCodes.INVALID_ARG_TYPE, `options.out must be a folder path but received ${describe(checked.out)}`);
  }
  const format = checked.format ?? 'npy';
  if (!OUTPUT_FORMATS.includes(format)) {
    throw rangeError(ErrorCodes.INVALID_ARG_VALUE, `options.format must be 'npy' or 'safetensors' but received ${describe(format)}`);
  }
  const shardSize = readPositiveInteger(checked.shardSize, 'options.shardSize');
  const attempts = readPositiveInteger(checked.attempts, 'options.attempts', 3);
  const backoffMs = readPositiveInteger(checked.backoffMs, 'options.backoffMs', 1_000);
  const batch = checked.batch === undefined ? undefined : readPositiveInteger(checked.batch, 'options.batch');
  if (checked.retryFailed !== undefined && typeof checked.retryFailed !== 'boolean') {
    throw typeError(ErrorCodes.INVALID_ARG_TYPE, `options.retryFailed must be a boolean but received ${describe(checked.retryFailed)}`);
  }
  const files = readInputs(checked.input);
  const outFolder = path.resolve(checked.out);
  const shards = planShards(files, shardSize, outFolder, format, batch);

  const queue = await openQueue<ShardJob, ShardSummary>(checked.redis, queueName, 'options.redis');
  try {
    const manifest = path.join(outFolder, 'manifest.json');
    mkdirSync(outFolder, { recursive: true });
    const manifestText = JSON.stringify({
      queue: queueName,
      shards: shards.map(({ id, job }) => ({ id, output: path.basename(job.output), files: (job.inputs as { files: string[] }).files })),
    }, null, 1);
    writeFileAtomic(manifest, [new TextEncoder().encode(`${manifestText}\n`)]);
    let added = 0, existing = 0, retried = 0;
    const CHUNK = 500;  // a chunk's lookups go out together rather than one after another
    for (let start = 0; start < shards.length; start += CHUNK) {
      const chunk = shards.slice(start, start + CHUNK);
      const found = await Promise.all(chunk.map(({ id }) => queue.getJob(id)));
      const missing = chunk.filter((_, i) => !found[i]);
      existing += chunk.length - missing.length;
      if (checked.retryFailed) {
        for (const job of found) {
          if (job && (await job.isFailed())) {
            await job.retry('failed');
            retried++;
          }
        }
      }
      // Two submitters racing still make one job per id: BullMQ ignores an add of an existing id.
      await queue.addBulk(missing.map(({ id, job }) => ({
        name: 'shard',
        data: job,
        opts: { jobId: id, attempts, backoff: { type: 'exponential', delay: backoffMs }, removeOnComplete: false, removeOnFail: false },
      })));
      added += missing.length;
    }
    return { queue: queueName, files: files.length, shards: shards.length, added, existing, retried, jobIds: shards.map((s) => s.id), manifest };
  } finally {
    await queue.close();
  }
}
