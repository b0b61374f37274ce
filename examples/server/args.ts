// Command-line options of the service; a bad value is a UsageError (exit code 2), never a default
// silently taken in its place.
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ServerArgs {
  port: number;
  host: string;
  model?: string;
  weights?: string;
  maxBodyBytes: number;
  maxInFlight: number;
  modelConcurrency?: number;
  threads?: number;
}

export const USAGE = `usage: npm run serve -- [options]
  --port N             TCP port (default 8080; 0 picks a free one)
  --host ADDR          address to listen on (default 127.0.0.1)
  --model SPEC.json    model spec, with --weights (default: the embedded feature head)
  --weights FILE       safetensors / .npz / .npy weights for --model
  --max-body-bytes N   largest request body (default 67108864: 64 MiB)
  --max-in-flight N    feature requests read and computed at once; more get 429 (default 16)
  --model-concurrency N  model calls at once; more wait in arrival order (default: the calls the
                       library runs at once, floor(cores / threads))
  --threads N          threads per convolution call (default: the cores)`;

function integer(value: string | undefined, name: string, fallback: number | undefined, min: number): number | undefined {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < min) {
    throw new UsageError(`--${name} must be an integer of at least ${min} but is '${value}'`);
  }
  return number;
}

export function parseServerArgs(argv: string[]): ServerArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      model: { type: 'string' },
      weights: { type: 'string' },
      'max-body-bytes': { type: 'string' },
      'max-in-flight': { type: 'string' },
      'model-concurrency': { type: 'string' },
      threads: { type: 'string' },
    },
  });
  if (Boolean(values.model) !== Boolean(values.weights)) {
    throw new UsageError('--model and --weights go together (or give neither for the embedded default model)');
  }
  const port = integer(values.port, 'port', 8080, 0)!;
  if (port > 65535) throw new UsageError(`--port must be at most 65535 but is '${values.port}'`);
  return {
    port,
    host: values.host ?? '127.0.0.1',
    model: values.model,
    weights: values.weights,
    maxBodyBytes: integer(values['max-body-bytes'], 'max-body-bytes', 64 * 1024 * 1024, 1)!,
    maxInFlight: integer(values['max-in-flight'], 'max-in-flight', 16, 1)!,
    modelConcurrency: integer(values['model-concurrency'], 'model-concurrency', undefined, 1),
    threads: integer(values.threads, 'threads', undefined, 1),
  };
}
