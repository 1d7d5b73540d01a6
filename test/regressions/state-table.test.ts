/**
 * ARCHITECTURE.md "What each state may do", level-1 and pending-login rows, and the
 * SECURITY.md items that say so: 11 (the password-only state grants nothing else),
 * 12 (every pathway needs the second factor), 42 (removing a factor needs fresh proof).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, makeApp } from '../support/http.ts';
import type { Client } from '../support/http.ts';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';
import { COOKIE } from '../../src/http/cookies.ts';
import { PASSWORD, enrolledUser, formsOf, login, signup, startPages } from '../http/pages-browser.ts';

const API_PASSWORD = 'marigold-teapot-58';
type App = Awaited<ReturnType<typeof makeApp>>;

/** Every API route a level-1 session must not reach, with a body it would otherwise accept. */
const LEVEL_2_ROUTES: Array<[string, string, unknown?]> = [
  ['GET', '/api/sessions'],
  ['DELETE', '/api/sessions/some-id', { password: API_PASSWORD }],
  ['POST', '/api/password', { current_password: API_PASSWORD, new_password: 'another-long-passphrase-91' }],
  ['POST', '/api/phone', { phone: '+14155550123' }],
  ['POST', '/api/phone/verify', { code: '123456' }],
  ['POST', '/api/email', { email: 'new@example.test', password: API_PASSWORD }],
  ['GET', '/api/activity'],
  ['DELETE', '/api/factors/some-id', { password: API_PASSWORD }],
  ['POST', '/api/recovery-codes', { password: API_PASSWORD }],
];

async function enrolledAPIUser(t: App, username: string) {
  const c = client(t.app);
  assert.equal((await c.request('POST', '/api/signup', { username, password: API_PASSWORD })).statusCode, 201);
  const begun = c.json<{ factor_id: string; secret: string }>(await c.request('POST', '/api/factors/totp', {}));
  const seed = decodeBase32(begun.secret);
  const confirmed = await c.request('POST', '/api/factors/totp/verify', { factor_id: begun.factor_id, code: generateTOTP(seed, t.now()) });
  assert.equal(confirmed.statusCode, 200, confirmed.body);
  t.advance(30_000);
  const me = c.json<{ factors: Array<{ id: string }> }>(await c.request('GET', '/api/me'));
  return { c, seed, factorId: me.factors[0]?.id ?? '' };
}

describe('SECURITY.md item 11: the password-only (level 1) state grants only enrollment', () => {
  it('SECURITY.md item 11: a level-1 cookie gets 401 on every API route but enrollment, email verification, /api/me and logout', async () => {
    const t = await makeApp();
    const c = client(t.app);
    assert.equal((await c.request('POST', '/api/signup', { username: 'nina', password: API_PASSWORD, email: 'nina@example.test' })).statusCode, 201);
    for (const [method, url, body] of LEVEL_2_ROUTES) {
      const r = await c.request(method, url, body);
      assert.equal(r.statusCode, 401, `${method} ${url}: ${r.body}`);
      assert.equal(c.json(r).error, 'unauthenticated', `${method} ${url}`);
    }
    // What the row allows.
    assert.equal((await c.request('GET', '/api/me')).statusCode, 200);
    assert.equal((await c.request('POST', '/api/factors/totp', {})).statusCode, 201);
    const verify = await c.request('POST', '/api/email/verify', { code: '000000' === t.outbox.lastCode('nina@example.test') ? '111111' : '000000' });
    assert.equal(c.json(verify).error, 'invalid_code', 'reached the route; refused only for the code');
    assert.equal((await c.request('POST', '/api/logout')).statusCode, 204);
    assert.equal((await c.request('GET', '/api/me')).statusCode, 401);
  });

  it('SECURITY.md item 11: a level-1 browser reaches no account page, only the authenticator setup and "Check your email"', async () => {
    const t = await startPages();
    try {
      const b = t.browser();
      const signedUp = await signup(b, { username: 'olga', password: PASSWORD, email: 'olga@example.test' });
      assert.equal(signedUp.location, '/settings/email');
      const check = await b.get('/settings/email');
      assert.equal(check.status, 200);
      assert.match(check.body, /Check your email/);
      assert.ok(formsOf(check.body).some((f) => f.action === '/settings/email/verify'));
      assert.equal((await b.get('/settings/totp')).status, 200);
      for (const path of ['/', '/settings/phone/confirm']) assert.equal((await b.get(path)).location, '/settings/totp', path);
      const token = formsOf(check.body)[0]?.fields._csrf ?? '';
      for (const path of ['/settings/password', '/settings/recovery-codes', '/settings/sessions/revoke', '/settings/phone', '/settings/factors/remove']) {
        assert.equal((await b.post(path, { _csrf: token })).location, '/settings/totp', path);
      }
    } finally {
      await t.close();
    }
  });

  it('SECURITY.md item 11: the level-1 state expires (10 minutes) and ends when the account gains a factor', async () => {
    const t = await makeApp();
    const early = client(t.app);
    await early.request('POST', '/api/signup', { username: 'pia', password: API_PASSWORD });
    t.advance(10 * 60_000);
    assert.equal((await early.request('GET', '/api/me')).statusCode, 401);
    const stranger = client(t.app, '192.0.2.99');
    assert.equal(stranger.json(await stranger.request('POST', '/api/login', { username: 'pia', password: API_PASSWORD })).status, 'enrollment_required');
    const owner = client(t.app);
    await owner.request('POST', '/api/login', { username: 'pia', password: API_PASSWORD });
    const begun = owner.json<{ factor_id: string; secret: string }>(await owner.request('POST', '/api/factors/totp', {}));
    await owner.request('POST', '/api/factors/totp/verify', { factor_id: begun.factor_id, code: generateTOTP(decodeBase32(begun.secret), t.now()) });
    assert.equal((await stranger.request('GET', '/api/me')).statusCode, 401);
  });
});

