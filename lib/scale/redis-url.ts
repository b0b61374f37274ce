// `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS) as ioredis connection options.
// BullMQ needs maxRetriesPerRequest: null: its blocking commands must wait out a Redis restart
// instead of failing after a few retries.
import { describe, ErrorCodes, rangeError, typeError } from '../errors';

export interface RedisConnectionOptions {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls?: Record<string, never>;
  maxRetriesPerRequest: null;
}

export function parseRedisUrl(value: unknown, name = 'redis'): RedisConnectionOptions {
  if (typeof value !== 'string') {
    throw typeError(ErrorCodes.INVALID_ARG_TYPE, `${name} must be a redis:// URL string but received ${describe(value)}`);
  }
  const invalid = (why: string) =>
    rangeError(ErrorCodes.INVALID_ARG_VALUE, `${name} must be a URL like redis://host:6379 but received ${describe(value)}: ${why}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('not a URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw invalid(`the scheme is ${url.protocol} (expected redis: or rediss:)`);
  if (url.hostname === '') throw invalid('there is no host');
  const port = url.port === '' ? 6379 : Number(url.port);
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw invalid(`the database "${dbText}" is not a non-negative integer`);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),  // IPv6 literals come bracketed
    port,
    db,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/** The URL without its password, for logs. */
export function redactRedisUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return value;
  }
}
