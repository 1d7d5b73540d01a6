/** Finding 17: OTPGATE_TRUST_PROXY's reach, and forwarded addresses that are not addresses. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { makeApp } from '../support/http.ts';

const REPO = resolve(import.meta.dirname, '..', '..');
const PASSWORD = 'marigold-teapot-58';

function startMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, reject) => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTPGATE_')));
    const child = spawn(process.execPath, [join(REPO, 'src', 'main.ts')], { env: { ...base, OTPGATE_PORT: '0', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => done({ code, stderr }));
    setTimeout(() => child.kill('SIGTERM'), 20_000).unref();
  });
}

describe('finding 17: OTPGATE_TRUST_PROXY', () => {
  it('finding 17: prefixes shorter than /8 (IPv4) or /32 (IPv6) are refused with a one-line config error', () => {
    for (const value of ['0.0.0.0/0', '0.0.0.0/1,128.0.0.0/1', '10.0.0.0/7', '::/0', '2001:db8::/31', '::ffff:0.0.0.0/96']) {
      assert.throws(() => loadConfig({ OTPGATE_TRUST_PROXY: value }), (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.variable, 'OTPGATE_TRUST_PROXY');
        assert.doesNotMatch(error.message, /\n/);
        assert.match(error.message, /\/8|\/32/);
        return true;
      }, value);
    }
    for (const value of ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7', 'loopback', '::1']) {
      assert.deepEqual(loadConfig({ OTPGATE_TRUST_PROXY: value }).trustProxy, [value]);
    }
  });

  it('finding 17: 0.0.0.0/0 stops `npm start` with one line, not a stack trace', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-proxy-'));
    try {
      const { code, stderr } = await startMain({ OTPGATE_DATA_DIR: dir, OTPGATE_TRUST_PROXY: '0.0.0.0/0' });
      assert.equal(code, 1);
      assert.match(stderr, /^OTPGATE_TRUST_PROXY: .*\n$/);
      assert.doesNotMatch(stderr, /\bat \S+ \(|TypeError/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('finding 17: with TLS off on a non-loopback host, peers outside the trusted ranges get 403', async () => {
    const t = await makeApp({}, { OTPGATE_HOST: '0.0.0.0', OTPGATE_TLS: 'off', OTPGATE_TRUST_PROXY: '10.0.0.0/8' });
    const from = (remoteAddress: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url: '/api/health', remoteAddress, headers });
    const outside = await from('203.0.113.9');
    assert.equal(outside.statusCode, 403, outside.body);
    assert.equal((JSON.parse(outside.body) as { error: string }).error, 'forbidden');
    // A forwarded header from outside does not help.
    assert.equal((await from('203.0.113.9', { 'x-forwarded-for': '10.0.0.1' })).statusCode, 403);
    assert.equal((await from('10.1.2.3')).statusCode, 200);
    assert.equal((await from('::ffff:10.1.2.3')).statusCode, 200);
    // With TLS on (or on loopback) the server answers everyone, as before.
    const open = await makeApp({}, { OTPGATE_HOST: '0.0.0.0', OTPGATE_TRUST_PROXY: '10.0.0.0/8' });
    assert.equal((await open.app.inject({ method: 'GET', url: '/api/health', remoteAddress: '203.0.113.9' })).statusCode, 200);
  });

  it('finding 17: a forwarded address that is not an IP is ignored: the audit and the code email get the socket address', async () => {
    const t = await makeApp({}, { OTPGATE_TRUST_PROXY: '192.0.2.20' });
    assert.equal((await t.auth.createAccount({ username: 'ivy', password: PASSWORD, email: 'ivy@example.test' })).status, 'ok');
    const login = (forwarded: string) => t.app.inject({
      method: 'POST', url: '/api/login', remoteAddress: '192.0.2.20',
      headers: { origin: 'https://localhost:8443', 'content-type': 'application/json', 'x-forwarded-for': forwarded },
      payload: JSON.stringify({ username: 'ivy', password: PASSWORD }),
    });
    assert.equal((await login('not-an-ip <b>x</b>')).statusCode, 200);
    const mail = t.outbox.messages.at(-1);
    assert.ok(mail);
    assert.doesNotMatch(`${mail.text}${mail.html ?? ''}`, /not-an-ip|<b>x/);
    assert.match(mail.text, /192\.0\.2\.20/);
    const audit = await t.store.listAudit({ limit: 50 });
    assert.ok(audit.length > 0);
    for (const event of audit.filter((e) => e.ip !== null)) assert.equal(event.ip, '192.0.2.20');
    // A real address from the trusted proxy is still used.
    t.advance(60_000);
    assert.equal((await login('198.51.100.7')).statusCode, 200);
    assert.ok((await t.store.listAudit({ limit: 50 })).some((e) => e.ip === '198.51.100.7'));
  });
});
