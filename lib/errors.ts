// Every error the library throws carries a stable `code`. Wrong kinds are TypeErrors, bad values are
// RangeErrors, and shape and backend failures are Conv1x1Errors.

export const ErrorCodes = {
  /** An argument or option of the wrong kind (TypeError). */
  INVALID_ARG_TYPE: 'ERR_INVALID_ARG_TYPE',
  /** An option name that does not exist, e.g. `group` or `Stride` (TypeError). */
  UNKNOWN_OPTION: 'ERR_UNKNOWN_OPTION',
  /** A Float32Array whose ArrayBuffer was transferred or detached (TypeError). */
  BUFFER_DETACHED: 'ERR_BUFFER_DETACHED',
  /** A number outside its allowed range: negative or non-integer sizes, stride 0, … (RangeError). */
  OUT_OF_RANGE: 'ERR_OUT_OF_RANGE',
  /** A value that is not one of the allowed ones: unknown activation or layout (RangeError). */
  INVALID_ARG_VALUE: 'ERR_INVALID_ARG_VALUE',
  /** Sizes whose product overflows or exceeds what a Float32Array can hold (RangeError). */
  TOO_LARGE: 'ERR_TOO_LARGE',
  /** Shapes that do not fit together: rank, data length, channels, groups, bias, out (Conv1x1Error). */
  SHAPE_MISMATCH: 'ERR_SHAPE_MISMATCH',
  /** `out` shares memory with the input, weight or bias (Conv1x1Error). */
  OVERLAP: 'ERR_OVERLAP',
  /** CONV1X1_BLAS named a library that could not be used (Conv1x1Error). */
  BLAS_LOAD: 'ERR_BLAS_LOAD',
  /** A model spec that is not valid JSON, has unknown layer types or keys, or misses fields (Conv1x1Error). */
  MODEL_SPEC: 'ERR_MODEL_SPEC',
  /** The native addon could not be loaded (Conv1x1Error). */
  NATIVE_LOAD: 'ERR_NATIVE_LOAD',
  /** Scratch or output memory could not be allocated (Conv1x1Error). */
  OUT_OF_MEMORY: 'ERR_OUT_OF_MEMORY',
  /** Too many async calls in flight (see setQueueLimits); retry when some have settled (Conv1x1Error). */
  QUEUE_FULL: 'ERR_QUEUE_FULL',
  /** A layer used after close() (Conv1x1Error). */
  CLOSED: 'ERR_CLOSED',
  /** A native failure that should never happen; please report it (Conv1x1Error). */
  INTERNAL: 'ERR_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

const knownCodes = new Set<string>(Object.values(ErrorCodes));

/** Shape and backend failures. */
export class Conv1x1Error extends Error {
  readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'Conv1x1Error';
    this.code = code;
  }
}

export interface CodedTypeError extends TypeError {
  code: ErrorCode;
}
export interface CodedRangeError extends RangeError {
  code: ErrorCode;
}

export function typeError(code: ErrorCode, message: string): CodedTypeError {
  const error = new TypeError(message) as CodedTypeError;
  error.code = code;
  return error;
}

export function rangeError(code: ErrorCode, message: string): CodedRangeError {
  const error = new RangeError(message) as CodedRangeError;
  error.code = code;
  return error;
}

export function shapeError(message: string): Conv1x1Error {
  return new Conv1x1Error(message, ErrorCodes.SHAPE_MISMATCH);
}

/**
 * The native addon throws TypeError/RangeError with our codes, and plain Errors for domain failures;
 * the latter become Conv1x1Error so that every failure has one of the documented classes.
 */
export function toPublicError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof TypeError || error instanceof RangeError) {
    return error;
  }
  if (error instanceof Conv1x1Error) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && knownCodes.has(code)) {
    const wrapped = new Conv1x1Error(error.message, code as ErrorCode);
    wrapped.stack = error.stack?.replace(/^Error/, 'Conv1x1Error');
    return wrapped;
  }
  return error;
}

/** "-1 of type number", "Float64Array(12)", "null": how the received value is named in messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value) + ' of type string';
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${String(value)} of type ${typeof value}`;
  }
  if (typeof value === 'function') return 'a function';
  if (ArrayBuffer.isView(value)) {
    const length = (value as unknown as { length?: number }).length ?? value.byteLength;
    return `${value.constructor.name}(${length})`;
  }
  if (Array.isArray(value)) return `an Array of length ${value.length}`;
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `an instance of ${name}` : 'an object';
}
