// The example service (examples/server) end to end: every route and every refusal, features equal to
// the model run in this process, the in-flight and queue limits, and the drain on SIGTERM.
import * as http from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { backend, encodeNpy, loadModel, readNpy, Tensor, type Sequential } from '../lib/index';
import { EMBEDDED_SPEC, EMBEDDED_WEIGHTS } from '../lib/model/embedded';
import { requireBuiltPackage } from './package-helpers';
import { seededFloats } from './reference';
import {
  buildServer, jsonError, metricValue, RawConnection, rawBytes, send, startServer, type Reply, type RunningServer,
} from './server-helpers';

const MAX_BODY = 1 << 20;
const SHAPE = [3, 32, 10, 12];
const input = new Tensor(seededFloats(3 * 32 * 10 * 12, 42), SHAPE);
let model: Sequential;
let expected: Tensor;
let server: RunningServer;

function expectFeatures(actual: { shape: readonly number[]; data: ArrayLike<number> }, reference: Tensor = expected): void {
  expect([...actual.shape]).toEqual([...reference.shape]);
  expect(actual.data.length).toBe(reference.data.length);
  let worst = 0;
  for (let i = 0; i < reference.data.length; i++) {
    worst = Math.max(worst, Math.abs(actual.data[i] - reference.data[i]) / (1e-3 + Math.abs(reference.data[i])));
  }
  expect(worst).toBeLessThan(1e-5);
}

const rawHeaders = (shape: readonly number[] = SHAPE): Record<string, string> => ({
  'Content-Type': 'application/octet-stream',
  'X-Shape': shape.join(','),
});

const postRaw = (url: string, headers: Record<string, string> = rawHeaders(), body: Uint8Array = rawBytes(input.data)) =>
  send(url, { method: 'POST', path: '/v1/features', headers, body });

/** A .npy file with another dtype than '<f4' (here '<f8', which the repo's reader would widen). */
function npyFloat64(shape: number[], values: Float64Array): Uint8Array {
  const dict = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  const headerLength = Math.ceil((10 + dict.length + 1) / 64) * 64 - 10;
  const header = Buffer.alloc(10 + headerLength, 0x20);
  header.write('\x93NUMPY', 0, 'latin1');
  header[6] = 1;
  header[7] = 0;
  header.writeUInt16LE(headerLength, 8);
  header.write(dict, 10, 'latin1');
  header[header.length - 1] = 0x0a;
  return Buffer.concat([header, Buffer.from(values.buffer)]);
}

