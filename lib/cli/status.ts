// `conv1x1 status`: a queue's progress once, or redrawn until it drains (--wait).
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

import { openStatus, type QueueStatus } from '../scale/status';
import { optionalPositiveInteger, REDIS_OPTIONS, requiredOption } from './scale-args';

function bar(status: QueueStatus, width = 30): string {
  const done = status.completed + status.failed;
  const fraction = status.total > 0 ? done / status.total : 0;
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${status.total} jobs (${Math.floor(fraction * 100)}%)`;
}

function counts(status: QueueStatus): string {
  return `waiting ${status.waiting}  delayed ${status.delayed}  active ${status.active}  completed ${status.completed}  ` +
    `failed ${status.failed}  workers ${status.workers}  ${status.itemsPerSecond.toFixed(1)} items/s`;
}

export function formatStatus(status: QueueStatus): string {
  if (status.total === 0) return `queue ${status.queue}: no jobs`;
  const lines = [
    `queue ${status.queue} ${bar(status)}`,
    `  ${counts(status)}`,
    `  ${status.items} items in completed jobs, ${status.seconds.toFixed(1)} s from the first start to the last finish`,
  ];
  if (status.failures.length > 0) {
    lines.push(`failed jobs${status.failed > status.failures.length ? ` (the first ${status.failures.length} of ${status.failed})` : ''}:`);
    for (const failure of status.failures) lines.push(`  ${failure.id} after ${failure.attempts} attempt(s): ${failure.reason}`);
  }
  return lines.join('\n');
}

const unfinished = (status: QueueStatus) => status.waiting + status.delayed + status.active;

export async function runStatusCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: { ...REDIS_OPTIONS, wait: { type: 'boolean' }, interval: { type: 'string' } },
  });
  const reader = await openStatus({
    redis: requiredOption(values.redis, 'redis', 'status'),
    queue: requiredOption(values.queue, 'queue', 'status'),
  });
  try {
    let status = await reader.read();
    if (values.wait) {
      const interval = optionalPositiveInteger(values.interval, 'interval') ?? 1000;
      const tty = Boolean(process.stderr.isTTY);
      let lastLine = 0;
      while (unfinished(status) > 0) {
        // A redrawn bar on a terminal; for logs, a plain line every 5 s.
        if (tty) process.stderr.write(`\r${bar(status)}  ${counts(status)}\x1b[K`);
        else if (Date.now() - lastLine >= 5000) {
          process.stderr.write(`status: ${bar(status)}  ${counts(status)}\n`);
          lastLine = Date.now();
        }
        await sleep(interval);
        status = await reader.read();
      }
      if (tty) process.stderr.write('\n');
    }
    console.log(formatStatus(status));
    return values.wait && status.failed > 0 ? 1 : 0;
  } finally {
    await reader.close();
  }
}
