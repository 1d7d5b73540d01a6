/**
 * The floor: the least work any HTTPS login server must do on this machine, to show how
 * much of the bare argon2id bound is reachable at all once TLS, HTTP and the driver share
 * the cores with the hashing. A bare `node:https` server in a child process of its own,
 * with the real server's certificate, TLS settings and argon2id worker pool, and nothing
 * else: `POST /api/login` checks the password against the seeded hash and answers with a
 * pending-login cookie; `POST /api/login/verify` answers "authenticated" without any check.
 * No framework, no store, no throttles, no security headers. Not a server to deploy: a
 * measuring instrument, driven by the same client code as otpgate itself.
 *
 * Run with fork(); the parent side is `startFloorServer`.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyPassword } from '../../src/auth/password-hash.ts';
import { TLS_CIPHERS, TLS_MIN_VERSION, ensureSelfSignedCertificate } from '../../src/http/tls.ts';
import { COOKIE } from '../../src/http/cookies.ts';

const PENDING_COOKIE = COOKIE.pending;
const START_TIMEOUT_MS = 30_000;
const MAX_BODY = 4096;

interface Started {
  port: number;
  ca: string;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) request.destroy(new Error('body too large'));
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function answer(response: ServerResponse, status: number, body: string, cookie?: string): void {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...(cookie === undefined ? {} : { 'set-cookie': cookie }),
  });
  response.end(body);
}

async function handle(request: IncomingMessage, response: ServerResponse, phc: string): Promise<void> {
  const body = await readBody(request);
  if (request.method === 'POST' && request.url === '/api/login') {
    const { password } = JSON.parse(body) as { password?: unknown };
    if (typeof password === 'string' && (await verifyPassword(phc, password))) {
      const cookie = `${PENDING_COOKIE}=${randomBytes(32).toString('base64url')}; Max-Age=600; Path=/; HttpOnly; Secure; SameSite=Lax`;
      answer(response, 200, '{"status":"otp_required","methods":["totp"]}', cookie);
    } else {
      answer(response, 401, '{"error":"invalid_credentials"}');
    }
  } else if (request.method === 'POST' && request.url === '/api/login/verify') {
    answer(response, 200, '{"status":"authenticated"}');
  } else {
    answer(response, 404, '{"error":"not_found"}');
  }
}

async function serve(tlsDir: string, phc: string): Promise<Started> {
  const tls = await ensureSelfSignedCertificate(tlsDir);
  const server = createServer({ cert: tls.cert, key: tls.key, ciphers: TLS_CIPHERS, minVersion: TLS_MIN_VERSION }, (request, response) => {
    handle(request, response, phc).catch(() => answer(response, 400, '{"error":"bad_request"}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, ca: tls.cert };
}

export interface FloorServer {
  pid: number;
  port: number;
  /** The certificate it serves (the real server's, read from the same directory). */
  ca: string;
  close(): void;
}

/**
 * Forks the floor server. `tlsDir` holds the real server's self-signed certificate (its
 * data directory's `tls/`), so both present the same key type and chain.
 */
export async function startFloorServer(tlsDir: string, phc: string): Promise<FloorServer> {
  // The hash goes over IPC, not argv, which every user of the machine can read.
  const child: ChildProcess = fork(import.meta.filename, ['--child'], { execPath: process.execPath, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.send({ tlsDir, phc });
  const started = await new Promise<Started>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the floor server did not start')), START_TIMEOUT_MS);
    child.once('message', (message: Started) => {
      clearTimeout(timer);
      resolve(message);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the floor server exited (${code})`));
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('the floor server has no pid');
  return { pid, port: started.port, ca: started.ca, close: () => child.kill('SIGTERM') };
}

if (process.argv[2] === '--child' && process.send) {
  process.once('message', (start: { tlsDir: string; phc: string }) => {
    void serve(start.tlsDir, start.phc).then((started) => process.send?.(started));
  });
}
