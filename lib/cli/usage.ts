// The command line's help text and its usage errors (exit code 2).
export const USAGE = `Usage: conv1x1 <command> [options]

Commands:
  info                       version, backend, BLAS library and version, SIMD level, threads
  extract                    run a model over inputs and write one feature row per input
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

Exit codes: 0 done, 1 failed (unreadable input, shape mismatch, bad model), 2 bad arguments,
130 interrupted (Ctrl-C; no output file is left behind).`;

/** Bad command-line arguments: reported with a pointer to `conv1x1 help`, exit code 2. */
export class UsageError extends Error {}
