// `conv1x1 extract`: runs a model over every input, in batches, and writes one feature row per input.
// Memory holds one batch of inputs and the model's buffers; .npy output streams to disk as it goes.
import * as path from 'node:path';

import { backend, setThreads } from '../backend';
import { createNpyWriter, saveSafetensors, type NpyWriter } from '../io';
import type { Sequential } from '../layers/sequential';
import { EMBEDDED_SPEC, EMBEDDED_WEIGHTS } from '../model/embedded';
import { loadModel, readModelSpec, type ModelSpec } from '../model/model-spec';
import { allocateFloats } from '../tensor';
import { generatedBatches, InputError, listInputFiles, readBatches, scanInputs, type Batch } from './inputs';
import { Progress } from './progress';
import { UsageError } from './usage';

export interface ExtractOptions {
  model?: string;
  weights?: string;
  input: string[];
  out?: string;
  batch: number;
  threads?: number;
  items: number;
  size: number;
}

/** Where features go: streamed .npy, or .safetensors written whole at the end. */
interface FeatureSink {
  append(rows: Float32Array): void;
  close(): void;
  abort(): void;
}

function openSink(out: string | undefined, rows: number, features: number): FeatureSink {
  if (!out) return { append() {}, close() {}, abort() {} };
  const extension = path.extname(out).toLowerCase();
  if (extension === '.npy') {
    const writer: NpyWriter = createNpyWriter(out, [rows, features]);
    return writer;
  }
  if (extension === '.safetensors') {
    const all = allocateFloats(rows * features);
    let filled = 0;
    return {
      append(data) {
        all.set(data, filled);
        filled += data.length;
      },
      close() {
        saveSafetensors(out, { features: { data: all, shape: [rows, features] } }, { producer: 'conv1x1 extract' });
      },
      abort() {},
    };
  }
  throw new UsageError(`--out ${out}: the file name must end in .npy or .safetensors`);
}

/**
 * The features per input, the same for every input shape present (checked before any work, so that a
 * run never fails at its end): the model must give one vector per input.
 */
function featureWidth(model: Sequential, itemShapes: readonly number[][]): number {
  let width: number | null = null;
  for (const shape of new Map(itemShapes.map((s) => [s.join('×'), s])).values()) {
    let output: number[];
    try {
      output = model.outputShape([1, ...shape]);
    } catch (error) {
      throw new InputError(`inputs of shape [${shape.join(', ')}]: ${(error as Error).message}`);
    }
    if (output.length !== 2) {
      throw new InputError(
        `the model turns an input [${shape.join(', ')}] into [${output.slice(1).join(', ')}]; extract needs one ` +
          'feature vector per input (end the model with globalAvgPool, or flatten for fixed-size inputs)',
      );
    }
    if (width !== null && output[1] !== width) {
      throw new InputError(`inputs of shape [${shape.join(', ')}] give ${output[1]} features but others give ${width}; ` +
        'one output file needs one feature width');
    }
    width = output[1];
  }
  return width ?? 0;
}

export interface ExtractSummary {
  items: number;
  seconds: number;
  itemsPerSecond: number;
  gflops: number;
  outputShape: number[];
  interrupted: boolean;
}

/** Set by Ctrl-C; `abortOutput` removes the partial output when the process must end at once. */
export interface StopSignal {
  stopped: boolean;
  abortOutput?: () => void;
}

export async function runExtract(options: ExtractOptions, signal: StopSignal): Promise<ExtractSummary> {
  if (Boolean(options.model) !== Boolean(options.weights)) {
    throw new UsageError('--model and --weights go together (or give neither for the embedded default model)');
  }
  if (options.threads !== undefined) setThreads(options.threads);
  const specPath = options.model ?? EMBEDDED_SPEC;
  const spec: ModelSpec = readModelSpec(specPath);
  const model: Sequential = loadModel(spec, options.weights ?? EMBEDDED_WEIGHTS);
  const channels = spec.inputChannels;

  let total: number;
  let batches: Iterable<Batch>;
  let itemShapes: number[][];
  if (options.input.length > 0) {
    const arrays = scanInputs(listInputFiles(options.input), channels);
    total = arrays.reduce((sum, array) => sum + array.items, 0);
    batches = readBatches(arrays, options.batch);
    itemShapes = arrays.map((array) => array.itemShape);
  } else {
    if (channels === undefined) throw new UsageError('--input is needed: the model spec does not say its inputChannels');
    total = options.items;
    batches = generatedBatches(options.items, channels, options.size, options.batch);
    itemShapes = [[channels, options.size, options.size]];
  }
  const features = featureWidth(model, itemShapes);

  const info = backend();
  const source = options.input.length > 0 ? `${total} inputs from ${options.input.join(', ')}` : `${total} generated inputs [${itemShapes[0].join(', ')}]`;
  process.stderr.write(`extract: ${spec.name ?? specPath} on ${source}, batch ${options.batch}, backend ${info.name}, ${info.threads} thread(s)\n`);

  const sink = openSink(options.out, total, features);
  signal.abortOutput = () => sink.abort();
  const progress = new Progress({ total, label: 'extract' });
  let done = 0;
  let flops = 0;
  try {
    // The next batch is read while the model's first layer runs on a worker thread (the later layers
    // need this thread between them, so the overlap is partial).
    const iterator = batches[Symbol.iterator]();
    for (let next = iterator.next(); !next.done && !signal.stopped; ) {
      const batch = next.value;
      const pending = model.forwardAsync(batch);  // takes its snapshot of the batch right away
      next = iterator.next();
      const y = await pending;
      sink.append(y.data);
      flops += model.flops(batch.shape);
      done += batch.shape[0];
      progress.advance(batch.shape[0]);
    }
    progress.finish();
    if (signal.stopped) {
      sink.abort();
    } else {
      sink.close();
    }
  } catch (error) {
    progress.finish();
    sink.abort();
    throw error;
  }
  const seconds = progress.elapsedSeconds;
  return {
    items: done,
    seconds,
    itemsPerSecond: seconds > 0 ? done / seconds : 0,
    gflops: seconds > 0 ? flops / seconds / 1e9 : 0,
    outputShape: [done, features],
    interrupted: signal.stopped,
  };
}
