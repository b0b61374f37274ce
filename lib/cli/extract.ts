// `conv1x1 extract`: runs a model over every input, in batches, and writes one feature row per input.
// Memory holds one batch of inputs and the model's buffers; .npy output streams to disk as it goes.
import * as path from 'node:path';

import { backend, setThreads } from '../backend';
import { createNpyWriter, saveSafetensors, type NpyWriter } from '../io';
import type { Sequential } from '../layers/sequential';
import { EMBEDDED_SPEC, EMBEDDED_WEIGHTS } from '../model/embedded';
import { loadModel, readModelSpec, type ModelSpec } from '../model/model-spec';
import { allocateFloats } from '../tensor';
import { generatedBatches, listInputFiles, readBatches, scanInputs, type Batch } from './inputs';
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

export interface ExtractSummary {
  items: number;
  seconds: number;
  itemsPerSecond: number;
  gflops: number;
  outputShape: number[];
  interrupted: boolean;
}

export async function runExtract(options: ExtractOptions, signal: { stopped: boolean }): Promise<ExtractSummary> {
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
  let sampleShape: number[];
  if (options.input.length > 0) {
    const arrays = scanInputs(listInputFiles(options.input), channels);
    total = arrays.reduce((sum, array) => sum + array.items, 0);
    batches = readBatches(arrays, options.batch);
    sampleShape = arrays.length > 0 ? arrays[0].itemShape : [channels ?? 0, 0, 0];
  } else {
    if (channels === undefined) throw new UsageError('--input is needed: the model spec does not say its inputChannels');
    total = options.items;
    batches = generatedBatches(options.items, channels, options.size, options.batch);
    sampleShape = [channels, options.size, options.size];
  }
  const featureShape = model.outputShape([1, ...sampleShape]);
  if (featureShape.length !== 2) {
    throw new UsageError(`the model turns one input into [${featureShape.slice(1).join(', ')}]; extract needs one feature vector per input (end the model with globalAvgPool or flatten)`);
  }
  const features = featureShape[1];

  const info = backend();
  const source = options.input.length > 0 ? `${total} inputs from ${options.input.join(', ')}` : `${total} generated inputs [${sampleShape.join(', ')}]`;
  process.stderr.write(`extract: ${spec.name ?? specPath} on ${source}, batch ${options.batch}, backend ${info.name}, ${info.threads} thread(s)\n`);

  const sink = openSink(options.out, total, features);
  const progress = new Progress({ total, label: 'extract' });
  let done = 0;
  let flops = 0;
  try {
    // While a batch computes on worker threads, the next one is read: file I/O overlaps compute.
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
