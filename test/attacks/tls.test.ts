/**
 * Transport (SECURITY.md items 43, 44): the server started with `npm start` refuses
 * TLS 1.0 and 1.1 handshakes, accepts 1.2 and 1.3 (1.3 when both are offered), offers
 * only forward-secret AEAD cipher suites at 1.2, and sends HSTS on every answer Fastify
 * produces — successes, redirects, 4xx of every kind, static files, HEAD.
 *
 * A positive control first shows this Node can offer TLS 1.0/1.1 at all (OpenSSL 3 needs
 * `@SECLEVEL=0`): a local server that allows them completes both handshakes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import tls from 'node:tls';
import type { SecureVersion } from 'node:tls';
import type { Agent } from 'node:https';
import type { RunningServer } from '../support/server.ts';
import type { RawRequest } from '../support/attack.ts';
import { attackClient, csrfTokenOf, serverForFile, sendRaw } from '../support/attack.ts';

const LEGACY_CIPHERS = 'DEFAULT@SECLEVEL=0';

let server: RunningServer;
let agent: Agent;
let key: string;

serverForFile({}, 2, async (s, a) => {
  server = s;
  agent = a;
  key = await readFile(join(server.dataDir, 'tls', 'key.pem'), 'utf8');
});

type Handshake = { ok: true; protocol: string | null; cipher: string } | { ok: false; error: string };

/** One TLS handshake with the given versions (and cipher list), then close. */
function handshake(port: number, versions: { min: SecureVersion; max: SecureVersion }, ciphers = LEGACY_CIPHERS): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: server.ca, minVersion: versions.min, maxVersion: versions.max, ciphers });
    const timer = setTimeout(() => socket.destroy(new Error('handshake timed out')), 10_000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const result: Handshake = { ok: true, protocol: socket.getProtocol(), cipher: socket.getCipher().name };
      socket.destroy();
      resolve(result);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, error: `${error.code ?? ''} ${error.message}` });
    });
  });
}

const LEGACY: Array<{ name: string; version: SecureVersion }> = [
  { name: 'TLS 1.0', version: 'TLSv1' },
  { name: 'TLS 1.1', version: 'TLSv1.1' },
];

void describe('TLS versions and cipher suites (item 43)', () => {
  let canOfferLegacy = false;

  void it('control: this Node offers TLS 1.0 and 1.1 to a server that allows them', async () => {
    const control = tls.createServer({ cert: server.ca, key, minVersion: 'TLSv1', ciphers: LEGACY_CIPHERS }, (s) => s.end());
    control.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
    try {
      const address = control.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const results = await Promise.all(LEGACY.map(({ version }) => handshake(port, { min: version, max: version })));
      canOfferLegacy = results.every((r) => r.ok);
      console.log(`# TLS control: ${LEGACY.map(({ name }, i) => `${name} ${JSON.stringify(results[i])}`).join('; ')}`);
    } finally {
      await new Promise((resolve) => control.close(resolve));
    }
  });

  for (const { name, version } of LEGACY) {
    void it(`refuses a ${name} handshake`, async (t) => {
      if (!canOfferLegacy) {
        t.skip(`this Node/OpenSSL cannot offer ${name} even at @SECLEVEL=0; only the refusal could not be tested`);
        return;
      }
      const result = await handshake(server.port, { min: version, max: version });
      assert.equal(result.ok, false, `${name} was accepted: ${JSON.stringify(result)}`);
      console.log(`# ${name} refused: ${result.ok ? '' : result.error}`);
    });
  }

  void it('refuses a client offering TLS 1.0 to 1.1 only, as an old browser would', async (t) => {
    if (!canOfferLegacy) return t.skip('no legacy client');
    const result = await handshake(server.port, { min: 'TLSv1', max: 'TLSv1.1' });
    assert.equal(result.ok, false);
  });

  void it('accepts TLS 1.2 and 1.3, and picks 1.3 when both are offered', async () => {
    const v12 = await handshake(server.port, { min: 'TLSv1.2', max: 'TLSv1.2' }, tls.DEFAULT_CIPHERS);
    const v13 = await handshake(server.port, { min: 'TLSv1.3', max: 'TLSv1.3' }, tls.DEFAULT_CIPHERS);
    const both = await handshake(server.port, { min: 'TLSv1', max: 'TLSv1.3' });
    assert.deepEqual([v12.ok && v12.protocol, v13.ok && v13.protocol, both.ok && both.protocol], ['TLSv1.2', 'TLSv1.3', 'TLSv1.3']);
  });

  void it('at TLS 1.2 agrees only to forward-secret AEAD suites (no CBC, SHA-1 MAC, static RSA, 3DES, RC4)', async () => {
    // Each suite this OpenSSL knows, offered alone.
    const suites = tls.getCiphers().map((c) => c.toUpperCase()).filter((c) => !c.startsWith('TLS_'));
    const accepted: string[] = [];
    for (const suite of suites) {
      const result = await handshake(server.port, { min: 'TLSv1.2', max: 'TLSv1.2' }, `${suite}@SECLEVEL=0`);
      if (result.ok) accepted.push(result.cipher);
    }
    console.log(`# TLS 1.2 suites accepted: ${accepted.join(' ')}`);
    assert.ok(accepted.length > 0);
    const weak = accepted.filter((s) => !/^(ECDHE|DHE)-/.test(s) || !/(GCM|CHACHA20|CCM)/.test(s));
    assert.deepEqual(weak, [], 'suites without forward secrecy or AEAD');
  });
});

