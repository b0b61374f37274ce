// Request bodies, bounded: a declared Content-Length over the limit is refused before any byte is
// read, and a chunked body is counted while it streams and abandoned the moment it passes the limit.
import type { IncomingMessage } from 'node:http';

import { ClientGone, ErrorCodes, HttpError, quote } from './http-error';

function tooLarge(size: string, maxBytes: number): HttpError {
  // The connection is closed after this answer, so that the rest of the body is never read.
  return new HttpError(413, ErrorCodes.BODY_TOO_LARGE, `the body is ${size}; at most ${maxBytes} bytes are accepted (--max-body-bytes)`);
}

/** The Content-Length, checked against the limit; null for a chunked body. */
export function declaredLength(value: string | undefined, maxBytes: number): number | null {
  if (value === undefined) return null;
  if (!/^\d+$/.test(value.trim())) {
    throw new HttpError(400, ErrorCodes.BAD_BODY, `Content-Length is ${quote(value)}; expected a byte count`);
  }
  const bytes = Number(value.trim());
  if (bytes > maxBytes) throw tooLarge(`${bytes} bytes (Content-Length)`, maxBytes);
  return bytes;
}

/**
 * Body buffers of declared lengths, kept for the next request of the same size once a request is
 * done with its input: a fresh multi-megabyte ArrayBuffer per request costs zeroing and a page fault
 * per 4 KiB, a sizeable share of a small batch's compute. Bounded in count and bytes.
 */
export class BodyBuffers {
  readonly #free = new Map<number, ArrayBuffer[]>();
  #keptBytes = 0;

  constructor(private readonly maxKeptBytes: number, private readonly maxPerSize = 8) {}

  take(bytes: number): ArrayBuffer {
    const buffer = this.#free.get(bytes)?.pop();
    if (!buffer) return new ArrayBuffer(bytes);
    this.#keptBytes -= bytes;
    return buffer;
  }

  /** Hands a buffer back; the caller must not use it (or any view of it) again. */
  giveBack(buffer: ArrayBuffer): void {
    const list = this.#free.get(buffer.byteLength) ?? [];
    if (list.length >= this.maxPerSize || this.#keptBytes + buffer.byteLength > this.maxKeptBytes) return;
    list.push(buffer);
    this.#free.set(buffer.byteLength, list);
    this.#keptBytes += buffer.byteLength;
  }
}

/**
 * Reads the whole body. With a declared length it lands in one buffer of that size (from `buffers`
 * when given), aligned for a Float32Array view (no concatenation, no second copy).
 */
export function readBody(req: IncomingMessage, maxBytes: number, declared: number | null, buffers?: BodyBuffers): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const exact = declared !== null ? new Uint8Array(buffers ? buffers.take(declared) : new ArrayBuffer(declared)) : null;
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      if (received + chunk.length > maxBytes || (exact && received + chunk.length > exact.length)) {
        cleanup();
        if (exact) buffers?.giveBack(exact.buffer);
        req.pause();
        reject(tooLarge(`over ${exact ? exact.length : maxBytes} bytes`, maxBytes));
        return;
      }
      if (exact) exact.set(chunk, received);
      else chunks.push(chunk);
      received += chunk.length;
    };
    const onEnd = () => {
      cleanup();
      if (exact) {
        // A reused buffer still holds an earlier body: a short one must never pass as complete.
        if (received === exact.length) {
          resolve(exact);
        } else {
          buffers?.giveBack(exact.buffer);
          reject(new HttpError(400, ErrorCodes.BAD_BODY, `the body ended after ${received} of the ${exact.length} bytes Content-Length declared`));
        }
        return;
      }
      const whole = new Uint8Array(new ArrayBuffer(received));
      let offset = 0;
      for (const chunk of chunks) {
        whole.set(chunk, offset);
        offset += chunk.length;
      }
      resolve(whole);
    };
    const onGone = () => {
      cleanup();
      if (exact) buffers?.giveBack(exact.buffer);
      reject(new ClientGone());
    };
    const onClose = () => {
      if (!req.complete) onGone();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onGone);
    req.on('close', onClose);
  });
}
