// Failures of weight files, each with a stable `code`. Wrong kinds of arguments to the readers and
// writers are still TypeErrors and bad values RangeErrors (lib/errors.ts); what is wrong with a file's
// content, or with a tensor looked up in it, is a WeightsError.

export const WeightsErrorCodes = {
  /** The file ends before a length, header, member or tensor it declares. */
  TRUNCATED: 'ERR_WEIGHTS_TRUNCATED',
  /** Bad magic, version or length field; header not UTF-8, not JSON, not a valid dict literal. */
  HEADER: 'ERR_WEIGHTS_HEADER',
  /** Data offsets out of range, overlapping, with holes, not from 0, end < begin, trailing bytes. */
  OFFSETS: 'ERR_WEIGHTS_OFFSETS',
  /** A dtype that is not supported (integers, bools, complex, object arrays, which are pickles). */
  DTYPE: 'ERR_WEIGHTS_DTYPE',
  /** Shape × itemsize ≠ the bytes there are, or sizes that overflow. */
  SIZE: 'ERR_WEIGHTS_SIZE',
  /** Two tensors with the same name. */
  DUPLICATE: 'ERR_WEIGHTS_DUPLICATE',
  /** A header above its cap, too many zip members, or more inflated bytes than allowed. */
  LIMIT: 'ERR_WEIGHTS_LIMIT',
  /** Content that is none of safetensors, .npy or .npz (or uses a variant we refuse, like zip64). */
  FORMAT: 'ERR_WEIGHTS_FORMAT',
  /** A tensor name that is not in the store; the message lists the closest names. */
  MISSING: 'ERR_WEIGHTS_MISSING',
  /** A tensor whose shape is not the one the caller expected. */
  SHAPE: 'ERR_WEIGHTS_SHAPE',
  /** A zip member whose CRC-32 does not match its content. */
  CHECKSUM: 'ERR_WEIGHTS_CHECKSUM',
  /** The file could not be read (missing, unreadable, a directory); the OS error is the `cause`. */
  READ: 'ERR_WEIGHTS_READ',
  /** The file could not be written, or a writer was used after close/abort. */
  WRITE: 'ERR_WEIGHTS_WRITE',
} as const;

export type WeightsErrorCode = (typeof WeightsErrorCodes)[keyof typeof WeightsErrorCodes];

/** How a file is named in messages when the caller gave bytes rather than a path. */
export const BYTES_SOURCE = '<bytes>';

export interface WeightsErrorDetails {
  /** The file (path or label); omitted for in-memory bytes. */
  file?: string;
  /** The tensor (or zip member) the failure is about. */
  tensor?: string;
  cause?: unknown;
}

export class WeightsError extends Error {
  readonly code: WeightsErrorCode;
  readonly file?: string;
  readonly tensor?: string;

  constructor(message: string, code: WeightsErrorCode, details: WeightsErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'WeightsError';
    this.code = code;
    if (details.file !== undefined) this.file = details.file;
    if (details.tensor !== undefined) this.tensor = details.tensor;
  }
}

/** Where in a file a reader is: the file's label and, once known, the tensor being read. */
export interface ReadContext {
  readonly source: string;
  readonly tensor?: string;
}

/** `model.safetensors: tensor "conv.weight": <detail>`, with `file` and `tensor` set on the error. */
export function weightsError(
  code: WeightsErrorCode,
  context: ReadContext,
  detail: string,
  cause?: unknown,
): WeightsError {
  const where = context.tensor === undefined ? '' : `tensor ${quoteName(context.tensor)}: `;
  return new WeightsError(`${context.source}: ${where}${detail}`, code, {
    file: context.source === BYTES_SOURCE ? undefined : context.source,
    tensor: context.tensor,
    cause,
  });
}

/** Names come from files: quoted and shortened so that control characters or megabytes stay out of logs. */
export function quoteName(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
}
