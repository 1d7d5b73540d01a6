/**
 * A protected site on loopback, as the README's "Protect an app" section sets it up:
 * Debian's nginx or Caddy (never installed here: `.ci/run` does that) in front of an
 * echo app that answers the headers it received, and otpgate as the gate. The proxy's
 * config is the README's fixture (test/fixtures/gate/) with only addresses, ports and
 * certificate paths replaced; pid file, logs and temp files live in a temp dir.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHTTPServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { generate } from 'selfsigned';
import { startGate } from './gate.ts';
import type { RunningGate } from './gate.ts';

export type ProxyKind = 'nginx' | 'caddy';

export const FIXTURES = resolve(import.meta.dirname, '..', 'fixtures', 'gate');
export const FIXTURE_FILE: Record<ProxyKind, string> = { nginx: join(FIXTURES, 'nginx.conf'), caddy: join(FIXTURES, 'Caddyfile') };
export const RULES_FILE = join(FIXTURES, 'rules.yaml');
export const DOMAIN = 'example.com';

const BINARIES: Record<ProxyKind, string[]> = { nginx: ['/usr/sbin/nginx', '/usr/bin/nginx'], caddy: ['/usr/bin/caddy', '/usr/local/bin/caddy'] };

/** The proxy's binary, or undefined when it is not installed. */
export function proxyBinary(kind: ProxyKind): string | undefined {
  for (const path of BINARIES[kind]) {
    if (spawnSync(path, ['-v'], { stdio: 'ignore' }).status === 0 || spawnSync(path, ['version'], { stdio: 'ignore' }).status === 0) return path;
  }
  return undefined;
}

/** Why this file's tests cannot run here (a one-line skip reason), or undefined. Under CI=true a missing proxy is a failure, not a skip. */
export function proxyMissing(kind: ProxyKind): string | undefined {
  if (proxyBinary(kind) !== undefined) return undefined;
  const reason = `${kind} not installed (apt-get install ${kind === 'nginx' ? 'nginx-light' : 'caddy'}; .ci/run does)`;
  if (process.env.CI === 'true') throw new Error(`CI: ${reason}`);
  return reason;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolvePort(port));
    });
  });
}

