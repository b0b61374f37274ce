// The floor of raw BLAS, measured with no Node in the timed loop: builds bench/blas-floor.c with `cc`,
// runs it with --json, and returns one result per shape:
//   { m, n, k, threads, median_ms, p10_ms, p90_ms, gflops }
import { execFile } from 'node:child_process';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const root = fileURLToPath(new URL('..', import.meta.url));
const source = path.join(root, 'bench', 'blas-floor.c');
const buildDir = path.join(root, 'build-bench');
const binary = path.join(buildDir, 'blas-floor');
const INT_MAX = 2 ** 31 - 1; // cblas_sgemm takes int sizes

function codedError(ErrorClass, message, code, cause) {
  const error = new ErrorClass(message, cause === undefined ? undefined : { cause });
  error.code = code;
  return error;
}

function describe(value) {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return `${shown} of type ${value === null ? 'null' : typeof value}`;
}

function expectInteger(name, value, min) {
  const expected = min === 0 ? 'non-negative integer' : 'positive integer';
  if (typeof value !== 'number') {
    throw codedError(TypeError, `Expected ${expected} for ${name} but received ${describe(value)}`,
      'ERR_INVALID_ARG_TYPE');
  }
  if (!Number.isInteger(value) || value < min || value > INT_MAX) {
    throw codedError(RangeError, `Expected ${expected} for ${name} but received ${describe(value)}`,
      'ERR_OUT_OF_RANGE');
  }
}

function expectShapes(shapes) {
  if (!Array.isArray(shapes)) {
    throw codedError(TypeError, `Expected array of [M, N, K] for shapes but received ${describe(shapes)}`,
      'ERR_INVALID_ARG_TYPE');
  }
  shapes.forEach((shape, i) => {
    if (!Array.isArray(shape)) {
      throw codedError(TypeError, `Expected [M, N, K] for shapes[${i}] but received ${describe(shape)}`,
        'ERR_INVALID_ARG_TYPE');
    }
    if (shape.length !== 3) {
      throw codedError(RangeError,
        `Expected [M, N, K] for shapes[${i}] but received an array of length ${shape.length}`,
        'ERR_OUT_OF_RANGE');
    }
    shape.forEach((size, j) => expectInteger(`shapes[${i}][${j}]`, size, 1));
  });
}

async function mtimeMs(file) {
  try {
    return (await stat(file)).mtimeMs;
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
}

// Reuses build-bench/blas-floor while it is newer than the source; builds to a temporary name and renames,
// so a concurrent run never executes a half-written binary.
async function ensureBinary() {
  const sourceTime = await mtimeMs(source);
  if (sourceTime === undefined) {
    throw codedError(Error, `blas-floor: source ${source} is missing`, 'ERR_BLAS_FLOOR_SOURCE');
  }
  const binaryTime = await mtimeMs(binary);
  if (binaryTime !== undefined && binaryTime > sourceTime) return binary;

  await mkdir(buildDir, { recursive: true });
  const temporary = `${binary}.${process.pid}.tmp`;
  try {
    await execFileAsync('cc', ['-O2', '-Wall', '-Wextra', source, '-o', temporary, '-ldl']);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    if (error.code === 'ENOENT') {
      throw codedError(Error,
        'blas-floor: no C compiler: `cc` was not found on PATH; install one (e.g. apt-get install gcc)',
        'ERR_BLAS_FLOOR_NO_COMPILER', error);
    }
    throw codedError(Error, `blas-floor: cc failed to compile ${source}:\n${error.stderr ?? error.message}`,
      'ERR_BLAS_FLOOR_COMPILE', error);
  }
  await rename(temporary, binary);
  return binary;
}

/**
 * Times cblas_sgemm for C[M×N] = A[M×K]·B[K×N] (row-major, β = 0), the GEMM of an NCHW 1×1 conv.
 * shapes: [[M, N, K], ...] (default: ResNet-50 56×56 64→256); threads: passed to openblas_set_num_threads
 * (default: the library's own); reps: timed calls per shape (default 200); warmup: untimed calls first
 * (default 20); library: CBLAS to dlopen (default libopenblas.so.0).
 */
export async function blasFloor({ shapes, threads, reps = 200, warmup, library } = {}) {
  const args = ['--json'];
  if (shapes !== undefined) expectShapes(shapes);
  expectInteger('reps', reps, 1);
  args.push('--reps', String(reps));
  if (threads !== undefined) {
    expectInteger('threads', threads, 1);
    args.push('--threads', String(threads));
  }
  if (warmup !== undefined) {
    expectInteger('warmup', warmup, 0);
    args.push('--warmup', String(warmup));
  }
  if (library !== undefined) {
    if (typeof library !== 'string' || library === '') {
      throw codedError(TypeError, `Expected non-empty string for library but received ${describe(library)}`,
        'ERR_INVALID_ARG_TYPE');
    }
    args.push('--lib', library);
  }
  for (const shape of shapes ?? []) args.push(...shape.map(String));

  const program = await ensureBinary();
  let stdout;
  try {
    ({ stdout } = await execFileAsync(program, args, { maxBuffer: 16 << 20 }));
  } catch (error) {
    const how = error.signal ? `was killed by ${error.signal}` : `exited with status ${error.code}`;
    throw codedError(Error, `blas-floor ${how}: ${(error.stderr ?? error.message).trim()}`,
      'ERR_BLAS_FLOOR_FAILED', error);
  }
  return stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line));
}
