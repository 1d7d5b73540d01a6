/**
 * The forward-auth gate under load, part of `npm run bench:http` (or alone with --gate-only):
 *
 * (h) GET /api/authz/auth-request with a valid level-2 session, beside GET /api/health, on
 *     the same server in the same interleaved rounds, at concurrency 1, 8 and 32. The server
 *     runs as a proxy reaches it: plain HTTP on loopback (OTPGATE_TLS=off), 127.0.0.1 trusted.
 * (i) Through real nginx (when installed): requests/s to a static upstream (nginx's own
 *     `return 200`) through a server block with `auth_request` to otpgate, and through one
 *     without, same nginx, same rounds. Keep-alive everywhere (driver → nginx → upstreams).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { loadConfig } from '../../src/config.ts';
import { openRuntime } from '../../src/runtime.ts';
import { createSession } from '../../src/auth/sessions.ts';
import { COOKIE } from '../../src/http/cookies.ts';
import { startGate } from '../../test/support/gate.ts';
import type { RunningGate } from '../../test/support/gate.ts';
import { freePort, nginxMain, proxyBinary } from '../../test/support/proxies.ts';
import { emptySample, runRound, summarize } from './load.ts';
import type { Operation, Sample } from './load.ts';
import { emptyAccount } from './monitor.ts';
import type { MeasurementRow, TargetRow } from './report.ts';
import { USER_AGENT } from './client.ts';

const CONCURRENCIES = [1, 8, 32] as const;
const NGINX_CONCURRENCY = 32;
const GROUP_DECISION = '(h) forward-auth decision';
const GROUP_NGINX = '(i) through nginx';
const DECISION = 'GET /api/authz/auth-request (level-2 session, rules match)';
const HEALTH = 'GET /api/health (same server, same rounds)';
const GATED = 'nginx + auth_request → static upstream';
const PLAIN = 'nginx → static upstream (no auth_request)';
const RULES = 'default_policy: deny\nrules:\n  - domain: public.example.com\n    policy: bypass\n  - domain: "*.example.com"\n    resources: ["^/admin(/.*)?$"]\n    subject: ["group:admins"]\n    policy: two_factor\n  - domain: app.example.com\n    policy: two_factor\n';

export interface GateBenchResult {
  rows: MeasurementRow[];
  targets: TargetRow[];
  notes: string[];
  failures: number;
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');

function pool(port: number, connections: number): Pool {
  return new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 });
}

function get(p: Pool, path: string, headers: Record<string, string>, ok: (status: number, headers: Record<string, unknown>) => boolean, label: string): Operation {
  return async () => {
    const response = await p.request({ path, method: 'GET', headers: { 'user-agent': USER_AGENT, ...headers } });
    await response.body.dump();
    return ok(response.statusCode, response.headers) ? 'ok' : `${label} ${response.statusCode}`;
  };
}

/** A level-2 session for a seeded account, made with the engine on the server's own database. */
async function seedSession(gate: RunningGate): Promise<string> {
  const runtime = await openRuntime({ config: loadConfig({ OTPGATE_DATA_DIR: gate.dataDir }), quiet: true });
  try {
    const created = await runtime.auth.createAccount({ username: 'bench', password: 'lantern-harbour-73', email: null, phone: null });
    if (created.status !== 'ok') throw new Error(`seeding the gate's account: ${created.status}`);
    await runtime.auth.addToGroup(created.user.id, 'admins');
    const issued = await createSession(runtime.auth.context, created.user.id, 2, { ip: '127.0.0.1', userAgent: USER_AGENT });
    return issued.token;
  } finally {
    await runtime.close();
  }
}