describe('SECURITY.md item 12: no pathway completes sign-in without the second factor', () => {
  it('SECURITY.md item 12: for an enrolled account, the right password over the API opens no session of any level', async () => {
    const t = await makeApp();
    await enrolledAPIUser(t, 'quinn');
    const c: Client = client(t.app, '192.0.2.55');
    const r = await c.request('POST', '/api/login', { username: 'quinn', password: API_PASSWORD });
    assert.deepEqual(c.json(r), { status: 'otp_required', methods: ['totp', 'recovery'] });
    assert.equal(c.cookies.has(COOKIE.session), false);
    for (const [method, url, body] of [...LEVEL_2_ROUTES, ['GET', '/api/me'], ['POST', '/api/factors/totp', {}], ['POST', '/api/email/verify', { code: '123456' }]] as const) {
      assert.equal((await c.request(method, url, body)).statusCode, 401, `${method} ${url}`);
    }
    // A method the account does not have is refused, not taken as proof.
    assert.equal((await c.request('POST', '/api/login/verify', { method: 'email', code: '123456' })).statusCode, 400);
    assert.equal(c.cookies.has(COOKIE.session), false);
  });

  it('SECURITY.md item 12: for an enrolled account, the right password on the pages leads only to the code page', async () => {
    const t = await startPages();
    try {
      const owner = t.browser();
      await enrolledUser(t, owner, 'rita');
      const b = t.browser();
      const started = await login(b, 'rita');
      assert.equal(started.location, '/login/otp');
      assert.equal(b.cookies.has(COOKIE.session), false);
      for (const path of ['/', '/settings/totp', '/settings/email']) assert.equal((await b.get(path)).location, '/login', path);
    } finally {
      await t.close();
    }
  });

  it('SECURITY.md item 12: an email-only account under OTPGATE_FACTORS=totp,recovery gets no full session from its email code', async () => {
    const first = await makeApp();
    await first.auth.createAccount({ username: 'sam', password: API_PASSWORD, email: 'sam@example.test' });
    const t = await makeApp({ store: first.store, factors: ['totp', 'recovery'] }, { OTPGATE_FACTORS: 'totp,recovery' });
    const c = client(t.app);
    await c.request('POST', '/api/login', { username: 'sam', password: API_PASSWORD });
    await c.request('POST', '/api/login/verify', { method: 'email', code: t.outbox.lastCode('sam@example.test') });
    for (const [method, url, body] of LEVEL_2_ROUTES) assert.equal((await c.request(method, url, body)).statusCode, 401, `${method} ${url}`);
  });
});

describe('SECURITY.md item 42: removing a factor needs full re-authentication', () => {
  it('SECURITY.md item 42: removing an authenticator with only the session cookie is refused', async () => {
    const t = await makeApp();
    const { c, factorId } = await enrolledAPIUser(t, 'tom');
    const url = `/api/factors/${factorId}`;
    assert.equal((await c.request('DELETE', url)).statusCode, 400, 'no proof: refused by the schema');
    assert.equal((await c.request('DELETE', url, {})).statusCode, 400);
    const wrong = await c.request('DELETE', url, { password: 'not-the-password-42' });
    assert.equal(wrong.statusCode, 401);
    assert.equal(c.json(wrong).error, 'reauth_required');
    const wrongCode = await c.request('DELETE', url, { code: '000000' });
    assert.equal(wrongCode.statusCode, 401);
    const me = c.json<{ factors: unknown[] }>(await c.request('GET', '/api/me'));
    assert.equal(me.factors.length, 1, 'the authenticator is still there');
    assert.equal((await c.request('DELETE', url, { password: API_PASSWORD })).statusCode, 204);
  });
});
