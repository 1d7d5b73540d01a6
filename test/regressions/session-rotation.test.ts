/**
 * Finding 8 and SECURITY.md item 37: a new session id (new token, old one dead) at sign-in,
 * at every change of level, at re-authentication and at password change.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, makeApp } from '../support/http.ts';
import type { Client } from '../support/http.ts';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';
import { COOKIE } from '../../src/http/cookies.ts';
import { FRESH_SIGN_IN_MS } from '../../src/auth/index.ts';

const PASSWORD = 'marigold-teapot-58';
type App = Awaited<ReturnType<typeof makeApp>>;

/** GET /api/me with only this session token: the status says whether the token still works. */
async function statusWith(t: App, token: string): Promise<number> {
  const response = await t.app.inject({ method: 'GET', url: '/api/me', cookies: { [COOKIE.session]: token }, remoteAddress: '192.0.2.20' });
  return response.statusCode;
}

function tokenOf(c: Client): string {
  const token = c.cookies.get(COOKIE.session);
  assert.ok(token, 'the client holds a session cookie');
  return token;
}

/** Sign-up and an authenticator over the API; the client ends at level 2. */
async function enrolled(t: App, username = 'ivy') {
  const c = client(t.app);
  assert.equal((await c.request('POST', '/api/signup', { username, password: PASSWORD })).statusCode, 201);
  const level1 = tokenOf(c);
  const begun = c.json<{ factor_id: string; secret: string }>(await c.request('POST', '/api/factors/totp', { label: 'Phone' }));
  const secret = decodeBase32(begun.secret);
  const confirmed = await c.request('POST', '/api/factors/totp/verify', { factor_id: begun.factor_id, code: generateTOTP(secret, t.now()) });
  assert.equal(confirmed.statusCode, 200, confirmed.body);
  t.advance(30_000);
  return { c, secret, level1 };
}

async function loginWithTOTP(t: App, secret: Uint8Array, username = 'ivy') {
  const c = client(t.app);
  assert.equal((await c.request('POST', '/api/login', { username, password: PASSWORD })).statusCode, 200);
  const verified = await c.request('POST', '/api/login/verify', { method: 'totp', code: generateTOTP(secret, t.now()) });
  assert.equal(verified.statusCode, 200, verified.body);
  return c;
}

/** Past the ten minutes in which a sign-in stands for re-authentication. */
function makeStale(t: App): void {
  t.advance(FRESH_SIGN_IN_MS + 60_000);
}

