// Progress of a queue of shard jobs: job counts by state, the workers connected, and items/s over the
// completed jobs (from their summaries and BullMQ's start and finish times).
import type { ShardJob, ShardSummary } from './job-spec';
import { readOptionsObject, readQueueName } from './options';
import { openQueue } from './connect';

export interface QueueFailure {
  id: string;
  reason: string;
  attempts: number;
}

export interface QueueStatus {
  queue: string;
  /** Jobs not started yet (waiting or prioritized). */
  waiting: number;
  /** Jobs waiting out a retry delay. */
  delayed: number;
  active: number;
  completed: number;
  failed: number;
  total: number;
  /** Worker connections on this queue right now. */
  workers: number;
  /** Items in the completed jobs. */
  items: number;
  /** items over the time from the first completed job's start to the last one's finish. */
  itemsPerSecond: number;
  seconds: number;
  failures: QueueFailure[];
}

export interface StatusOptions {
  redis: string;
  queue: string;
}

/** A connection kept open for repeated reads (`status --wait`). */
export interface StatusReader {
  read(): Promise<QueueStatus>;
  close(): Promise<void>;
}

const PAGE = 1_000;

export async function openStatus(options: StatusOptions): Promise<StatusReader> {
  const checked = readOptionsObject<StatusOptions>(options, ['redis', 'queue'], 'options');
  const queueName = readQueueName(checked.queue, 'options.queue');
  const queue = await openQueue<ShardJob, ShardSummary>(checked.redis, queueName, 'options.redis');
  // Completed jobs never change, so each is read once across repeated reads.
  const summaries = new Map<string, { items: number; started: number; finished: number }>();

  return {
    async read() {
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
      for (let start = 0; summaries.size < counts.completed && start < counts.completed; start += PAGE) {
        for (const job of await queue.getJobs(['completed'], start, start + PAGE - 1)) {
          if (!job?.id || summaries.has(job.id)) continue;
          summaries.set(job.id, { items: job.returnvalue?.items ?? 0, started: job.processedOn ?? 0, finished: job.finishedOn ?? 0 });
        }
      }
      let items = 0, first = Number.POSITIVE_INFINITY, last = 0;
      for (const summary of summaries.values()) {
        items += summary.items;
        first = Math.min(first, summary.started);
        last = Math.max(last, summary.finished);
      }
      const seconds = last > first ? (last - first) / 1000 : 0;
      const failedJobs = counts.failed > 0 ? await queue.getJobs(['failed'], 0, 99) : [];
      const waiting = counts.waiting + counts.prioritized;
      return {
        queue: queueName,
        waiting,
        delayed: counts.delayed,
        active: counts.active,
        completed: counts.completed,
        failed: counts.failed,
        total: waiting + counts.delayed + counts.active + counts.completed + counts.failed,
        workers: await queue.getWorkersCount(),
        items,
        itemsPerSecond: seconds > 0 ? items / seconds : 0,
        seconds,
        failures: failedJobs.filter((job) => job?.id).map((job) => ({ id: job.id!, reason: job.failedReason, attempts: job.attemptsMade })),
      };
    },
    async close() {
      await queue.close();
    },
  };
}

export async function queueStatus(options: StatusOptions): Promise<QueueStatus> {
  const reader = await openStatus(options);
  try {
    return await reader.read();
  } finally {
    await reader.close();
  }
}
