// Argument checks shared by createWorker, submitJobs and queueStatus: messages name the option, what
// was expected and what came (TypeError for a wrong kind, RangeError for a bad value).
import { describe, ErrorCodes, rangeError, typeError } from '../errors';
import { checkOptionNames, readOptionsObject as readOptionalOptionsObject } from '../validate';

/** The options object itself is required here (validate.ts's check takes a missing one as {}). */
export function readOptionsObject<T extends object>(value: unknown, known: readonly string[], name: string): T {
  if (value === undefined) {
    throw typeError(ErrorCodes.INVALID_ARG_TYPE, `${name} must be an object but received ${describe(value)}`);
  }
  const options = readOptionalOptionsObject(value, name);
  checkOptionNames(options, known, name);
  return options as T;
}

export function readQueueName(value: unknown, name: string): string {
  if (typeof value !== 'string') throw typeError(ErrorCodes.INVALID_ARG_TYPE, `${name} must be a string but received ${describe(value)}`);
  // ':' separates the parts of BullMQ's Redis keys.
  if (value === '' || value.includes(':')) {
    throw rangeError(ErrorCodes.INVALID_ARG_VALUE, `${name} must be a non-empty name without ':' but received ${describe(value)}`);
  }
  return value;
}

/** Without a fallback the option is required. */
export function readPositiveInteger(value: unknown, name: string, fallback?: number, maximum = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number') throw typeError(ErrorCodes.INVALID_ARG_TYPE, `${name} must be a positive integer but received ${describe(value)}`);
  if (!Number.isSafeInteger(value) || value < 1 || value > maximum) {
    const range = maximum === Number.MAX_SAFE_INTEGER ? 'a positive integer' : `an integer from 1 to ${maximum}`;
    throw rangeError(ErrorCodes.OUT_OF_RANGE, `${name} must be ${range} but received ${describe(value)}`);
  }
  return value;
}

export function readOptionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw typeError(ErrorCodes.INVALID_ARG_TYPE, `${name} must be a non-empty string but received ${describe(value)}`);
  }
  return value;
}
