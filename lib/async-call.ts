// Async entry points: validation failures become rejections (never synchronous throws), native
// failures become our public error classes, and the caller's stack survives into the rejection.
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
