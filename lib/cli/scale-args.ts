// Options the scale-out commands (worker, submit, status) share, and their checks.
import { UsageError } from './usage';

export function requiredOption(value: string | undefined, name: string, command: string): string {
  if (value === undefined || value === '') throw new UsageError(`${command} needs --${name}`);
  return value;
}

export function optionalPositiveInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 1) throw new UsageError(`--${name} must be a positive integer but is '${value}'`);
  return number;
}

export const REDIS_OPTIONS = {
  redis: { type: 'string' },
  queue: { type: 'string' },
} as const;
