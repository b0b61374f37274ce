#!/usr/bin/env node
// The `conv1x1` command: argument parsing, exit codes and Ctrl-C; the work is in info.ts/extract.ts.
import { parseArgs } from 'node:util';

import { Conv1x1Error } from '../errors';
import { WeightsError } from '../io';
import { runExtract, type ExtractOptions, type StopSignal } from './extract';
import { runInfo } from './info';
import { InputError } from './inputs';
import { USAGE, UsageError } from './usage';

function positiveInteger(value: string | undefined, name: string, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new UsageError(`--${name} must be a positive integer but is '${value}'`);
  return number;
}

function parseExtract(args: string[]): ExtractOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      model: { type: 'string' },
      weights: { type: 'string' },
      input: { type: 'string', multiple: true },
      out: { type: 'string' },
      batch: { type: 'string' },
      threads: { type: 'string' },
      items: { type: 'string' },
      size: { type: 'string' },
    },
  });
  return {
    model: values.model,
    weights: values.weights,
    input: values.input ?? [],
    out: values.out,
    batch: positiveInteger(values.batch, 'batch', 32)!,
    threads: positiveInteger(values.threads, 'threads', undefined),
    items: positiveInteger(values.items, 'items', 256)!,
    size: positiveInteger(values.size, 'size', 56)!,
  };
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'info') {
    if (rest.length > 0) throw new UsageError(`info takes no arguments but received ${rest.join(' ')}`);
    runInfo();
    return 0;
  }
  if (command === 'extract') {
    const options = parseExtract(rest);
    // First Ctrl-C: finish the batch in flight, remove the partial output, exit 130. Second: at once.
    const signal: StopSignal = { stopped: false };
    process.on('SIGINT', () => {
      if (signal.stopped) {
        signal.abortOutput?.();
        process.exit(130);
      }
      signal.stopped = true;
      process.stderr.write('\nextract: stopping after the current batch (Ctrl-C again to quit now)\n');
    });
    const summary = await runExtract(options, signal);
    if (summary.interrupted) {
      process.stderr.write(`extract: interrupted after ${summary.items} inputs; no output written\n`);
      return 130;
    }
    console.log(
      `extract: ${summary.items} inputs in ${summary.seconds.toFixed(2)} s: ${summary.itemsPerSecond.toFixed(1)} inputs/s, ` +
        `${summary.gflops.toFixed(1)} GFLOP/s; features [${summary.outputShape.join(', ')}]` +
        (options.out ? ` written to ${options.out}` : ' (no --out: not written)') +
        `; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
    );
    return 0;
  }
  // bullmq and ioredis, optional packages, load only for the commands that use them.
  if (command === 'worker') return (requireScale('./worker') as typeof import('./worker')).runWorkerCommand(rest);
  if (command === 'submit') return (requireScale('./submit') as typeof import('./submit')).runSubmitCommand(rest);
  if (command === 'status') return (requireScale('./status') as typeof import('./status')).runStatusCommand(rest);
  throw new UsageError(`unknown command '${command}'`);
}

// A scale-out command's module, or a usage error that says how to install what it needs.
function requireScale(path: string): unknown {
  try {
    return require(path);
  } catch (error) {
    const missing = /Cannot find module '(bullmq|ioredis)'/.exec((error as Error).message);
    if ((error as { code?: string }).code !== 'MODULE_NOT_FOUND' || !missing) throw error;
    throw new UsageError(`the scale-out commands need the optional packages bullmq and ioredis ('${missing[1]}' is not installed): npm install bullmq ioredis`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const known = error instanceof UsageError || error instanceof InputError || error instanceof Conv1x1Error ||
      error instanceof WeightsError || (error as { code?: string })?.code?.startsWith('ERR_');
    if (error instanceof UsageError || (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`conv1x1: ${(error as Error).message}\n(run 'conv1x1 help' for usage)`);
      process.exitCode = 2;
      return;
    }
    console.error(known ? `conv1x1: ${(error as Error).message}` : error);
    process.exitCode = 1;
  },
);