/** The app behind the gate: answers every request with JSON of its method, URL and headers. */
export async function startEcho(): Promise<{ port: number; server: Server }> {
  const server = createHTTPServer((req, res) => {
    const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { port: (server.address() as AddressInfo).port, server };
}

export interface ProtectedSite {
  kind: ProxyKind;
  /** The proxy's HTTPS port on 127.0.0.1 (every example.com name resolves there). */
  port: number;
  /** `https://NAME.example.com:PORT` */
  origin(name: string): string;
  gate: RunningGate;
  /** Chromium's flag mapping the example.com names to loopback. */
  hostResolverRules: string;
  /** An HTTPS request through the proxy (certificate not checked: it is ours). */
  fetch(url: string, headers?: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>;
  close(): Promise<void>;
}

/** The fixture with this run's addresses: otpgate's port, the app's port, the proxy's port and the certificate. */
export function instantiate(kind: ProxyKind, fixture: string, ports: { gate: number; app: number; proxy: number }, cert: { pem: string; key: string }): string {
  let text = fixture
    .replaceAll('127.0.0.1:9091', `127.0.0.1:${ports.gate}`)
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${ports.app}`)
    .replaceAll('/etc/ssl/example.com.pem', cert.pem)
    .replaceAll('/etc/ssl/example.com.key', cert.key);
  if (kind === 'nginx') text = text.replaceAll('listen 443 ssl;', `listen 127.0.0.1:${ports.proxy} ssl;`);
  return text;
}

async function writeCertificate(dir: string): Promise<{ pem: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: DOMAIN }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: DOMAIN }, { type: 2, value: `*.${DOMAIN}` }] }],
  });
  const paths = { pem: join(dir, 'example.com.pem'), key: join(dir, 'example.com.key') };
  await writeFile(paths.pem, pems.cert);
  await writeFile(paths.key, pems.private, { mode: 0o600 });
  return paths;
}

async function launch(kind: ProxyKind, binary: string, dir: string, site: string, ports: { proxy: number; http: number }): Promise<{ child: ChildProcess; output: () => string }> {
  let args: string[];
  let env: Record<string, string> = {};
  if (kind === 'nginx') {
    await writeFile(join(dir, 'site.conf'), site);
    await writeFile(join(dir, 'nginx.conf'), nginxMain(dir));
    args = ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')];
  } else {
    await writeFile(join(dir, 'Caddyfile'), caddyGlobal(dir, ports) + site);
    env = { XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config'), HOME: dir };
    args = ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'];
  }
  const child = spawn(binary, args, { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString('utf8'); });
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString('utf8'); });
  return { child, output: () => output };
}

/** An nginx main configuration that keeps every file in `dir` (no root-only paths), around `http` directives. */
export function nginxMain(dir: string, http = `include ${dir}/site.conf;`): string {
  return `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    ${http}
}
`;
}

function caddyGlobal(dir: string, ports: { proxy: number; http: number }): string {
  return `{
	admin off
	auto_https disable_redirects
	http_port ${ports.http}
	https_port ${ports.proxy}
	default_bind 127.0.0.1
	storage file_system ${dir}/caddy
}

`;
}

/** Resolves once 127.0.0.1:`port` accepts connections; rejects when `exited` first. */
async function whenOpen(port: number, failed: () => string | undefined, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = failed();
    if (reason !== undefined) throw new Error(reason);
    const open = await new Promise<boolean>((done) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => { socket.destroy(); done(true); });
      socket.once('error', () => done(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await delay(50);
  }
}

/** otpgate, the echo app and the proxy, with the fixture's rules and cookie domain. */
export async function startProtectedSite(kind: ProxyKind, options: { gateEnv?: Record<string, string> } = {}): Promise<ProtectedSite> {
  const binary = proxyBinary(kind);
  if (binary === undefined) throw new Error(`${kind} is not installed`);
  const dir = await mkdtemp(join(tmpdir(), `otpgate-${kind}-`));
  const cert = await writeCertificate(dir);
  const ports = { proxy: await freePort(), http: await freePort() };
  const origin = (name: string): string => `https://${name}.${DOMAIN}:${ports.proxy}`;
  const gate = await startGate({
    OTPGATE_PUBLIC_URL: origin('auth'),
    OTPGATE_COOKIE_DOMAIN: DOMAIN,
    OTPGATE_ACCESS_RULES: RULES_FILE,
    OTPGATE_LOG_LEVEL: 'warn',
    OTPGATE_BACKOFF: '0',
    ...options.gateEnv,
  });
  const echo = await startEcho();
  const site = instantiate(kind, await readFile(FIXTURE_FILE[kind], 'utf8'), { gate: gate.port, app: echo.port, proxy: ports.proxy }, cert);
  const proxy = await launch(kind, binary, dir, site, ports);
  let exit: string | undefined;
  proxy.child.once('exit', (code) => { exit = `${kind} exited (${code}): ${proxy.output()}`; });
  const close = async (): Promise<void> => {
    if (proxy.child.exitCode === null && proxy.child.signalCode === null) {
      const gone = new Promise((done) => proxy.child.once('exit', done));
      proxy.child.kill('SIGTERM');
      await gone;
    }
    await new Promise((done) => { echo.server.closeAllConnections(); echo.server.close(done); });
    await gate.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await whenOpen(ports.proxy, () => exit);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    kind,
    port: ports.proxy,
    origin,
    gate,
    hostResolverRules: `MAP *.${DOMAIN} 127.0.0.1, MAP ${DOMAIN} 127.0.0.1`,
    fetch: (url, headers = {}) =>
      new Promise((done, reject) => {
        const target = new URL(url);
        const req = httpsRequest({
          host: '127.0.0.1',
          port: ports.proxy,
          path: `${target.pathname}${target.search}`,
          method: 'GET',
          servername: target.hostname,
          rejectUnauthorized: false,
          headers: { host: target.host, ...headers },
        }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => { body += chunk; });
          res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on('error', reject);
        req.end();
      }),
    close,
  };
}
