// HTTP plumbing: routes and methods, answers and error answers, metrics per answer, and the drain
// on shutdown. What a route computes lives in its own module.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

import type { Layer } from 'conv1x1';

import { BodyBuffers } from './body';
import { features } from './features';
import { ClientGone, ErrorCodes, HttpError } from './http-error';
import { Admission } from './limits';
import { Metrics } from './metrics';
import { ModelRunner } from './runner';

export interface ServiceOptions {
  model: Layer;
  inputChannels: number | undefined;
  maxBodyBytes: number;
  maxInFlight: number;
  /** Model calls at once (the rest wait in the server, in arrival order). */
  modelConcurrency: number;
  /** Where unexpected failures are logged. */
  log?: (line: string) => void;
}

interface Answer {
  status: number;
  contentType: string;
  body: Uint8Array | string;
  headers?: Readonly<Record<string, string>>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<Answer> | Answer;

interface Route {
  methods: readonly string[];
  handle: Handler;
}

export interface Service {
  server: Server;
  metrics: Metrics;
  admission: Admission;
  /** Stops accepting, answers what is in flight, closes the model; resolves when all is done. */
  shutdown(): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';
/** How long idle or slow connections may keep the process alive once in-flight requests are done. */
const CONNECTION_GRACE_MS = 5_000;
/** How long a refused upload's connection stays half-closed, unread, before it is destroyed. */
const LINGER_MS = 1_000;
/** Idle request-body buffers kept for reuse, at most (a few batches' worth). */
const KEPT_BODY_BYTES = 64 << 20;

function errorAnswer(error: HttpError): Answer {
  return {
    status: error.status,
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify({ error: { code: error.code, message: error.message } }),
    headers: error.headers,
  };
}

/** A body the client is still sending and that nobody will read. */
function unreadBody(req: IncomingMessage): boolean {
  return !req.complete && (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0);
}

/**
 * Destroying a socket whose client is still sending makes the kernel answer with a reset, which can
 * wipe the answer out of the client's buffers before it reads it. So the answer goes out with our end
 * of the connection (FIN), nothing more is read, and the socket is destroyed only after a grace period.
 */
function lingerThenClose(socket: Socket): void {
  socket.destroySoon = function lingering(this: Socket) {
    this.end();
    setTimeout(() => this.destroy(), LINGER_MS).unref();
  };
}

export function createService(options: ServiceOptions): Service {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const metrics = new Metrics();
  const admission = new Admission(options.maxInFlight);
  const runner = new ModelRunner(options.model, options.modelConcurrency, (seconds) => metrics.modelCall(seconds));
  const featureContext = {
    model: options.model,
    runner,
    inputChannels: options.inputChannels,
    maxBodyBytes: options.maxBodyBytes,
    bodyBuffers: new BodyBuffers(KEPT_BODY_BYTES),
    admission,
    metrics,
  };

  const routes = new Map<string, Route>([
    ['/v1/features', {
      methods: ['POST'],
      handle: async (req, res) => ({ status: 200, ...(await features(req, featureContext, () => res.writeContinue())) }),
    }],
    ['/healthz', {
      methods: ['GET', 'HEAD'],
      handle: () => (admission.draining
        ? { status: 503, contentType: TEXT, body: 'draining\n' }
        : { status: 200, contentType: TEXT, body: 'ok\n' }),
    }],
    ['/metrics', {
      methods: ['GET', 'HEAD'],
      handle: () => ({
        status: 200,
        contentType: 'text/plain; version=0.0.4; charset=utf-8',
        body: metrics.render({
          inFlight: admission.inFlight, maxInFlight: admission.maxInFlight, draining: admission.draining,
          modelRunning: runner.running, modelWaiting: runner.waiting, modelConcurrency: runner.concurrency,
        }),
      }),
    }],
  ]);

  function send(req: IncomingMessage, res: ServerResponse, answer: Answer): void {
    if (res.headersSent || res.destroyed) return;
    res.statusCode = answer.status;
    for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
    res.setHeader('Content-Type', answer.contentType);
    res.setHeader('Content-Length', typeof answer.body === 'string' ? Buffer.byteLength(answer.body) : answer.body.byteLength);
    // Closing is how an unread body is refused (413, or any early error) and how keep-alive
    // clients learn to go elsewhere while the server drains.
    const unread = unreadBody(req);
    if (admission.draining || unread) res.setHeader('Connection', 'close');
    if (unread) lingerThenClose(req.socket);
    res.end(answer.body);
  }

  function fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    if (error instanceof ClientGone) return;
    if (!(error instanceof HttpError)) {
      log(`conv1x1 server: ${req.method} ${req.url} failed: ${(error as Error)?.stack ?? String(error)}`);
      error = new HttpError(500, ErrorCodes.INTERNAL, `internal error: ${(error as Error)?.message ?? String(error)}`);
    }
    const httpError = error as HttpError;
    metrics.error(httpError.code);
    send(req, res, errorAnswer(httpError));
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const path = (req.url ?? '/').split('?', 1)[0];
    const route = routes.get(path);
    // Unknown paths share one label, so that scanners cannot grow the metrics without bound.
    const label = route ? path : 'unmatched';
    res.on('close', () => {
      metrics.observe(label, res.writableFinished ? res.statusCode : 'aborted', (performance.now() - started) / 1000);
    });
    if (!route) {
      fail(req, res, new HttpError(404, ErrorCodes.NOT_FOUND, `no route ${path}; routes: ${[...routes.keys()].join(', ')}`));
      return;
    }
    if (!route.methods.includes(req.method ?? '')) {
      fail(req, res, new HttpError(405, ErrorCodes.METHOD_NOT_ALLOWED, `${path} takes ${route.methods.join(' or ')}, not ${req.method}`,
        { Allow: route.methods.join(', ') }));
      return;
    }
    Promise.resolve()
      .then(() => route.handle(req, res))
      .then((answer) => send(req, res, answer), (error: unknown) => fail(req, res, error));
  };
  const server = createServer(handle);
  // Expect: 100-continue is answered by the route, after its header checks: a refused upload is
  // never sent at all.
  server.on('checkContinue', handle);
  // Slow or stalled uploads must not hold an in-flight slot forever.
  server.requestTimeout = 60_000;

  let stopping: Promise<void> | null = null;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await admission.drain();
      await options.model.close?.();
      // Connections that still hold an answer in progress close once it is written (Connection: close).
      const grace = setTimeout(() => server.closeAllConnections(), CONNECTION_GRACE_MS);
      await closed;
      clearTimeout(grace);
      metrics.stop();
    })();
    return stopping;
  };

  return { server, metrics, admission, shutdown };
}