void describe('HSTS on every answer (item 44)', () => {
  void it('is sent on successes, redirects, errors of every kind, static files and HEAD', async () => {
    const c = attackClient(server, agent);
    const login = await c.request('GET', '/login');
    const token = csrfTokenOf(login.body);
    const cookie = [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const o = { origin: server.origin };
    const requests: Array<RawRequest & { expect: number }> = [
      { method: 'GET', path: '/api/health', expect: 200 },
      { method: 'HEAD', path: '/api/health', expect: 200 },
      { method: 'GET', path: '/login', expect: 200 },
      { method: 'GET', path: '/static/style.css', expect: 200 },
      { method: 'GET', path: '/', expect: 303 },
      { method: 'GET', path: '/api/me', expect: 401 },
      { method: 'GET', path: '/no/such/page', headers: { accept: 'text/html' }, expect: 404 },
      { method: 'GET', path: '/api/no-such-route', expect: 404 },
      { method: 'TRACE', path: '/', expect: 404 },
      { method: 'OPTIONS', path: '/api/login', expect: 404 },
      { method: 'POST', path: '/api/login', headers: { ...o, 'content-type': 'application/json' }, body: '{"username":', expect: 400 },
      { method: 'POST', path: '/api/login', headers: { ...o, 'content-type': 'application/json' }, body: '{"username":"x"}', expect: 400 },
      { method: 'POST', path: '/api/login', headers: { ...o, 'content-type': 'application/json' }, body: '{"username":"nobody-here","password":"wrong-pass-1"}', expect: 401 },
      { method: 'POST', path: '/api/login', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: '{}', expect: 403 },
      { method: 'POST', path: '/login', headers: { ...o, 'content-type': 'application/x-www-form-urlencoded', cookie }, body: 'username=a', expect: 403 },
      { method: 'POST', path: '/login', headers: { ...o, 'content-type': 'application/x-www-form-urlencoded', cookie }, body: `_csrf=${token}&username=nobody-here&password=wrong-pass-1`, expect: 401 },
      { method: 'POST', path: '/api/login', headers: { ...o, 'content-type': 'text/plain' }, body: 'x', expect: 415 },
      { method: 'POST', path: '/api/login', headers: { ...o, 'content-type': 'application/json' }, body: `{"username":"${'a'.repeat(20_000)}"}`, expect: 413 },
    ];
    const etag = (await sendRaw(server, agent, { method: 'GET', path: '/static/icon.svg' })).headers.etag ?? '';
    requests.push({ method: 'GET', path: '/static/icon.svg', headers: { 'if-none-match': etag }, expect: 304 });

    const missing: string[] = [];
    for (const r of requests) {
      const answer = await sendRaw(server, agent, r);
      assert.equal(answer.status, r.expect, `${r.method} ${r.path.slice(0, 40)}: ${answer.status} ${answer.body.slice(0, 120)}`);
      if (!/^max-age=(\d+); includeSubDomains/.test(String(answer.headers['strict-transport-security'])) || Number(/max-age=(\d+)/.exec(String(answer.headers['strict-transport-security']))?.[1]) < 31_536_000) {
        missing.push(`${r.method} ${r.path.slice(0, 40)} → ${answer.status}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});
