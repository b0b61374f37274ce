// What one job asks a worker to do: one shard of the input set, run through the model and written to
// one output file. Job ids and output names are derived from the shard itself, so submitting the same
// input set again names the same jobs (BullMQ then adds nothing) and the same files.
import { createHash } from 'node:crypto';
import * as path from 'node:path';

import { describe } from '../errors';
import { ScaleError, ScaleErrorCodes } from './scale-error';

export type OutputFormat = 'npy' | 'safetensors';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['npy', 'safetensors'];

/** The inputs of a shard: explicit .npy/.npz paths, or `count` files of a folder's sorted listing from `first`. */
export type ShardInputs = { files: string[] } | { folder: string; first: number; count: number };

export interface ShardJob {
  /** Layout of this record; a worker refuses versions it does not know. */
  version: 1;
  inputs: ShardInputs;
  /** The features file, .npy or .safetensors: [items, features], one row per input item in order. */
  output: string;
  /** Items per forward pass (default 1). */
  batch?: number;
}

/** What a completed job returns (BullMQ keeps it as the job's return value). */
export interface ShardSummary {
  output: string;
  items: number;
  features: number;
  /** Time the worker spent on the shard: reading, computing and writing. */
  seconds: number;
  /** sha256 of the output file's bytes, hex. */
  checksum: string;
  /** The worker that wrote it (its BullMQ name: host:pid by default). */
  worker: string;
}

// One item per forward pass: a layer's intermediates then stay in the core's own cache (on the default
// model, [32, 56, 56] inputs, single-threaded: 940 items/s at batch 1, 830–850 at batch 32, measured
// with `npm run demo -- --items 1024 --threads 1 --batch 1|32`).
export const DEFAULT_BATCH = 1;

function specError(message: string): ScaleError {
  return new ScaleError(`shard job: ${message}`, ScaleErrorCodes.JOB_SPEC);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function checkKeys(value: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw specError(`${where} has an unknown key '${key}' (known: ${allowed.join(', ')})`);
  }
}

function absolutePath(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw specError(`${where} must be a path but is ${describe(value)}`);
  // Workers may run anywhere: a relative path would be resolved against each worker's own directory.
  if (!path.isAbsolute(value)) throw specError(`${where} must be an absolute path but is ${JSON.stringify(value)}`);
  return value;
}

function nonNegativeInteger(value: unknown, where: string, minimum = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw specError(`${where} must be an integer ≥ ${minimum} but is ${describe(value)}`);
  }
  return value;
}

/** Checks job data fully (it comes from Redis, written by any client) and returns it typed. */
export function validateShardJob(data: unknown): ShardJob {
  if (!isObject(data)) throw specError(`the job data must be an object but is ${describe(data)}`);
  checkKeys(data, ['version', 'inputs', 'output', 'batch'], 'the job data');
  if (data.version !== 1) throw specError(`version must be 1 but is ${describe(data.version)}`);
  const inputs = data.inputs;
  if (!isObject(inputs)) throw specError(`inputs must be an object but is ${describe(inputs)}`);
  let checkedInputs: ShardInputs;
  if ('files' in inputs) {
    checkKeys(inputs, ['files'], 'inputs');
    if (!Array.isArray(inputs.files) || inputs.files.length === 0) {
      throw specError(`inputs.files must be a non-empty array of paths but is ${describe(inputs.files)}`);
    }
    checkedInputs = { files: inputs.files.map((file, i) => absolutePath(file, `inputs.files[${i}]`)) };
  } else if ('folder' in inputs) {
    checkKeys(inputs, ['folder', 'first', 'count'], 'inputs');
    checkedInputs = {
      folder: absolutePath(inputs.folder, 'inputs.folder'),
      first: nonNegativeInteger(inputs.first, 'inputs.first'),
      count: nonNegativeInteger(inputs.count, 'inputs.count', 1),
    };
  } else {
    throw specError('inputs must have either files or folder, first and count');
  }
  const output = absolutePath(data.output, 'output');
  if (!OUTPUT_FORMATS.some((format) => output.endsWith(`.${format}`))) {
    throw specError(`output must end in .npy or .safetensors but is ${JSON.stringify(output)}`);
  }
  const job: ShardJob = { version: 1, inputs: checkedInputs, output };
  if (data.batch !== undefined) job.batch = nonNegativeInteger(data.batch, 'batch', 1);
  return job;
}

/** `shard-00007-of-00200`: the shard's place in its set, for output names and job ids. */
export function shardLabel(index: number, count: number): string {
  const width = Math.max(5, String(count).length);
  return `shard-${String(index).padStart(width, '0')}-of-${String(count).padStart(width, '0')}`;
}

/**
 * The job id of a shard: its label plus a digest of what it reads and where it writes. The same
 * shard submitted again gets the same id; another input set or output folder gets another one.
 * (BullMQ ids may not contain ':'; these never do.)
 */
export function shardJobId(label: string, job: ShardJob): string {
  const digest = createHash('sha256').update(JSON.stringify([job.inputs, job.output])).digest('hex');
  return `${label}-${digest.slice(0, 16)}`;
}

export interface PlannedShard {
  id: string;
  job: ShardJob;
}

/**
 * Splits `files` (absolute, in order) into shards of `shardSize` files, each written to
 * `<outFolder>/<label>.<format>`.
 */
export function planShards(
  files: readonly string[],
  shardSize: number,
  outFolder: string,
  format: OutputFormat,
  batch?: number,
): PlannedShard[] {
  const count = Math.ceil(files.length / shardSize);
  const shards: PlannedShard[] = [];
  for (let index = 0; index < count; index++) {
    const label = shardLabel(index, count);
    const job: ShardJob = {
      version: 1,
      inputs: { files: files.slice(index * shardSize, (index + 1) * shardSize) },
      output: path.join(outFolder, `${label}.${format}`),
      ...(batch !== undefined ? { batch } : {}),
    };
    shards.push({ id: shardJobId(label, job), job });
  }
  return shards;
}
