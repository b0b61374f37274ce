// Failures of scale-out extraction that are neither a wrong argument (TypeError/RangeError) nor a
// weights-file problem (WeightsError): each has a stable `code`.
export const ScaleErrorCodes = {
  /** Job data that is not a shard job this worker understands (never retried: it cannot succeed). */
  JOB_SPEC: 'ERR_SCALE_JOB_SPEC',
  /** An input of a shard that the model cannot take: a shape it cannot run, no .npy/.npz files. */
  INPUT: 'ERR_SCALE_INPUT',
  /** Redis could not be reached (submit and status; workers keep reconnecting instead). */
  REDIS: 'ERR_SCALE_REDIS',
  /** The shard's features could not be written to the output store. */
  OUTPUT: 'ERR_SCALE_OUTPUT',
} as const;

export type ScaleErrorCode = (typeof ScaleErrorCodes)[keyof typeof ScaleErrorCodes];

export class ScaleError extends Error {
  readonly code: ScaleErrorCode;
  constructor(message: string, code: ScaleErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScaleError';
    this.code = code;
  }
}
