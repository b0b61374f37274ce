// Validation of options, once, in TypeScript, with messages that name the argument, what was
// expected and what came.
import type { NativeActivation } from './binding';
import { describe, ErrorCodes, rangeError, typeError } from './errors';
import { MAX_DIMENSION } from './tensor';

export type Activation = NativeActivation;
export type Layout = 'nchw' | 'nhwc';

export const ACTIVATIONS: readonly Activation[] = [
  'none',
  'relu',
  'relu6',
  'leaky_relu',
  'sigmoid',
  'tanh',
  'silu',
  'gelu',
  'hardswish',
];
export const LAYOUTS: readonly Layout[] = ['nchw', 'nhwc'];

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** Rejects option names that do not exist, suggesting the closest known one. */
export function checkOptionNames(options: object, known: readonly string[], name: string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const closest = known
      .map((candidate) => ({ candidate, distance: editDistance(key.toLowerCase(), candidate.toLowerCase()) }))
      .sort((a, b) => a.distance - b.distance)[0];
    const hint = closest && closest.distance <= 2 ? `; did you mean '${closest.candidate}'?` : '';
    throw typeError(
      ErrorCodes.UNKNOWN_OPTION,
      `${name}.${key} is not a known option (known: ${known.join(', ')})${hint}`,
    );
  }
}

export function readOptionsObject(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw typeError(ErrorCodes.INVALID_ARG_TYPE, `${name} must be an object but received ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

export function readInteger(value: unknown, name: string, minimum: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number') {
    throw typeError(ErrorCodes.INVALID_ARG_TYPE, `${name} must be an integer but received ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < minimum || value > MAX_DIMENSION) {
    throw rangeError(
      ErrorCodes.OUT_OF_RANGE,
      `${name} must be an integer from ${minimum} to ${MAX_DIMENSION} but received ${describe(value)}`,
    );
  }
  return value;
}

/** A number or an [h, w] pair, as torch's stride and padding take them. */
export function readPair(value: unknown, name: string, minimum: number, fallback: number): [number, number] {
  if (value === undefined) return [fallback, fallback];
  if (Array.isArray(value)) {
    if (value.length !== 2) {
      throw rangeError(
        ErrorCodes.OUT_OF_RANGE,
        `${name} must be a number or an [h, w] pair but received an Array of length ${value.length}`,
      );
    }
    return [readInteger(value[0], `${name}[0]`, minimum), readInteger(value[1], `${name}[1]`, minimum)];
  }
  if (typeof value !== 'number') {
    throw typeError(
      ErrorCodes.INVALID_ARG_TYPE,
      `${name} must be a number or an [h, w] pair but received ${describe(value)}`,
    );
  }
  const single = readInteger(value, name, minimum);
  return [single, single];
}

export function readChoice<T extends string>(
  value: unknown,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') {
    throw typeError(ErrorCodes.INVALID_ARG_TYPE, `${name} must be a string but received ${describe(value)}`);
  }
  if (!(choices as readonly string[]).includes(value)) {
    throw rangeError(
      ErrorCodes.INVALID_ARG_VALUE,
      `${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')} but received ${describe(value)}`,
    );
  }
  return value as T;
}

export function readFiniteNumber(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') {
    throw typeError(ErrorCodes.INVALID_ARG_TYPE, `${name} must be a number but received ${describe(value)}`);
  }
  if (!Number.isFinite(value)) {
    throw rangeError(ErrorCodes.OUT_OF_RANGE, `${name} must be a finite number but received ${describe(value)}`);
  }
  return value;
}
