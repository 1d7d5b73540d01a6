/**
 * otpgate as the forward-auth gate runs it behind a proxy: plain HTTP on loopback
 * (OTPGATE_TLS=off), the proxy on 127.0.0.1 trusted. `node src/main.ts` is started
 * directly (not under npm) so a signal such as SIGHUP reaches the server itself.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { captureOutput } from './server-process.ts';

const REPO = resolve(import.meta.dirname, '..', '..');

export interface RunningGate {
  port: number;
  /** Its data dir (SQLite database and secret key), removed by stop(). */
  dataDir: string;
  /** `http://127.0.0.1:PORT`: where a proxy sends its subrequests. */
  origin: string;
  output(): string;
  waitForOutput(pattern: RegExp, from?: number, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** A GET from 127.0.0.1 (a trusted proxy) with these headers. */
  ask(path: string, headers?: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>;
  signal(signal: NodeJS.Signals): void;
  stop(): Promise<void>;
}

export async function startGate(env: Record<string, string> = {}): Promise<RunningGate> {
  const dataDir = await mkdtemp(join(tmpdir(), 'otpgate-gate-'));
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTPGATE_') && !name.startsWith('npm_')));
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: REPO,
    env: { ...base, OTPGATE_PORT: '0', OTPGATE_DATA_DIR: dataDir, OTPGATE_TLS: 'off', OTPGATE_TRUST_PROXY: '127.0.0.1', OTPGATE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { output, waitForOutput, exited } = captureOutput(child, 30_000);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  };
  let port: number;
  try {
    port = Number((await waitForOutput(/otpgate listening on http:\/\/localhost:(\d+)/))[1]);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    dataDir,
    origin: `http://127.0.0.1:${port}`,
    output,
    waitForOutput,
    ask: (path, headers = {}) =>
      new Promise((resolveAsk, reject) => {
        const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => { body += chunk; });
          res.on('end', () => resolveAsk({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on('error', reject);
        req.end();
      }),
    signal: (signal) => { child.kill(signal); },
    stop,
  };
}
