/**
 * The forward-auth gate's endpoints through app.inject: statuses, headers and the state
 * table's row (anonymous 401/302, level 1 one_factor only, level 2 passes), with the
 * rules read from a real file.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client, makeApp } from '../support/http.ts';
import { PASSWORD, PROXY, RULES, gateApp, nginxAsks, signedIn, traefikAsks } from '../support/gate-app.ts';
import { build } from '../../src/http/app.ts';
import { createRoutes } from '../../src/http/routes.ts';
import { createLogger } from '../../src/http/logging.ts';
import { loadConfig } from '../../src/config.ts';
import { makeEngine } from '../support/engine.ts';

describe('GET /api/authz/auth-request and /api/authz/forward-auth', () => {
  it('answers 401 with a Location to sign in (the return URL in rd) when nobody is signed in', async () => {
    const t = await gateApp();
    const c = client(t.app, PROXY);
    const response = await nginxAsks(c, 'https://app.example.test/reports?q=1');
    assert.equal(response.statusCode, 401);
    assert.equal(response.headers.location, `https://auth.example.test/login?rd=${encodeURIComponent('https://app.example.test/reports?q=1')}`);
    assert.equal(response.headers['cache-control'], 'no-store');
    assert.equal(response.headers['remote-user'], undefined);
  });

  it('forward-auth sends a browser (HTML Accept) 302 to sign in, and anything else 401', async () => {
    const t = await gateApp();
    const c = client(t.app, PROXY);
    const browser = await traefikAsks(c, 'app.example.test', '/x', { accept: 'text/html,application/xhtml+xml' });
    assert.equal(browser.statusCode, 302);
    assert.equal(browser.headers.location, `https://auth.example.test/login?rd=${encodeURIComponent('https://app.example.test/x')}`);
    assert.equal((await traefikAsks(c, 'app.example.test', '/x', { accept: 'application/json' })).statusCode, 401);
  });

  it('a level-2 session passes with Remote-User, Remote-Groups, Remote-Name and Remote-Email', async () => {
    const t = await gateApp();
    const c = await signedIn(t, 'ivy');
    const user = await t.store.getUserByUsername('ivy');
    assert.ok(user);
    await t.auth.addToGroup(user.id, 'admins');
    await t.auth.addToGroup(user.id, 'staff');
    for (const response of [await nginxAsks(c, 'https://app.example.test/'), await traefikAsks(c, 'app.example.test', '/')]) {
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.headers['remote-user'], 'ivy');
      assert.equal(response.headers['remote-groups'], 'admins,staff');
      assert.equal(response.headers['remote-name'], 'ivy');
      assert.equal(response.headers['remote-email'], '');
      assert.equal(response.headers['cache-control'], 'no-store');
    }
    // The group rule: admins pass /admin, everyone else meets the deny rule under it.
    assert.equal((await nginxAsks(c, 'https://app.example.test/admin/users')).statusCode, 200);
    await t.auth.removeFromGroup(user.id, 'admins');
    assert.equal((await nginxAsks(c, 'https://app.example.test/admin/users')).statusCode, 403);
  });

  it('a level-1 (password only, enrolling) session passes one_factor paths only', async () => {
    const t = await gateApp();
    const c = client(t.app, PROXY);
    assert.equal((await c.request('POST', '/api/signup', { username: 'lou', password: PASSWORD }, { origin: 'https://auth.example.test' })).statusCode, 201);
    const light = await nginxAsks(c, 'https://app.example.test/light/page');
    assert.equal(light.statusCode, 200);
    assert.equal(light.headers['remote-user'], 'lou');
    assert.equal((await nginxAsks(c, 'https://app.example.test/heavy')).statusCode, 401);
    // A password-only session is for enrolling, ten minutes long: after that the gate asks again.
    t.advance(10 * 60_000);
    assert.equal((await nginxAsks(c, 'https://app.example.test/light/page')).statusCode, 401);
  });

  it('bypass answers 200 without a session; a host no rule names gets the default deny', async () => {
    const t = await gateApp();
    const c = client(t.app, PROXY);
    assert.equal((await nginxAsks(c, 'https://public.example.test/anything')).statusCode, 200);
    assert.equal((await nginxAsks(c, 'https://other.example.test/')).statusCode, 403);
  });

  it('a stale level-2 session still passes (an hour later, kept alive)', async () => {
    const t = await gateApp({ OTPGATE_SESSION_IDLE: '3600' });
    const c = await signedIn(t, 'ivy');
    for (let i = 0; i < 4; i++) {
      t.advance(20 * 60_000);
      assert.equal((await nginxAsks(c, 'https://app.example.test/')).statusCode, 200);
    }
  });

  it('answers a peer outside OTPGATE_TRUST_PROXY 403, whatever it forwards', async () => {
    const t = await gateApp();
    const c = await signedIn(t, 'ivy');
    const outsider = client(t.app, '203.0.113.9');
    for (const [name, value] of c.cookies) outsider.cookies.set(name, value);
    const response = await nginxAsks(outsider, 'https://app.example.test/', { 'x-forwarded-for': PROXY });
    assert.equal(response.statusCode, 403);
    assert.equal(response.headers['remote-user'], undefined);
    const noProxy = await makeApp({}, {});
    assert.equal((await nginxAsks(client(noProxy.app, PROXY), 'https://app.example.test/')).statusCode, 403);
  });

  it('answers 400 when the proxy sends no usable original URL', async () => {
    const t = await gateApp();
    const c = client(t.app, PROXY);
    assert.equal((await c.request('GET', '/api/authz/auth-request')).statusCode, 400);
    assert.equal((await nginxAsks(c, '//app.example.test/')).statusCode, 400);
    assert.equal((await nginxAsks(c, 'https://app.example.test/light%2F..%2Fheavy')).statusCode, 400);
    assert.equal((await c.request('GET', '/api/authz/forward-auth', undefined, { 'x-forwarded-uri': '/' })).statusCode, 400);
  });

  it('resolves dot segments before matching, so /light/../heavy is not a one_factor path', async () => {
    const t = await gateApp();
    const c = client(t.app, PROXY);
    assert.equal((await c.request('POST', '/api/signup', { username: 'lou', password: PASSWORD }, { origin: 'https://auth.example.test' })).statusCode, 201);
    assert.equal((await nginxAsks(c, 'https://app.example.test/light/../heavy')).statusCode, 401);
    assert.equal((await nginxAsks(c, 'https://app.example.test/light/%2e%2e/heavy')).statusCode, 401);
  });

  it('answers the methods nginx keeps on its subrequest (POST without a body, any Content-Type)', async () => {
    const t = await gateApp();
    const c = await signedIn(t, 'ivy');
    const response = await t.app.inject({
      method: 'POST', url: '/api/authz/auth-request', remoteAddress: PROXY,
      headers: { 'x-original-url': 'https://app.example.test/form', 'x-original-method': 'POST', 'content-type': 'application/x-www-form-urlencoded', origin: 'https://app.example.test' },
      cookies: Object.fromEntries(c.cookies),
    });
    assert.equal(response.statusCode, 200, response.body);
  });

  it('signing out at the portal blocks every app at once: the next decision is 401', async () => {
    const t = await gateApp();
    const c = await signedIn(t, 'ivy');
    assert.equal((await nginxAsks(c, 'https://app.example.test/')).statusCode, 200);
    const stolen = new Map(c.cookies);
    assert.equal((await c.request('POST', '/api/logout', undefined, { origin: 'https://auth.example.test' })).statusCode, 204);
    const replay = client(t.app, PROXY);
    for (const [name, value] of stolen) replay.cookies.set(name, value);
    assert.equal((await nginxAsks(replay, 'https://app.example.test/')).statusCode, 401);
  });

  it('auth-request answers carry no body (Content-Length: 0) whatever the status, so nginx keeps its connection to otpgate; forward-auth keeps its refusal bodies', async () => {
    const t = await gateApp();
    const nobody = client(t.app, PROXY);
    const c = await signedIn(t, 'ivy');
    const answers = [
      await nginxAsks(c, 'https://app.example.test/'),
      await nginxAsks(nobody, 'https://app.example.test/'),
      await nginxAsks(c, 'https://app.example.test/admin'),
      await nginxAsks(c, 'not a url'),
      await nginxAsks(client(t.app, '203.0.113.9'), 'https://app.example.test/'),
    ];
    assert.deepEqual(answers.map((r) => r.statusCode), [200, 401, 403, 400, 403]);
    for (const r of answers) {
      assert.equal(r.body, '', `${r.statusCode}`);
      assert.equal(r.headers['content-length'], '0', `${r.statusCode}`);
    }
    assert.equal((await traefikAsks(c, 'app.example.test', '/')).body, '');
    const refused = await traefikAsks(nobody, 'app.example.test', '/', { accept: 'application/json' });
    assert.equal(refused.statusCode, 401);
    assert.equal(nobody.json(refused).error, 'unauthenticated');
  });

  it('a decision for a live session is one Store read (session, account and groups at once) and, inside the touch interval, writes nothing', async () => {
    const t = await gateApp();
    const c = await signedIn(t, 'ivy');
    const user = await t.store.getUserByUsername('ivy');
    assert.ok(user);
    await t.auth.addToGroup(user.id, 'admins');
    const calls: string[] = [];
    const store = t.store as unknown as Record<string, unknown>;
    for (const [name, value] of Object.entries(store)) {
      if (typeof value !== 'function') continue;
      const method = value as (...args: unknown[]) => unknown;
      store[name] = (...args: unknown[]) => {
        calls.push(name);
        return method(...args);
      };
    }
    const response = await nginxAsks(c, 'https://app.example.test/admin');
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['remote-groups'], 'admins');
    assert.deepEqual(calls, ['getSessionWithAccount']);
    // Past the touch interval the one write is last_seen_at.
    calls.length = 0;
    t.advance(60_000);
    assert.equal((await nginxAsks(c, 'https://app.example.test/admin')).statusCode, 200);
    assert.deepEqual(calls, ['getSessionWithAccount', 'touchSession']);
  });

  it('logs gate decisions one line each only at debug or trace, while other routes log at info', async () => {
    for (const [level, expected] of [['info', 0], ['debug', 2]] as const) {
      const dir = await mkdtemp(join(tmpdir(), 'otpgate-authz-log-'));
      const rules = join(dir, 'rules.yaml');
      await writeFile(rules, RULES);
      const config = loadConfig({ OTPGATE_DATA_DIR: dir, OTPGATE_PUBLIC_URL: 'https://auth.example.test', OTPGATE_TRUST_PROXY: PROXY, OTPGATE_ACCESS_RULES: rules, OTPGATE_LOG_LEVEL: level });
      const engine = await makeEngine();
      const chunks: string[] = [];
      const app = await build({ config, logger: createLogger(level, { write: (line: string) => void chunks.push(line) }), routes: createRoutes({ auth: engine.auth, config }) });
      const c = client(app, PROXY);
      assert.equal((await nginxAsks(c, 'https://app.example.test/x')).statusCode, 401);
      assert.equal((await nginxAsks(c, 'https://public.example.test/x')).statusCode, 200);
      assert.equal((await c.request('GET', '/api/health')).statusCode, 200);
      const completed = chunks.map((l) => JSON.parse(l) as { msg?: string; req?: { url?: string } }).filter((l) => l.msg === 'request completed');
      assert.equal(completed.filter((l) => l.req?.url?.startsWith('/api/authz/') === true).length, expected, level);
      assert.equal(completed.filter((l) => l.req?.url === '/api/health').length, 1, 'other routes still log at info');
      await app.close();
    }
  });
});
