// The command line's help text and its usage errors (exit code 2).
export const USAGE = `Usage: conv1x1 <command> [options]

Commands:
  info                       version, backend, BLAS library and version, SIMD level, threads
  extract                    run a model over inputs and write one feature row per input
  worker                     take shard jobs from a Redis queue and run the model on them (scale-out)
  submit                     split an input set into shard jobs on a Redis queue
  status                     a queue's progress: jobs by state, workers, items/s, failures
  help                       this text

extract options:
  --model <spec.json>        model spec (with --weights); default: the embedded MobileNetV2-style head
  --weights <file>           .safetensors, .npz or .npy holding the tensors the spec names
  --input <path>             a .npy/.npz file or a folder of them; repeatable. Each array is one input
                             [C, H, W] or a batch [N, C, H, W]. Default: a generated batch (the demo)
  --out <file>               .npy or .safetensors; written at the end, never left half-written
  --batch <n>                inputs per forward pass (default 32)
  --threads <n>              threads per call (default: all cores)
  --items <n>                how many generated inputs when there is no --input (default 256)
  --size <n>                 height and width of generated inputs (default 56)

worker options:
  --redis <url>              redis://host:port[/db] (rediss:// for TLS)
  --queue <name>             the queue to take jobs from
  --concurrency <n>          jobs at once (default 1; at most the cores)
  --threads <n>              threads per call (default: cores / concurrency)
  --model, --weights         as for extract; the model is loaded once
  --name <name>              the worker's name in job records and logs (default host:pid)
  --lock-duration <ms>       a job whose worker is silent this long is taken back (default 30000)
  --stalled-interval <ms>    how often to look for such jobs (default 30000)

submit options:
  --redis <url>, --queue <name>
  --input <path>             a folder or .npy/.npz file; repeatable. Paths must be the same on every worker
  --out <folder>             one shard-<i>-of-<n>.<format> per job, plus manifest.json
  --shard-size <k>           input files per job
  --format <npy|safetensors> output format (default npy)
  --batch <n>                inputs per forward pass in the worker (default 1)
  --attempts <n>             tries per job before it fails (default 3)
  --backoff <ms>             first retry delay, doubled each time (default 1000)
  --retry-failed             put failed jobs of this input set back in the queue

status options:
  --redis <url>, --queue <name>
  --wait                     redraw until no job is waiting or running; exit 1 if any failed
  --interval <ms>            poll interval with --wait (default 1000)

Exit codes: 0 done, 1 failed (unreadable input, shape mismatch, bad model), 2 bad arguments,
130 interrupted (Ctrl-C; no output file is left behind).`;

/** Bad command-line arguments: reported with a pointer to `conv1x1 help`, exit code 2. */
export class UsageError extends Error {}