describe('finding 8: a new session id at re-authentication and password change', () => {
  it('finding 8: regenerating recovery codes with the password replaces the session token; the old one gets 401', async () => {
    const t = await makeApp();
    const { c } = await enrolled(t);
    makeStale(t);
    const before = tokenOf(c);
    const response = await c.request('POST', '/api/recovery-codes', { password: PASSWORD });
    assert.equal(response.statusCode, 200, response.body);
    const after = tokenOf(c);
    assert.notEqual(after, before, 'a new session cookie was set');
    assert.equal(await statusWith(t, before), 401, 'the old token is dead');
    assert.equal(await statusWith(t, after), 200, 'the new token works');
    assert.equal(c.json<{ level: number }>(await c.request('GET', '/api/me')).level, 2, 'at the same level');
  });

  it('finding 8: signing out another session with an authenticator code replaces the session token; the old one gets 401', async () => {
    const t = await makeApp();
    const { secret } = await enrolled(t);
    const other = await loginWithTOTP(t, secret);
    t.advance(30_000);
    const c = await loginWithTOTP(t, secret);
    makeStale(t);
    const before = tokenOf(c);
    const sessions = c.json<{ sessions: Array<{ id: string; current: boolean }> }>(await c.request('GET', '/api/sessions')).sessions;
    const target = sessions.find((s) => !s.current);
    assert.ok(target);
    const response = await c.request('DELETE', `/api/sessions/${target.id}`, { code: generateTOTP(secret, t.now()) });
    assert.equal(response.statusCode, 204, response.body);
    const after = tokenOf(c);
    assert.notEqual(after, before);
    assert.equal(await statusWith(t, before), 401, 'the old token is dead');
    assert.equal(await statusWith(t, after), 200);
    assert.ok(other.cookies.get(COOKIE.session));
  });

  it('finding 8: removing an authenticator with the password replaces the session token; the old one gets 401', async () => {
    const t = await makeApp();
    const { c } = await enrolled(t);
    // A second authenticator, so the account keeps a factor after the removal.
    const begun = c.json<{ factor_id: string; secret: string }>(await c.request('POST', '/api/factors/totp', { label: 'Spare' }));
    const spare = decodeBase32(begun.secret);
    assert.equal((await c.request('POST', '/api/factors/totp/verify', { factor_id: begun.factor_id, code: generateTOTP(spare, t.now()) })).statusCode, 200);
    makeStale(t);
    const before = tokenOf(c);
    const response = await c.request('DELETE', `/api/factors/${begun.factor_id}`, { password: PASSWORD });
    assert.equal(response.statusCode, 204, response.body);
    const after = tokenOf(c);
    assert.notEqual(after, before);
    assert.equal(await statusWith(t, before), 401, 'the old token is dead');
    assert.equal(await statusWith(t, after), 200);
  });

  it('finding 8: adding an authenticator to a stale session with the password replaces the session token', async () => {
    const t = await makeApp();
    const { c } = await enrolled(t);
    makeStale(t);
    const before = tokenOf(c);
    const response = await c.request('POST', '/api/factors/totp', { label: 'Tablet', password: PASSWORD });
    assert.equal(response.statusCode, 201, response.body);
    const after = tokenOf(c);
    assert.notEqual(after, before);
    assert.equal(await statusWith(t, before), 401, 'the old token is dead');
    assert.equal(await statusWith(t, after), 200);
  });

  it('finding 8: replacing a verified phone number with the password replaces the session token; the old one gets 401', async () => {
    const t = await makeApp();
    const { c } = await enrolled(t);
    assert.equal((await c.request('POST', '/api/phone', { phone: '+14155550123' })).statusCode, 202);
    const verified = await c.request('POST', '/api/phone/verify', { code: t.outbox.lastCode('+14155550123') });
    assert.equal(verified.statusCode, 200, verified.body);
    makeStale(t);
    const before = tokenOf(c);
    const response = await c.request('POST', '/api/phone', { phone: '+14155550124', password: PASSWORD });
    assert.equal(response.statusCode, 202, response.body);
    const after = tokenOf(c);
    assert.notEqual(after, before);
    assert.equal(await statusWith(t, before), 401, 'the old token is dead');
    assert.equal(await statusWith(t, after), 200);
  });

  it('finding 8: a password change gives the changing session a new token; the old token and the other sessions get 401', async () => {
    const t = await makeApp();
    const { c, secret } = await enrolled(t);
    const other = await loginWithTOTP(t, secret);
    const before = tokenOf(c);
    const response = await c.request('POST', '/api/password', { current_password: PASSWORD, new_password: 'quince-lantern-407' });
    assert.equal(response.statusCode, 200, response.body);
    const after = tokenOf(c);
    assert.notEqual(after, before, 'a new session cookie was set');
    assert.equal(await statusWith(t, before), 401, 'the old token is dead');
    assert.equal(await statusWith(t, tokenOf(other)), 401, 'the other session ended');
    assert.equal(await statusWith(t, after), 200, 'the new token works');
  });

  it('finding 8: a password change on the account page gives the browser a new token; the old one gets 401', async () => {
    const t = await makeApp();
    const { c } = await enrolled(t);
    const before = tokenOf(c);
    const page = await t.app.inject({ method: 'GET', url: '/', cookies: Object.fromEntries(c.cookies) });
    assert.equal(page.statusCode, 200);
    const cookies = Object.fromEntries([...c.cookies, ...page.cookies.map((k) => [k.name, k.value] as [string, string])]);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    assert.ok(csrf);
    const changed = await t.app.inject({
      method: 'POST',
      url: '/settings/password',
      headers: { origin: 'https://localhost:8443', 'content-type': 'application/x-www-form-urlencoded' },
      cookies,
      payload: new URLSearchParams({ _csrf: csrf, current_password: PASSWORD, new_password: 'quince-lantern-407' }).toString(),
    });
    assert.equal(changed.statusCode, 303, changed.body);
    const after = changed.cookies.find((k) => k.name === COOKIE.session)?.value;
    assert.ok(after && after !== before, 'a new session cookie was set');
    assert.equal(await statusWith(t, before), 401, 'the old token is dead');
    assert.equal(await statusWith(t, after), 200);
  });
});

describe('SECURITY.md item 37: a new id at login, at each step change and at re-authentication', () => {
  it('SECURITY.md item 37: a session id planted before sign-in is dead after it (session fixation)', async () => {
    const t = await makeApp();
    const { secret } = await enrolled(t);
    // The attacker's own valid session, planted in the victim's browser.
    const attacker = await enrolled(t, 'mallory');
    const planted = tokenOf(attacker.c);
    const victim = client(t.app);
    victim.cookies.set(COOKIE.session, planted);
    assert.equal((await victim.request('POST', '/api/login', { username: 'ivy', password: PASSWORD })).statusCode, 200);
    const verified = await victim.request('POST', '/api/login/verify', { method: 'totp', code: generateTOTP(secret, t.now()) });
    assert.equal(verified.statusCode, 200, verified.body);
    assert.notEqual(tokenOf(victim), planted);
    assert.equal(await statusWith(t, planted), 401, 'the planted id is dead');
  });

  it('SECURITY.md item 37: the password-only id is dead after the step to level 2', async () => {
    const t = await makeApp();
    const { c, level1 } = await enrolled(t);
    assert.notEqual(tokenOf(c), level1);
    assert.equal(await statusWith(t, level1), 401);
    assert.equal(await statusWith(t, tokenOf(c)), 200);
  });

  it('SECURITY.md item 37: the id is dead after a re-authentication', async () => {
    const t = await makeApp();
    const { c } = await enrolled(t);
    makeStale(t);
    const before = tokenOf(c);
    assert.equal((await c.request('POST', '/api/recovery-codes', { password: PASSWORD })).statusCode, 200);
    assert.equal(await statusWith(t, before), 401);
  });

  it('SECURITY.md item 37: an id the server never issued is refused', async () => {
    const t = await makeApp();
    assert.equal(await statusWith(t, 'A'.repeat(43)), 401);
  });
});
