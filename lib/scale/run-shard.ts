// One shard, start to end, with no queue involved: read its inputs, run the model batch by batch,
// write the features atomically. The worker calls this for each job; a single process can call it
// for every shard to get the reference a distributed run must equal.
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';

import { ErrorCodes, rangeError } from '../errors';
import { InputError, listInputFiles, readBatches, scanInputs } from '../cli/inputs';
import type { Layer } from '../layers/layer';
import { EMBEDDED_SPEC, EMBEDDED_WEIGHTS } from '../model/embedded';
import { loadModel, readModelSpec } from '../model/model-spec';
import { allocateFloats } from '../tensor';
import { writeOutputAtomic, encodeFeatures } from './atomic-output';
import { DEFAULT_BATCH, type ShardInputs, type ShardJob, type ShardSummary } from './job-spec';
import { ScaleError, ScaleErrorCodes } from './scale-error';

export interface ExtractionModel {
  model: Layer;
  /** From the spec: inputs with other channels fail before any compute. */
  inputChannels: number | undefined;
  name: string;
}

/** A spec and its weights, or the embedded default model when neither is given. */
export function loadExtractionModel(specPath?: string, weightsPath?: string): ExtractionModel {
  if (Boolean(specPath) !== Boolean(weightsPath)) {
    throw rangeError(ErrorCodes.INVALID_ARG_VALUE, 'a model spec and its weights go together (or give neither for the embedded default model)');
  }
  const spec = readModelSpec(specPath ?? EMBEDDED_SPEC);
  return {
    model: loadModel(spec, weightsPath ?? EMBEDDED_WEIGHTS),
    inputChannels: spec.inputChannels,
    name: spec.name ?? specPath ?? EMBEDDED_SPEC,
  };
}

/** The shard's files: as listed, or its slice of the folder's sorted .npy/.npz listing. */
export function shardFiles(inputs: ShardInputs): string[] {
  if ('files' in inputs) return inputs.files;
  const listing = listInputFiles([inputs.folder]);
  if (inputs.first + inputs.count > listing.length) {
    throw new ScaleError(
      `${inputs.folder} holds ${listing.length} .npy/.npz files; the shard needs files ${inputs.first} to ` +
        `${inputs.first + inputs.count - 1} (did the folder change since the job was submitted?)`,
      ScaleErrorCodes.INPUT,
    );
  }
  return listing.slice(inputs.first, inputs.first + inputs.count);
}

/** Features per item; every item shape of the shard must give one vector of the same width. */
function featureWidth(model: Layer, itemShapes: readonly number[][]): number {
  let width: number | undefined;
  for (const shape of itemShapes) {
    let output: number[];
    try {
      output = model.outputShape([1, ...shape]);
    } catch (cause) {
      throw new ScaleError(`inputs of shape [${shape.join(', ')}]: ${(cause as Error).message}`, ScaleErrorCodes.INPUT, { cause });
    }
    if (output.length !== 2) {
      throw new ScaleError(`the model turns an input [${shape.join(', ')}] into [${output.slice(1).join(', ')}]; ` +
        'a shard needs one feature vector per input', ScaleErrorCodes.INPUT);
    }
    if (width !== undefined && output[1] !== width) {
      throw new ScaleError(`inputs of shape [${shape.join(', ')}] give ${output[1]} features but others give ${width}`, ScaleErrorCodes.INPUT);
    }
    width = output[1];
  }
  return width ?? 0;
}

export interface RunShardOptions {
  /** Named in the summary; default host:pid. */
  worker?: string;
  /**
   * Run the model with the sync forward, on this thread, without forwardAsync's one thread hop per
   * call. Only a process that does nothing else meanwhile should use it.
   */
  syncForward?: boolean;
  /** After each batch: items done so far of the shard's total. */
  onProgress?: (done: number, total: number) => void;
}

export async function runShard(extraction: ExtractionModel, job: ShardJob, options: RunShardOptions = {}): Promise<ShardSummary> {
  const started = performance.now();
  let arrays;
  try {
    arrays = scanInputs(shardFiles(job.inputs), extraction.inputChannels);
  } catch (error) {
    // A file that names no array of the right shape: the message already names the file.
    if (error instanceof InputError) throw new ScaleError(error.message, ScaleErrorCodes.INPUT, { cause: error });
    throw error;
  }
  const total = arrays.reduce((sum, array) => sum + array.items, 0);
  const features = featureWidth(extraction.model, arrays.map((array) => array.itemShape));
  const rows = allocateFloats(total * features);
  let done = 0;
  for (const batch of readBatches(arrays, job.batch ?? DEFAULT_BATCH)) {
    const y = options.syncForward ? extraction.model.forward(batch) : await extraction.model.forwardAsync(batch);
    rows.set(y.data, done * features);
    done += batch.shape[0];
    options.onProgress?.(done, total);
  }
  const checksum = writeOutputAtomic(job.output, encodeFeatures(job.output, { data: rows, shape: [total, features] }));
  return {
    output: job.output,
    items: total,
    features,
    seconds: (performance.now() - started) / 1000,
    checksum,
    worker: options.worker ?? `${hostname()}:${process.pid}`,
  };
}