async function startNginx(binary: string, dir: string, ports: { gate: number; upstream: number; plain: number; gated: number }): Promise<ChildProcess> {
  const keep = 'proxy_http_version 1.1; proxy_set_header Connection "";';
  const conf = nginxMain(dir, `keepalive_requests 1000000;
    upstream otpgate { server 127.0.0.1:${ports.gate}; keepalive 64; }
    upstream app { server 127.0.0.1:${ports.upstream}; keepalive 64; }
    server { listen 127.0.0.1:${ports.upstream}; location / { return 200 "static\\n"; } }
    server { listen 127.0.0.1:${ports.plain}; location / { proxy_pass http://app; ${keep} } }
    server {
        listen 127.0.0.1:${ports.gated};
        location = /internal/otpgate {
            internal;
            proxy_pass http://otpgate/api/authz/auth-request; ${keep}
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL https://app.example.com$request_uri;
            proxy_set_header X-Original-Method $request_method;
        }
        location / {
            auth_request /internal/otpgate;
            auth_request_set $otpgate_user $upstream_http_remote_user;
            proxy_set_header Remote-User $otpgate_user;
            proxy_pass http://app; ${keep}
        }
    }`);
  await writeFile(join(dir, 'nginx.conf'), conf);
  const child = spawn(binary, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    const open = await new Promise<boolean>((done) => {
      const socket = connect({ host: '127.0.0.1', port: ports.gated });
      socket.once('connect', () => { socket.destroy(); done(true); });
      socket.once('error', () => done(false));
    });
    if (open) return child;
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  child.kill('SIGTERM');
  throw new Error('nginx did not start');
}

/** Runs (h) and, with nginx installed, (i); `segmentMs` per cell per round. */
export async function measureGate(options: { segmentMs: number; rounds: number; log: (line: string) => void }): Promise<GateBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'otpgate-bench-gate-'));
  const rulesPath = join(dir, 'rules.yaml');
  await writeFile(rulesPath, RULES);
  const gate = await startGate({ OTPGATE_ACCESS_RULES: rulesPath, OTPGATE_LOG_LEVEL: 'warn' });
  const pools: Pool[] = [];
  let nginx: ChildProcess | undefined;
  try {
    const token = await seedSession(gate);
    const cookie = `${COOKIE.session}=${token}`;
    const decisionHeaders = { cookie, 'x-original-url': 'https://app.example.com/dashboard?tab=1', 'x-original-method': 'GET', 'x-forwarded-for': '10.0.0.1' };
    const samples = new Map<string, Sample>();
    const sample = (name: string, c: number): Sample => {
      const key = `${name}×${c}`;
      let s = samples.get(key);
      if (!s) samples.set(key, (s = emptySample()));
      return s;
    };
    const byConcurrency = new Map(CONCURRENCIES.map((c) => {
      const p = pool(gate.port, c);
      pools.push(p);
      return [c, p] as const;
    }));
    const decide = (p: Pool) => get(p, '/api/authz/auth-request', decisionHeaders, (status, headers) => status === 200 && headers['remote-user'] === 'bench', 'decision');
    const health = (p: Pool) => get(p, '/api/health', {}, (status) => status === 200, 'health');
    options.log('gate: warming up');
    for (const p of byConcurrency.values()) {
      await runRound(emptySample(), decide(p), { concurrency: 1, durationMs: 300 });
      await runRound(emptySample(), health(p), { concurrency: 1, durationMs: 300 });
    }
    for (let round = 0; round < options.rounds; round++) {
      options.log(`gate: round ${round + 1}/${options.rounds} (decision and health at ${CONCURRENCIES.join('/')})`);
      for (const c of CONCURRENCIES) {
        const p = byConcurrency.get(c) as Pool;
        // Alternate which goes first, so neither always meets a warmer or a busier machine.
        const order = round % 2 === 0 ? ([[DECISION, decide], [HEALTH, health]] as const) : ([[HEALTH, health], [DECISION, decide]] as const);
        for (const [name, op] of order) await runRound(sample(name, c), op(p), { concurrency: c, durationMs: options.segmentMs });
      }
    }

    const binary = proxyBinary('nginx');
    const notes: string[] = [`(h) otpgate over plain HTTP on loopback (OTPGATE_TLS=off, as a proxy on the same host reaches it), rules: ${RULES.split('\n').length - 1} lines, the decision's rule is the third`];
    if (binary === undefined) {
      notes.push('(i) skipped: nginx is not installed (apt-get install nginx-light)');
    } else {
      const ports = { gate: gate.port, upstream: await freePort(), plain: await freePort(), gated: await freePort() };
      nginx = await startNginx(binary, dir, ports);
      const plainPool = pool(ports.plain, NGINX_CONCURRENCY);
      const gatedPool = pool(ports.gated, NGINX_CONCURRENCY);
      pools.push(plainPool, gatedPool);
      const plain = get(plainPool, '/page', {}, (status) => status === 200, 'plain');
      const gated = get(gatedPool, '/page', { cookie }, (status) => status === 200, 'gated');
      await runRound(emptySample(), plain, { concurrency: 4, durationMs: 300 });
      await runRound(emptySample(), gated, { concurrency: 4, durationMs: 300 });
      for (let round = 0; round < options.rounds; round++) {
        options.log(`gate: nginx round ${round + 1}/${options.rounds}`);
        const order = round % 2 === 0 ? ([[GATED, gated], [PLAIN, plain]] as const) : ([[PLAIN, plain], [GATED, gated]] as const);
        for (const [name, op] of order) await runRound(sample(name, NGINX_CONCURRENCY), op, { concurrency: NGINX_CONCURRENCY, durationMs: options.segmentMs });
      }
      notes.push(`(i) nginx ${spawnSync(binary, ['-v'], { encoding: 'utf8' }).stderr.trim().replace(/^nginx version: /, '')}, 1 worker; driver → nginx over HTTP keep-alive; the subrequest to otpgate and the upstream keep-alive (64)`);
    }

    const rows: MeasurementRow[] = [];
    for (const [key, s] of samples) {
      const [name = '', c = '0'] = key.split('×');
      rows.push({ group: name === GATED || name === PLAIN ? GROUP_NGINX : GROUP_DECISION, name, concurrency: Number(c), summary: summarize(s), cpu: emptyAccount() });
    }
    rows.sort((a, b) => a.group.localeCompare(b.group) || a.concurrency - b.concurrency || a.name.localeCompare(b.name));
    const find = (name: string, c: number) => rows.find((r) => r.name === name && r.concurrency === c)?.summary;
    const targets: TargetRow[] = [];
    const d32 = find(DECISION, 32);
    const h32 = find(HEALTH, 32);
    if (d32 && h32) {
      const rate = d32.opsPerSecond.median;
      targets.push({ target: '(h) decisions/s at concurrency 32', measured: fmt(rate), required: '≥ 10,000', pass: rate >= 10_000 });
      targets.push({ target: '(h) decision p99 at concurrency 32', measured: `${fmt(d32.latencyMs.p99, 2)} ms`, required: '≤ 5 ms', pass: d32.latencyMs.p99 <= 5 });
      const share = (100 * rate) / h32.opsPerSecond.median;
      targets.push({ target: '(h) decision vs /api/health throughput, concurrency 32, same run', measured: `${fmt(rate)} / ${fmt(h32.opsPerSecond.median)} = ${fmt(share, 1)} %`, required: '≥ 60 %', pass: share >= 60 });
    }
    const g = find(GATED, NGINX_CONCURRENCY);
    const p = find(PLAIN, NGINX_CONCURRENCY);
    if (g && p) {
      const share = (100 * g.opsPerSecond.median) / p.opsPerSecond.median;
      targets.push({ target: `(i) nginx with auth_request vs without, requests/s at concurrency ${NGINX_CONCURRENCY}`, measured: `${fmt(g.opsPerSecond.median)} / ${fmt(p.opsPerSecond.median)} = ${fmt(share, 1)} %`, required: '≥ 40 %', pass: share >= 40 });
    }
    const failures = rows.reduce((n, r) => n + r.summary.failures, 0);
    return { rows, targets, notes, failures };
  } finally {
    if (nginx && nginx.exitCode === null) {
      const gone = new Promise((done) => nginx?.once('exit', done));
      nginx.kill('SIGTERM');
      await gone;
    }
    await Promise.all(pools.map((p) => p.destroy()));
    await gate.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
