// The example service (examples/server) run as users run it: compiled, in a child process, over
// real sockets.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';

import { expect } from 'vitest';

import { ROOT } from './package-helpers';

export const SERVER_MAIN = path.join(ROOT, 'dist', 'examples', 'server', 'main.js');

/** Compiles examples/server into dist/examples/server, as `npm run serve` does. */
export function buildServer(): void {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'examples', 'server', 'tsconfig.json')], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000,
  });
  if (run.status !== 0) throw new Error(`tsc -p examples/server failed (${run.status}):\n${run.stdout}${run.stderr}`);
}

export interface RunningServer {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything the server printed so far. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends SIGTERM (if still running) and waits for the exit; SIGKILL after 15 s, so that a hung drain fails the test. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startServer(args: string[] = [], env: Record<string, string> = {}): Promise<RunningServer> {
  const child = spawn(process.execPath, [SERVER_MAIN, '--port', '0', ...args], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 30 s:\n${output}`)), 30_000);
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', check);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    child,
    output: () => output,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request on its own connection; resolves with the whole answer. */
export function send(
  url: string,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: Uint8Array },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(options.path, url), { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body ? Buffer.from(options.body.buffer, options.body.byteOffset, options.body.byteLength) : undefined);
  });
}

export function jsonError(reply: Reply): { code: string; message: string } {
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  return (JSON.parse(reply.body.toString('utf8')) as { error: { code: string; message: string } }).error;
}

/** A raw HTTP/1.1 exchange on one socket, for requests sent in parts. */
export class RawConnection {
  readonly socket: net.Socket;
  #received = Buffer.alloc(0);
  readonly closed: Promise<void>;
  readonly connected: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => (this.#received = Buffer.concat([this.#received, chunk])));
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
    this.socket.on('error', () => {});
  }

  write(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (error) => (error ? reject(error) : resolve())));
  }

  /** The first answer on this connection, once the server has closed it (as it does while draining). */
  async answerAtClose(): Promise<Reply> {
    await this.closed;
    const text = this.#received;
    const split = text.indexOf('\r\n\r\n');
    if (split < 0) throw new Error(`no HTTP answer before the connection closed: ${JSON.stringify(text.toString('latin1'))}`);
    const [statusLine, ...headerLines] = text.subarray(0, split).toString('latin1').split('\r\n');
    const headers: http.IncomingHttpHeaders = {};
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length']);
    return { status: Number(statusLine.split(' ')[1]), headers, body: text.subarray(split + 4, split + 4 + length) };
  }
}

/** Float32 little-endian bytes of an array, as a raw request body. */
export function rawBytes(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}
