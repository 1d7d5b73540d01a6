/**
 * Cross-site request forgery (I8; SECURITY.md items 47, 48): every state-changing API
 * route and page form, sent as the signed-in victim's browser would send a forged
 * request — another Origin, `Origin: null`, no Origin with a cross-site Sec-Fetch-Site,
 * no or a foreign form token, a `text/plain` or form-encoded body, the mutation as a GET
 * — is refused (403, 415, 404/405), and the database is unchanged afterwards. Each forged
 * request carries what would otherwise succeed (the right password, a valid form token
 * where the vector is not the token), and controls at the end show the same requests
 * sent properly do change the state.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Agent } from 'node:https';
import type { RunningServer } from '../support/server.ts';
import type { AttackClient, Authenticator, RawResponse } from '../support/attack.ts';
import {
  SecretLog, assertNoSecretsLogged, attackClient, cookieHeader, csrfTokenOf, freshTOTPCode, serverForFile, sendRaw, signupWithAuthenticator,
} from '../support/attack.ts';

const PASSWORD = 'csrf-Canary-Pw-6a1f90';
const NEW_PASSWORD = 'csrf-Canary-Pw2-d83b15';
const EVIL = 'https://evil.example';

let server: RunningServer;
let agent: Agent;
const secrets = new SecretLog();
secrets.add(PASSWORD, NEW_PASSWORD);

serverForFile({ OTPGATE_LOG_LEVEL: 'trace' }, 4, (s, a) => {
  server = s;
  agent = a;
});

/** Every row of every table (sessions without last_seen_at, which reads may touch), as one string. */
function snapshot(): string {
  const db = new DatabaseSync(join(server.dataDir, 'otpgate.db'), { readOnly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => String(r.name));
    return JSON.stringify(tables.map((table) => {
      const rows = db.prepare(`SELECT * FROM "${table}"`).all().map((row) => {
        const copy: Record<string, unknown> = { ...row };
        if (table === 'sessions') delete copy.last_seen_at;
        return JSON.stringify(copy);
      });
      return [table, rows.sort()];
    }));
  } finally {
    db.close();
  }
}

interface Target {
  name: string;
  kind: 'api' | 'page';
  method: string;
  path: string;
  fields: Record<string, string>;
}

interface Vector {
  name: string;
  /** Applies to API routes, pages, or both. */
  to: 'api' | 'page' | 'both';
  expect: number[];
  /** Builds the forged request from the victim's browser state. */
  build(target: Target, browser: Browser): { method: string; path: string; headers: Record<string, string>; body?: string };
}

interface Browser {
  cookies: Map<string, string>;
  /** A valid form token for the browser's CSRF cookie. */
  token: string;
}

const json = (t: Target) => JSON.stringify(t.fields);
const form = (t: Target, token: string | undefined) => new URLSearchParams({ ...t.fields, ...(token === undefined ? {} : { _csrf: token }) }).toString();
const bodyOf = (t: Target, b: Browser) => (t.kind === 'api' ? json(t) : form(t, b.token));
const typeOf = (t: Target) => (t.kind === 'api' ? 'application/json' : 'application/x-www-form-urlencoded');

function withCookies(b: Browser, headers: Record<string, string>, cookies = b.cookies): Record<string, string> {
  return { 'user-agent': 'victim-browser', cookie: cookieHeader(cookies), ...headers };
}

