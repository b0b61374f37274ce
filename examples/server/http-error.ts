// Refusals as values: each carries the HTTP status, a stable code and a message that names the
// header or field at fault and what was expected. The server turns them into {error: {code, message}}.

export const ErrorCodes = {
  BAD_CONTENT_TYPE: 'ERR_BAD_CONTENT_TYPE',
  UNSUPPORTED_MEDIA_TYPE: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  NOT_ACCEPTABLE: 'ERR_NOT_ACCEPTABLE',
  BAD_SHAPE: 'ERR_BAD_SHAPE',
  BAD_DTYPE: 'ERR_BAD_DTYPE',
  BAD_BODY: 'ERR_BAD_BODY',
  BODY_TOO_LARGE: 'ERR_BODY_TOO_LARGE',
  TOO_MANY_REQUESTS: 'ERR_TOO_MANY_REQUESTS',
  QUEUE_FULL: 'ERR_QUEUE_FULL',
  SHUTTING_DOWN: 'ERR_SHUTTING_DOWN',
  NOT_FOUND: 'ERR_NOT_FOUND',
  METHOD_NOT_ALLOWED: 'ERR_METHOD_NOT_ALLOWED',
  INTERNAL: 'ERR_INTERNAL',
} as const;

export type HttpErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The client went away mid-request: there is no one to answer. */
export class ClientGone extends Error {
  constructor() {
    super('the client closed the connection before the request was complete');
    this.name = 'ClientGone';
  }
}

/** A header value as one string (Node gives some repeated headers as arrays). */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Quotes a client-supplied value for a message, cut short so that a huge header cannot echo back. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}
