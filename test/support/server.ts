/**
 * A real otpgate server process started with `npm start` on a free port, and an HTTPS
 * client that trusts only its generated certificate and keeps cookies like a browser.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { captureOutput, whenListening } from './server-process.ts';
import { request } from 'node:https';
import { connect } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '..', '..');
const START_TIMEOUT_MS = 30_000;

export interface RunningServer {
  origin: string;
  port: number;
  dataDir: string;
  /** The self-signed certificate, trusted as a CA by the test clients. */
  ca: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves when `pattern` appears in the output after `from` characters. */
  waitForOutput(pattern: RegExp, from?: number, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(): Promise<number | null>;
  /**
   * Sends `signal` to the process group (npm and the server under it; SIGKILL: no cleanup
   * runs) and resolves once npm has exited and the port no longer answers. The data dir stays.
   */
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function startServer(env: Record<string, string> = {}, options: { dataDir?: string } = {}): Promise<RunningServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'otpgate-server-')));
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTPGATE_') && !name.startsWith('npm_')));
  const child: ChildProcess = spawn('npm', ['start', '--silent'], {
    cwd: REPO,
    env: { ...base, OTPGATE_PORT: '0', OTPGATE_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: stop() reaches npm and the server under it
  });
  const { output, waitForOutput, exited } = captureOutput(child, START_TIMEOUT_MS);
  const { port, origin, ca } = await whenListening({ output, waitForOutput, exited }, dataDir);
  return {
    origin,
    port,
    dataDir,
    ca,
    output,
    waitForOutput,
    async stop() {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      const code = await exited;
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
      return code;
    },
    async kill(signal) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, signal);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
        }
      }
      await exited;
      await portClosed(port);
    },
  };
}

/** Resolves once nothing accepts connections on 127.0.0.1:`port` (the server under npm is gone too). */
async function portClosed(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolveProbe) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolveProbe(true);
      });
      socket.once('error', () => resolveProbe(false));
    });
    if (!open) return;
    if (Date.now() > deadline) throw new Error(`port ${port} still accepts connections ${timeoutMs} ms after the kill`);
    await new Promise<void>((r) => setImmediate(r));
  }
}

/** Applies Set-Cookie lines to a jar the way a browser would (expired or empty values delete). */
export function updateCookies(cookies: Map<string, string>, setCookie: string[] | undefined): void {
  for (const line of setCookie ?? []) {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attributes.some((a) => /^\s*max-age=0$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
    if (expired || value === '') cookies.delete(name);
    else cookies.set(name, value);
  }
}

export function cookieHeader(cookies: Map<string, string>): string {
  return [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
}

export interface HTTPSResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

export interface BrowserLikeClient {
  cookies: Map<string, string>;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<HTTPSResponse>;
}

/** Sends JSON with our Origin on writes, keeps cookies; trusts only the server's certificate. */
export function httpsClient(server: Pick<RunningServer, 'origin' | 'port' | 'ca'>): BrowserLikeClient {
  const cookies = new Map<string, string>();
  return {
    cookies,
    request(method, path, body, headers = {}) {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      return new Promise((resolveResponse, reject) => {
        const req = request({
          host: '127.0.0.1',
          servername: 'localhost',
          port: server.port,
          method,
          path,
          ca: server.ca,
          headers: {
            ...(method === 'GET' ? {} : { origin: server.origin }),
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
            ...(cookies.size ? { cookie: cookieHeader(cookies) } : {}),
            ...headers,
          },
        }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => { text += d; });
          res.on('end', () => {
            updateCookies(cookies, res.headers['set-cookie']);
            resolveResponse({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: <T>() => JSON.parse(text) as T });
          });
        });
        req.on('error', reject);
        req.end(payload);
      });
    },
  };
}