const VECTORS: Vector[] = [
  ...[EVIL, 'null', 'http://localhost', 'https://localhost.evil.example'].map((origin): Vector => ({
    name: `Origin: ${origin}`,
    to: 'both',
    expect: [403],
    build: (t, b) => ({ method: t.method, path: t.path, headers: withCookies(b, { origin, 'content-type': typeOf(t), 'sec-fetch-site': 'cross-site' }), body: bodyOf(t, b) }),
  })),
  {
    name: 'an origin on another port',
    to: 'both',
    expect: [403],
    build: (t, b) => ({ method: t.method, path: t.path, headers: withCookies(b, { origin: `https://localhost:${server.port === 1 ? 2 : server.port - 1}`, 'content-type': typeOf(t) }), body: bodyOf(t, b) }),
  },
  ...['cross-site', 'same-site'].map((site): Vector => ({
    name: `no Origin, Sec-Fetch-Site: ${site}`,
    to: 'both',
    expect: [403],
    build: (t, b) => ({ method: t.method, path: t.path, headers: withCookies(b, { 'sec-fetch-site': site, 'content-type': typeOf(t) }), body: bodyOf(t, b) }),
  })),
  {
    name: 'a form without its token',
    to: 'page',
    expect: [403],
    build: (t, b) => ({ method: t.method, path: t.path, headers: withCookies(b, { origin: server.origin, 'content-type': typeOf(t) }), body: form(t, undefined) }),
  },
  {
    name: "another browser's form token",
    to: 'page',
    expect: [403],
    build: (t, b) => ({ method: t.method, path: t.path, headers: withCookies(b, { origin: server.origin, 'content-type': typeOf(t) }), body: form(t, attacker.token) }),
  },
  {
    name: 'the token without its cookie',
    to: 'page',
    expect: [403],
    build: (t, b) => {
      const cookies = new Map(b.cookies);
      cookies.delete('__Host-otpgate-csrf');
      return { method: t.method, path: t.path, headers: withCookies(b, { origin: server.origin, 'content-type': typeOf(t) }, cookies), body: form(t, b.token) };
    },
  },
  {
    name: "the attacker's own cookie and token, were a cookie planted",
    to: 'page',
    expect: [403],
    // A consistent pair that is not the victim's (a __Host- cookie cannot be planted from another site): the Origin check still refuses.
    build: (t, b) => {
      const cookies = new Map(b.cookies);
      cookies.set('__Host-otpgate-csrf', attacker.cookies.get('__Host-otpgate-csrf') ?? '');
      return { method: t.method, path: t.path, headers: withCookies(b, { origin: EVIL, 'content-type': typeOf(t) }, cookies), body: form(t, attacker.token) };
    },
  },
  ...(['no Origin', 'same origin'] as const).map((from): Vector => ({
    name: `a text/plain body, ${from}`,
    to: 'both',
    expect: [415],
    build: (t, b) => ({ method: t.method, path: t.path, headers: withCookies(b, { ...(from === 'same origin' ? { origin: server.origin } : {}), 'content-type': 'text/plain' }), body: bodyOf(t, b) }),
  })),
  {
    name: 'a text/plain body from another site',
    to: 'both',
    expect: [403, 415],
    build: (t, b) => ({ method: t.method, path: t.path, headers: withCookies(b, { origin: EVIL, 'content-type': 'text/plain;charset=UTF-8' }), body: bodyOf(t, b) }),
  },
  {
    name: 'a form-encoded body to the JSON API, no Origin',
    to: 'api',
    expect: [415],
    build: (t, b) => ({ method: t.method, path: t.path, headers: withCookies(b, { 'content-type': 'application/x-www-form-urlencoded' }), body: form(t, undefined) }),
  },
  {
    name: 'a multipart form body, no Origin',
    to: 'both',
    expect: [415],
    build: (t, b) => {
      const parts = Object.entries({ ...t.fields, _csrf: b.token }).map(([k, v]) => `--x\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('');
      return { method: t.method, path: t.path, headers: withCookies(b, { 'content-type': 'multipart/form-data; boundary=x' }), body: `${parts}--x--\r\n` };
    },
  },
  {
    name: 'the mutation as a GET (fields in the query, X-HTTP-Method-Override and _method)',
    to: 'both',
    expect: [404, 405],
    build: (t, b) => ({
      method: 'GET',
      path: `${t.path}?${form(t, b.token)}&_method=${t.method}`,
      headers: withCookies(b, { 'x-http-method-override': t.method, 'sec-fetch-site': 'cross-site' }),
    }),
  },
];

/** GET routes that exist (they only show a page or redirect): a GET there answers 200 or 303 and must change nothing. */
const READ_ONLY_PAGES = new Set(['/signup', '/login', '/logout', '/settings/totp', '/settings/phone/confirm', '/settings/recovery-codes']);

let victim: AttackClient;
let auth: Authenticator;
let browser: Browser;
let attacker: Browser;
let otherSessionId: string;

async function pageBrowser(c: AttackClient, path: string): Promise<Browser> {
  const page = await c.request('GET', path);
  assert.equal(page.status, 200, page.body.slice(0, 200));
  return { cookies: c.cookies, token: csrfTokenOf(page.body) };
}

function targets(): Target[] {
  const factorId = auth.factorId;
  return [
    { name: 'sign-up', kind: 'api', method: 'POST', path: '/api/signup', fields: { username: 'csrf-planted', password: PASSWORD } },
    { name: 'login', kind: 'api', method: 'POST', path: '/api/login', fields: { username: 'csrf-victim', password: PASSWORD } },
    { name: 'password change', kind: 'api', method: 'POST', path: '/api/password', fields: { current_password: PASSWORD, new_password: NEW_PASSWORD } },
    { name: 'recovery codes', kind: 'api', method: 'POST', path: '/api/recovery-codes', fields: { password: PASSWORD } },
    { name: 'remove authenticator', kind: 'api', method: 'DELETE', path: `/api/factors/${factorId}`, fields: { password: PASSWORD } },
    { name: 'add authenticator', kind: 'api', method: 'POST', path: '/api/factors/totp', fields: { label: 'planted' } },
    { name: 'end a session', kind: 'api', method: 'DELETE', path: `/api/sessions/${otherSessionId}`, fields: {} },
    { name: 'phone number', kind: 'api', method: 'POST', path: '/api/phone', fields: { phone: '+14155550123', password: PASSWORD } },
    { name: 'logout', kind: 'api', method: 'POST', path: '/api/logout', fields: {} },
    { name: 'sign-up form', kind: 'page', method: 'POST', path: '/signup', fields: { username: 'csrf-planted2', password: PASSWORD } },
    { name: 'login form', kind: 'page', method: 'POST', path: '/login', fields: { username: 'csrf-victim', password: PASSWORD } },
    { name: 'password form', kind: 'page', method: 'POST', path: '/settings/password', fields: { current_password: PASSWORD, new_password: NEW_PASSWORD } },
    { name: 'recovery codes form', kind: 'page', method: 'POST', path: '/settings/recovery-codes', fields: { password: PASSWORD } },
    { name: 'remove authenticator form', kind: 'page', method: 'POST', path: '/settings/factors/remove', fields: { factor_id: factorId, password: PASSWORD } },
    { name: 'add authenticator form', kind: 'page', method: 'POST', path: '/settings/totp', fields: { label: 'planted' } },
    { name: 'end a session form', kind: 'page', method: 'POST', path: '/settings/sessions/revoke', fields: { session_id: otherSessionId } },
    { name: 'phone form', kind: 'page', method: 'POST', path: '/settings/phone', fields: { phone: '+14155550123', password: PASSWORD } },
    { name: 'logout form', kind: 'page', method: 'POST', path: '/logout', fields: {} },
  ];
}

void describe('CSRF: forged requests from the signed-in victim\'s browser are refused and change nothing (item 47)', () => {
  void it('sets up a victim with an authenticator, a second session and a form token', async () => {
    victim = attackClient(server, agent);
    auth = await signupWithAuthenticator(victim, 'csrf-victim', PASSWORD);
    secrets.addAuthenticator(auth);
    browser = await pageBrowser(victim, '/');
    secrets.add(browser.token);

    const other = attackClient(server, agent);
    assert.equal((await other.request('POST', '/api/login', { username: 'csrf-victim', password: PASSWORD })).status, 200);
    const code = freshTOTPCode(auth);
    assert.equal((await other.request('POST', '/api/login/verify', { method: 'totp', code: code.code })).status, 200);
    auth.lastStep = code.step;
    secrets.add(code.code);
    const sessions = await victim.request('GET', '/api/sessions');
    otherSessionId = sessions.json<{ sessions: Array<{ id: string; current: boolean }> }>().sessions.find((s) => !s.current)?.id ?? '';
    assert.notEqual(otherSessionId, '');

    attacker = await pageBrowser(attackClient(server, agent), '/login');
    secrets.addCookies(victim.cookies);
    secrets.addCookies(other.cookies);
    secrets.addCookies(attacker.cookies);
  });

  void it('refuses every vector on every state-changing route, and nothing changes', async () => {
    const failures: string[] = [];
    let sent = 0;
    let before = snapshot();
    for (const target of targets()) {
      for (const vector of VECTORS) {
        if (vector.to !== 'both' && vector.to !== target.kind) continue;
        const forged = vector.build(target, browser);
        const r: RawResponse = await sendRaw(server, agent, forged);
        sent++;
        const label = `${target.name} (${target.method} ${target.path}) × ${vector.name}`;
        const readOnlyGet = forged.method === 'GET' && READ_ONLY_PAGES.has(target.path);
        if (!(readOnlyGet ? [200, 303] : vector.expect).includes(r.status)) failures.push(`${label}: answered ${r.status} ${r.body.slice(0, 120)}`);
        if (target.kind === 'api' && r.status === 403) {
          if (r.json().error !== 'forbidden_origin') failures.push(`${label}: 403 body ${r.body.slice(0, 120)}`);
        }
        if (target.kind === 'page' && r.status === 403 && !/expired/i.test(r.body)) failures.push(`${label}: 403 page does not say the form expired`);
        if (r.headers['access-control-allow-origin'] !== undefined) failures.push(`${label}: Access-Control-Allow-Origin ${String(r.headers['access-control-allow-origin'])}`);
        if (r.headers['set-cookie']?.some((c) => c.startsWith('__Host-otpgate-session=') && !/Max-Age=0/i.test(c))) failures.push(`${label}: issued a session cookie`);
        const now = snapshot();
        if (now !== before) {
          failures.push(`${label}: the database changed`);
          before = now;
        }
      }
    }
    console.log(`# CSRF matrix: ${sent} forged requests over ${targets().length} routes and ${VECTORS.length} vectors`);
    assert.deepEqual(failures, []);
    assert.equal((await victim.request('GET', '/api/me')).status, 200, 'the victim is still signed in');
  });

  void it('neither reflects a foreign Origin nor allows it in a CORS preflight, and has no JSONP (item 48)', async () => {
    for (const path of ['/api/me', '/api/login', '/api/password', '/login']) {
      const preflight = await sendRaw(server, agent, {
        method: 'OPTIONS',
        path,
        headers: { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      assert.ok(preflight.status >= 400 && preflight.status < 500, `OPTIONS ${path}: ${preflight.status}`);
      assert.equal(preflight.headers['access-control-allow-origin'], undefined);
      assert.equal(preflight.headers['access-control-allow-credentials'], undefined);
    }
    const jsonp = await sendRaw(server, agent, { method: 'GET', path: '/api/me?callback=steal&jsonp=steal', headers: { origin: EVIL, cookie: cookieHeader(victim.cookies) } });
    assert.equal(jsonp.status, 200);
    assert.equal(jsonp.headers['access-control-allow-origin'], undefined);
    assert.match(String(jsonp.headers['content-type']), /^application\/json/);
    assert.ok(jsonp.body.startsWith('{'), 'plain JSON, not a script');
  });

  void it('controls: the same requests sent properly do change the state', async () => {
    const before = snapshot();
    const api = await victim.request('POST', '/api/recovery-codes', { password: PASSWORD });
    assert.equal(api.status, 200, api.body);
    for (const code of api.json<{ recovery_codes: string[] }>().recovery_codes) secrets.add(code);
    const afterAPI = snapshot();
    assert.notEqual(afterAPI, before);

    const page = await sendRaw(server, agent, {
      method: 'POST',
      path: '/settings/password',
      headers: withCookies(browser, { origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }),
      body: form({ name: '', kind: 'page', method: 'POST', path: '', fields: { current_password: PASSWORD, new_password: NEW_PASSWORD } }, browser.token),
    });
    assert.equal(page.status, 303, page.body.slice(0, 200));
    assert.notEqual(snapshot(), afterAPI);
  });

  void it('logged none of the secrets it used', () => {
    assertNoSecretsLogged(server.output(), secrets);
  });
});
