// Async entry points: validation failures become rejections (never synchronous throws), native
// failures become our public error classes, and the caller's stack survives into the rejection.
import { native } from './binding';
import { toPublicError } from './errors';

export async function callAsync<T>(start: () => Promise<T>): Promise<T> {
  const callSite = new Error('conv1x1 async call');
  try {
    return await start();
  } catch (error) {
    const publicError = toPublicError(error);
    if (publicError instanceof Error && callSite.stack) {
      const frames = callSite.stack.split('\n').slice(2).join('\n');
      publicError.stack = `${publicError.stack ?? String(publicError)}\n    --- called from ---\n${frames}`;
    }
    throw publicError;
  }
}

export function callSync<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw toPublicError(error);
  }
}

/**
 * Refuses an async call (ERR_QUEUE_FULL, the native admission's own error) before anything is
 * allocated for it when the process-wide bound on calls in flight has no room for its buffers; the
 * native side admits or refuses the call itself, this only spares the allocation. Floats: what the
 * call would snapshot and return.
 */
export function checkQueueRoom(floats: number): void {
  native.checkQueueRoom(floats * 4);
}
