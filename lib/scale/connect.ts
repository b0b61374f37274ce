// Queues for short-lived clients (submit, status): they give up after a few seconds without Redis,
// with one clear error, where a worker (worker.ts) keeps reconnecting for as long as it runs.
import { Queue } from 'bullmq';

import { parseRedisUrl, redactRedisUrl } from './redis-url';
import { ScaleError, ScaleErrorCodes } from './scale-error';

const CONNECT_TRIES = 10;
const RETRY_DELAY_MS = 300;

export async function openQueue<Data, Result>(redis: string, queueName: string, optionName: string): Promise<Queue<Data, Result>> {
  const connection = {
    ...parseRedisUrl(redis, optionName),
    maxRetriesPerRequest: 2,
    connectTimeout: 5_000,
    retryStrategy: (times: number) => (times > CONNECT_TRIES ? null : RETRY_DELAY_MS),
  };
  const queue = new Queue<Data, Result>(queueName, { connection });
  let lastError: Error | undefined;
  queue.on('error', (error) => (lastError = error));  // reported once, below or by the failing call
  try {
    await queue.waitUntilReady();
    return queue;
  } catch (cause) {
    await queue.close().catch(() => {});
    const reason = (lastError ?? (cause as Error)).message;
    throw new ScaleError(`cannot reach Redis at ${redactRedisUrl(redis)} (${CONNECT_TRIES} tries): ${reason}`, ScaleErrorCodes.REDIS, { cause });
  }
}