/** Starts a request whose body is only partly sent: it holds an in-flight slot until finish(). */
function heldRequest(url: string, body: Uint8Array): { answer: Promise<Reply>; finish: () => void } {
  const req = http.request(new URL('/v1/features', url), {
    method: 'POST', agent: false, headers: { ...rawHeaders(), 'Content-Length': String(body.length) },
  });
  const answer = new Promise<Reply>((resolve, reject) => {
    req.on('response', (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
  });
  req.write(Buffer.from(body.subarray(0, body.length >> 1)));
  return { answer, finish: () => req.end(Buffer.from(body.subarray(body.length >> 1))) };
}

async function metrics(url: string): Promise<string> {
  const reply = await send(url, { path: '/metrics' });
  expect(reply.status).toBe(200);
  return reply.body.toString('utf8');
}

async function untilInFlight(url: string, count: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (metricValue(await metrics(url), 'conv1x1_http_in_flight') === count) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the server never had ${count} request(s) in flight`);
}

beforeAll(async () => {
  requireBuiltPackage();
  buildServer();
  model = loadModel(EMBEDDED_SPEC, EMBEDDED_WEIGHTS);
  expected = model.forward(input);
  server = await startServer(['--max-body-bytes', String(MAX_BODY)]);
});

afterAll(async () => {
  const exit = await server?.stop();
  expect(exit?.code).toBe(0);
});

describe('routes', () => {
  it('GET /healthz answers 200 ok', async () => {
    const reply = await send(server.url, { path: '/healthz' });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('ok\n');
  });

  it('POST /v1/features with a raw float32 body answers .npy features equal to the model run in-process', async () => {
    const reply = await postRaw(server.url);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/x-npy');
    expectFeatures(readNpy(new Uint8Array(reply.body)));
  });

  it('takes a .npy body and answers JSON {shape, data} with Accept: application/json', async () => {
    const reply = await send(server.url, {
      method: 'POST', path: '/v1/features', body: encodeNpy(input),
      headers: { 'Content-Type': 'application/x-npy', Accept: 'application/json' },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    const parsed = JSON.parse(reply.body.toString('utf8')) as { shape: number[]; data: number[] };
    expectFeatures(parsed);
  });

  it('follows the q-values of Accept', async () => {
    const npy = await postRaw(server.url, { ...rawHeaders(), Accept: 'application/json;q=0.5, application/x-npy' });
    expect(npy.headers['content-type']).toBe('application/x-npy');
    const json = await postRaw(server.url, { ...rawHeaders(), Accept: 'application/x-npy;q=0.1, application/json' });
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expectFeatures(JSON.parse(json.body.toString('utf8')) as { shape: number[]; data: number[] });
  });

  it('404 for an unknown route, 405 with Allow for a wrong method', async () => {
    const missing = await send(server.url, { path: '/v2/features' });
    expect(missing.status).toBe(404);
    expect(jsonError(missing)).toMatchObject({ code: 'ERR_NOT_FOUND' });
    expect(jsonError(missing).message).toContain('/v1/features');

    const wrong = await send(server.url, { path: '/v1/features' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
    expect(jsonError(wrong)).toEqual({ code: 'ERR_METHOD_NOT_ALLOWED', message: '/v1/features takes POST, not GET' });
    const health = await send(server.url, { method: 'POST', path: '/healthz', body: new Uint8Array(1) });
    expect(health.status).toBe(405);
    expect(health.headers.allow).toBe('GET, HEAD');
  });
});

describe('refusals that say why', () => {
  it('400 for a bad or missing X-Shape, naming the header and what was expected', async () => {
    const short = await postRaw(server.url, { ...rawHeaders(), 'X-Shape': '3,32,10' });
    expect(short.status).toBe(400);
    expect(jsonError(short)).toEqual({ code: 'ERR_BAD_SHAPE', message: 'X-Shape is "3,32,10"; expected four integers N,C,H,W such as 8,32,56,56' });

    const missing = await postRaw(server.url, { 'Content-Type': 'application/octet-stream' });
    expect(missing.status).toBe(400);
    expect(jsonError(missing).message).toMatch(/^X-Shape is missing/);

    const channels = await postRaw(server.url, rawHeaders([3, 16, 20, 12]));
    expect(channels.status).toBe(400);
    expect(jsonError(channels)).toEqual({ code: 'ERR_BAD_SHAPE', message: 'X-Shape "3,16,20,12" has C = 16; the model takes 32 input channels' });

    const zero = await postRaw(server.url, rawHeaders([0, 32, 10, 12]), new Uint8Array(0));
    expect(zero.status).toBe(400);
    expect(jsonError(zero).message).toContain('N = 0');

    const size = await postRaw(server.url, rawHeaders([3, 32, 10, 13]));
    expect(size.status).toBe(400);
    expect(jsonError(size)).toEqual({
      code: 'ERR_BAD_BODY',
      message: 'Content-Length is 46080 bytes but X-Shape 3,32,10,13 needs 49920 (float32 little-endian, C order)',
    });
  });

  it('400 for a missing Content-Type, a wrong dtype, a body that is not .npy, and a .npy of the wrong rank', async () => {
    const noType = await send(server.url, { method: 'POST', path: '/v1/features', body: rawBytes(input.data) });
    expect(noType.status).toBe(400);
    expect(jsonError(noType).code).toBe('ERR_BAD_CONTENT_TYPE');
    expect(jsonError(noType).message).toMatch(/^Content-Type is missing; expected application\/x-npy or application\/octet-stream/);

    const npy = { 'Content-Type': 'application/x-npy' };
    const f8 = await send(server.url, { method: 'POST', path: '/v1/features', headers: npy, body: npyFloat64(SHAPE, Float64Array.from(input.data)) });
    expect(f8.status).toBe(400);
    expect(jsonError(f8)).toEqual({ code: 'ERR_BAD_DTYPE', message: "the .npy dtype (descr) is \"<f8\"; expected '<f4' (float32 little-endian)" });

    const garbage = await send(server.url, { method: 'POST', path: '/v1/features', headers: npy, body: rawBytes(input.data) });
    expect(garbage.status).toBe(400);
    expect(jsonError(garbage).code).toBe('ERR_BAD_BODY');
    expect(jsonError(garbage).message).toMatch(/^the body is not a valid \.npy file: .*magic/);

    const rank3 = await send(server.url, {
      method: 'POST', path: '/v1/features', headers: npy, body: encodeNpy({ data: input.data, shape: [96, 10, 12] }),
    });
    expect(rank3.status).toBe(400);
    expect(jsonError(rank3)).toEqual({ code: 'ERR_BAD_SHAPE', message: 'the .npy shape (96, 10, 12) has 3 dimensions; expected 4: N,C,H,W' });
  });

  it('415 for an unsupported Content-Type, 406 for an unsupported Accept', async () => {
    const type = await postRaw(server.url, { ...rawHeaders(), 'Content-Type': 'application/json' });
    expect(type.status).toBe(415);
    expect(jsonError(type).code).toBe('ERR_UNSUPPORTED_MEDIA_TYPE');
    expect(jsonError(type).message).toContain('"application/json" is not supported; expected application/x-npy or application/octet-stream');

    const accept = await postRaw(server.url, { ...rawHeaders(), Accept: 'text/csv' });
    expect(accept.status).toBe(406);
    expect(jsonError(accept)).toEqual({
      code: 'ERR_NOT_ACCEPTABLE', message: 'Accept is "text/csv"; this route answers application/x-npy or application/json',
    });
  });

  it('413 for a declared Content-Length over the limit, before any of the body is sent', async () => {
    const reply = await new Promise<Reply>((resolve, reject) => {
      const req = http.request(new URL('/v1/features', server.url), {
        method: 'POST', agent: false, headers: { ...rawHeaders([1, 32, 128, 128]), 'Content-Length': String(32 * 128 * 128 * 4) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) });
        });
      });
      req.on('error', reject);
      req.flushHeaders();  // headers only: the answer must come without the body
    });
    expect(reply.status).toBe(413);
    expect(reply.headers.connection).toBe('close');
    expect(jsonError(reply)).toEqual({
      code: 'ERR_BODY_TOO_LARGE', message: `the body is 2097152 bytes (Content-Length); at most ${MAX_BODY} bytes are accepted (--max-body-bytes)`,
    });
  });

  it('Expect: 100-continue: a refused upload is answered without the client sending it, an admitted one is continued', async () => {
    const upload = (headers: Record<string, string>, body: Uint8Array) => new Promise<{ continued: boolean; reply: Reply }>((resolve, reject) => {
      let continued = false;
      const req = http.request(new URL('/v1/features', server.url), {
        method: 'POST', agent: false, headers: { ...headers, 'Content-Length': String(body.length), Expect: '100-continue' },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ continued, reply: { status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) } }));
      });
      req.on('continue', () => {
        continued = true;
        req.end(Buffer.from(body));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    const big = await upload(rawHeaders([2, 32, 128, 128]), new Uint8Array(2 * MAX_BODY));
    expect(big.continued).toBe(false);
    expect(big.reply.status).toBe(413);
    const ok = await upload(rawHeaders(), rawBytes(input.data));
    expect(ok.continued).toBe(true);
    expect(ok.reply.status).toBe(200);
    expectFeatures(readNpy(new Uint8Array(ok.reply.body)));
  });

  it('413 while a chunked body streams past the limit, and the server stops reading it', async () => {
    const chunk = Buffer.alloc(64 * 1024);
    let sent = 0;
    const reply = await new Promise<Reply>((resolve, reject) => {
      let answered = false;
      const req = http.request(new URL('/v1/features', server.url), {
        method: 'POST', agent: false, headers: { ...rawHeaders([1000, 32, 64, 64]), 'Transfer-Encoding': 'chunked' },
      }, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (data: Buffer) => chunks.push(data));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', (error) => (answered ? undefined : reject(error)));
      // Up to 512 MiB, paced by the socket: a server that kept reading would take it all.
      const pump = () => {
        while (!answered && sent < 512 * MAX_BODY) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    expect(reply.status).toBe(413);
    expect(jsonError(reply)).toEqual({
      code: 'ERR_BODY_TOO_LARGE', message: `the body is over ${MAX_BODY} bytes; at most ${MAX_BODY} bytes are accepted (--max-body-bytes)`,
    });
    // What was sent beyond the limit sits in socket buffers (a few MiB on loopback), not in the server.
    expect(sent).toBeLessThan(64 * MAX_BODY);
  });
});

describe('metrics', () => {
  it('GET /metrics is Prometheus text: answers by route and status, errors, latency, gauges, backend, event loop', async () => {
    await send(server.url, { path: '/nowhere' });
    expect((await postRaw(server.url)).status).toBe(200);
    const text = await metrics(server.url);
    // Every line is a comment or a sample.
    for (const line of text.trimEnd().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|[a-z_][a-z0-9_]*(\{([a-z_]+="[^"]*",?)+\})? (-?[\d.]+(e[+-]?\d+)?|\+Inf|NaN))$/);
    }
    expect(metricValue(text, 'conv1x1_http_requests_total{route="/v1/features",status="200"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'conv1x1_http_requests_total{route="unmatched",status="404"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'conv1x1_http_errors_total{code="ERR_NOT_FOUND"}')).toBeGreaterThanOrEqual(1);
    const count = metricValue(text, 'conv1x1_http_request_duration_seconds_count{route="/v1/features"}');
    expect(count).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'conv1x1_http_request_duration_seconds_bucket{route="/v1/features",le="+Inf"}')).toBe(count);
    expect(text).toMatch(/^# TYPE conv1x1_http_request_duration_seconds histogram$/m);
    expect(metricValue(text, 'conv1x1_http_in_flight')).toBe(0);
    expect(metricValue(text, 'conv1x1_async_queue_calls')).toBe(0);
    expect(metricValue(text, 'conv1x1_model_calls_running')).toBe(0);
    expect(metricValue(text, 'conv1x1_model_calls_waiting')).toBe(0);
    expect(metricValue(text, 'conv1x1_model_calls_limit')).toBe(backend().maxConcurrentCalls);
    // Every answered feature request made one model call; refused ones made none.
    expect(metricValue(text, 'conv1x1_model_call_duration_seconds_count')).toBe(
      metricValue(text, 'conv1x1_http_requests_total{route="/v1/features",status="200"}'));
    expect(metricValue(text, 'conv1x1_model_call_duration_seconds_sum')).toBeGreaterThan(0);
    expect(metricValue(text, 'conv1x1_inputs_total')).toBeGreaterThanOrEqual(3);
    const info = backend();
    expect(text).toContain(`conv1x1_backend_info{name="${info.name}",kernels="${info.kernels}",simd="${info.simd}",selection="${info.selection}",threads="${info.threads}",`);
    const p99 = metricValue(text, 'conv1x1_event_loop_delay_seconds{quantile="0.99"}');
    expect(p99).toBeGreaterThanOrEqual(0);
    expect(p99).toBeLessThan(5);
    expect(metricValue(text, 'conv1x1_event_loop_delay_seconds_count')).toBeGreaterThan(0);
    // The process's CPU time is a counter: it grows across a model call.
    expect(text).toMatch(/^# TYPE process_cpu_seconds_total counter$/m);
    const cpuBefore = metricValue(text, 'process_cpu_seconds_total');
    expect(cpuBefore).toBeGreaterThan(0);
    expect((await postRaw(server.url)).status).toBe(200);
    expect(metricValue(await metrics(server.url), 'process_cpu_seconds_total')).toBeGreaterThan(cpuBefore);
  });
});

describe('limits', () => {
  it('429 with Retry-After once --max-in-flight requests are in flight; the held request still completes', async () => {
    const limited = await startServer(['--max-in-flight', '1']);
    try {
      const held = heldRequest(limited.url, rawBytes(input.data));
      await untilInFlight(limited.url, 1);
      const refused = await postRaw(limited.url);
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('1');
      expect(jsonError(refused)).toEqual({
        code: 'ERR_TOO_MANY_REQUESTS', message: "1 requests are in flight, the server's limit (--max-in-flight 1); retry later",
      });
      held.finish();
      const answer = await held.answer;
      expect(answer.status).toBe(200);
      expectFeatures(readNpy(new Uint8Array(answer.body)));

      // Racing requests: each is answered 200 (with the right features) or 429, and both happen.
      const replies = await Promise.all(Array.from({ length: 6 }, () => postRaw(limited.url)));
      const statuses = replies.map((r) => r.status);
      expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
      expect(statuses).toContain(200);
      expect(statuses).toContain(429);
      for (const reply of replies.filter((r) => r.status === 200)) expectFeatures(readNpy(new Uint8Array(reply.body)));
    } finally {
      expect((await limited.stop()).code).toBe(0);
    }
  });

  it("429 ERR_QUEUE_FULL when the library's async queue refuses the call", async () => {
    // Model calls not held back by the server, so that the library's own bound is what refuses.
    const queued = await startServer(['--max-in-flight', '64', '--model-concurrency', '8'], { CONV1X1_MAX_QUEUED_CALLS: '1' });
    try {
      const big = new Tensor(seededFloats(8 * 32 * 40 * 40, 5), [8, 32, 40, 40]);
      const reference = model.forward(big);
      const replies = await Promise.all(Array.from({ length: 8 }, () => postRaw(queued.url, rawHeaders(big.shape), rawBytes(big.data))));
      const refused = replies.filter((r) => r.status === 429);
      expect(replies.every((r) => r.status === 200 || r.status === 429)).toBe(true);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0].headers['retry-after']).toBe('1');
      expect(jsonError(refused[0]).code).toBe('ERR_QUEUE_FULL');
      expect(jsonError(refused[0]).message).toMatch(/^too many async calls in flight/);
      for (const reply of replies.filter((r) => r.status === 200)) expectFeatures(readNpy(new Uint8Array(reply.body)), reference);
      expect(metricValue(await metrics(queued.url), 'conv1x1_http_errors_total{code="ERR_QUEUE_FULL"}')).toBe(refused.length);
    } finally {
      expect((await queued.stop()).code).toBe(0);
    }
  });
});

describe('graceful shutdown', () => {
  it('on SIGTERM: refuses new work (503), finishes the request in flight, closes the model and exits 0', async () => {
    const draining = await startServer();
    const body = rawBytes(input.data);
    // In flight: headers and half of the body sent.
    const inFlight = new RawConnection(draining.port);
    await inFlight.write(`POST /v1/features HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\n` +
      `X-Shape: ${SHAPE.join(',')}\r\nContent-Length: ${body.length}\r\n\r\n`);
    await inFlight.write(body.subarray(0, body.length >> 1));
    // Requests begun before the signal but not yet complete (their connections are not idle).
    const health = new RawConnection(draining.port);
    await health.write('GET /healthz HTTP/1.1\r\nHost: test\r\n');
    const late = new RawConnection(draining.port);
    await late.write('POST /v1/features HTTP/1.1\r\nHost: test\r\n');
    await untilInFlight(draining.url, 1);

    draining.child.kill('SIGTERM');
    for (let i = 0; i < 200 && !/draining 1 request/.test(draining.output()); i++) await new Promise((r) => setTimeout(r, 10));
    expect(draining.output()).toContain('SIGTERM: draining 1 request(s) in flight');

    await health.write('\r\n');
    const healthReply = await health.answerAtClose();
    expect(healthReply.status).toBe(503);
    expect(healthReply.body.toString()).toBe('draining\n');

    await late.write(`Content-Type: application/octet-stream\r\nX-Shape: ${SHAPE.join(',')}\r\nContent-Length: ${body.length}\r\n\r\n`);
    const lateReply = await late.answerAtClose();
    expect(lateReply.status).toBe(503);
    expect(lateReply.headers['retry-after']).toBe('1');
    expect(JSON.parse(lateReply.body.toString()).error.code).toBe('ERR_SHUTTING_DOWN');

    // No new connections once draining.
    await expect(send(draining.url, { path: '/healthz' })).rejects.toThrow(/ECONNREFUSED/);

    await inFlight.write(body.subarray(body.length >> 1));
    const answer = await inFlight.answerAtClose();
    expect(answer.status).toBe(200);
    expect(answer.headers.connection).toBe('close');
    expectFeatures(readNpy(new Uint8Array(answer.body)));

    const exit = await draining.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(draining.output()).toMatch(/conv1x1 server: stopped\n$/);
  });
});
