// `conv1x1 submit`: splits an input set into shard jobs on a queue; running it again adds nothing new.
import { parseArgs } from 'node:util';

import { OUTPUT_FORMATS, type OutputFormat } from '../scale/job-spec';
import { submitJobs } from '../scale/submit';
import { optionalPositiveInteger, REDIS_OPTIONS, requiredOption } from './scale-args';
import { UsageError } from './usage';

export async function runSubmitCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      ...REDIS_OPTIONS,
      input: { type: 'string', multiple: true },
      out: { type: 'string' },
      'shard-size': { type: 'string' },
      format: { type: 'string' },
      batch: { type: 'string' },
      attempts: { type: 'string' },
      backoff: { type: 'string' },
      'retry-failed': { type: 'boolean' },
    },
  });
  if (!values.input || values.input.length === 0) throw new UsageError('submit needs --input (a folder or .npy/.npz files)');
  const format = values.format ?? 'npy';
  if (!OUTPUT_FORMATS.includes(format as OutputFormat)) {
    throw new UsageError(`--format must be ${OUTPUT_FORMATS.join(' or ')} but is '${format}'`);
  }
  const shardSize = optionalPositiveInteger(values['shard-size'], 'shard-size');
  if (shardSize === undefined) throw new UsageError('submit needs --shard-size (input files per job)');
  const summary = await submitJobs({
    redis: requiredOption(values.redis, 'redis', 'submit'),
    queue: requiredOption(values.queue, 'queue', 'submit'),
    input: values.input,
    out: requiredOption(values.out, 'out', 'submit'),
    shardSize,
    format: format as OutputFormat,
    batch: optionalPositiveInteger(values.batch, 'batch'),
    attempts: optionalPositiveInteger(values.attempts, 'attempts'),
    backoffMs: optionalPositiveInteger(values.backoff, 'backoff'),
    retryFailed: values['retry-failed'] ?? false,
  });
  console.log(
    `submit: ${summary.files} files in ${summary.shards} shards of up to ${shardSize} to queue ${summary.queue}: ` +
      `${summary.added} added, ${summary.existing} already there` +
      (values['retry-failed'] ? `, ${summary.retried} failed ones retried` : '') +
      `; manifest ${summary.manifest}`,
  );
  return 0;
}
