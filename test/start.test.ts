import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { connect } from 'node:tls';

const repo = resolve(import.meta.dirname, '..');
const nodeBinary = join(repo, 'node_modules', '.bin', 'node');
const TIMEOUT_MS = 10_000;

const root = await mkdtemp(join(tmpdir(), 'otpgate-start-'));
after(() => rm(root, { recursive: true, force: true }));

interface Server {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
}

/** Runs `node src/main.ts` (what `npm start` runs) with only the given OTPGATE_* variables. */
function run(env: Record<string, string>): Server {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTPGATE_')));
  const child = spawn(nodeBinary, ['src/main.ts'], { cwd: repo, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
  return { child, stdout: () => out, stderr: () => err };
}

/** Resolves with the first match of `pattern` in stdout; fails on timeout or exit. */
async function waitFor(server: Server, pattern: RegExp): Promise<RegExpMatchArray> {
  const stream = server.child.stdout;
  assert.ok(stream);
  return new Promise((resolvePromise, reject) => {
    const check = (): void => {
      const match = pattern.exec(server.stdout());
      if (match) finish(() => resolvePromise(match));
    };
    const onExit = (code: number | null): void =>
      finish(() => reject(new Error(`exited (${code}) before printing ${pattern}; stderr: ${server.stderr()}`)));
    const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${pattern}; stdout: ${server.stdout()}`))), TIMEOUT_MS);
    const finish = (then: () => void): void => {
      clearTimeout(timer);
      stream.off('data', check);
      server.child.off('exit', onExit);
      then();
    };
    stream.on('data', check);
    server.child.on('exit', onExit);
    check();
  });
}

async function exitCode(server: Server): Promise<number | null> {
  if (server.child.exitCode !== null) return server.child.exitCode;
  const [code] = (await once(server.child, 'exit', { signal: AbortSignal.timeout(TIMEOUT_MS) })) as [number | null];
  return code;
}

/** Starts the server and waits until it prints where it listens and its certificate. */
async function start(dataDir: string): Promise<Server & { port: number; fingerprint: string; line: string }> {
  const server = run({ OTPGATE_DATA_DIR: dataDir, OTPGATE_PORT: '0', OTPGATE_LOG_LEVEL: 'warn' });
  const [, port = ''] = await waitFor(server, /^otpgate listening on https:\/\/localhost:(\d+)$/m);
  const [line = '', fingerprint = ''] = await waitFor(server, /^self-signed certificate.*SHA-256 fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$/m);
  return { ...server, port: Number(port), fingerprint, line };
}

async function get(port: number, ca: string, path: string): Promise<{ status?: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, servername: 'localhost', timeout: TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => resolvePromise({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

/** Attempts a handshake limited to `maxVersion`; resolves with the protocol, or the error code. */
async function handshake(port: number, ca: string, maxVersion: 'TLSv1.1' | 'TLSv1.2', ciphers = 'DEFAULT@SECLEVEL=0'): Promise<string> {
  return new Promise((resolvePromise) => {
    // SECLEVEL=0 lets this client offer TLS 1.1 at all, so the refusal is the server's.
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', minVersion: 'TLSv1', maxVersion, ciphers });
    socket.once('secureConnect', () => {
      const cipher = socket.getCipher().name;
      resolvePromise(`${socket.getProtocol() ?? 'unknown'} ${cipher}`);
      socket.destroy();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolvePromise(`error ${error.code ?? error.message}`));
  });
}

void describe('npm start', () => {
  const dataDir = join(root, 'data');
  let fingerprint = '';

  void test('serves /api/health over HTTPS with a self-signed certificate and stops on SIGTERM', async () => {
    const server = await start(dataDir);
    try {
      assert.match(server.line, /\(new\)/);
      fingerprint = server.fingerprint;
      const ca = await readFile(join(dataDir, 'tls', 'cert.pem'), 'utf8');

      const res = await get(server.port, ca, '/api/health');
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.body), { status: 'ok' });
      assert.equal(res.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
      assert.equal(res.headers['cache-control'], 'no-store');

      assert.match(await handshake(server.port, ca, 'TLSv1.2'), /^TLSv1\.2 ECDHE-[A-Z]+-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)$/);
      // TLS 1.2 without forward secrecy, or with CBC and SHA-1, is refused (ASVS 12.1.2).
      for (const weak of ['AES128-SHA', 'AES256-GCM-SHA384', 'ECDHE-RSA-AES128-SHA', 'ECDHE-ECDSA-AES128-SHA']) {
        assert.match(await handshake(server.port, ca, 'TLSv1.2', `${weak}@SECLEVEL=0`), /^error /, weak);
      }
      // The alert comes from the server: the client did offer TLS 1.1.
      assert.match(await handshake(server.port, ca, 'TLSv1.1'), /^error ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION$/);

      assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
      assert.equal((await stat(join(dataDir, 'secret.key'))).mode & 0o777, 0o600);
      assert.equal((await stat(join(dataDir, 'tls', 'key.pem'))).mode & 0o777, 0o600);
    } finally {
      server.child.kill('SIGTERM');
    }
    assert.equal(await exitCode(server), 0);
  });

  void test('a second start reuses the certificate; SIGINT stops it too', async () => {
    const server = await start(dataDir);
    server.child.kill('SIGINT');
    assert.equal(server.fingerprint, fingerprint);
    assert.doesNotMatch(server.line, /\(new\)/);
    assert.equal(await exitCode(server), 0);
  });

  void test('OTPGATE_TLS=off on 0.0.0.0 stops with one line on stderr and exit code 1', async () => {
    const server = run({ OTPGATE_DATA_DIR: join(root, 'refused'), OTPGATE_TLS: 'off', OTPGATE_HOST: '0.0.0.0' });
    assert.equal(await exitCode(server), 1);
    assert.equal(server.stderr(), 'OTPGATE_TLS: off is only allowed when OTPGATE_HOST is loopback or OTPGATE_TRUST_PROXY is set (host is 0.0.0.0)\n');
  });
});
