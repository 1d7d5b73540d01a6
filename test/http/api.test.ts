import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertError, client, enrolledClient, makeApp, ORIGIN } from '../support/http.ts';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';

const PASSWORD = 'marigold-teapot-58';
type App = Awaited<ReturnType<typeof makeApp>>;



async function loginWithTOTP(t: App, secret: Uint8Array, username = 'ivy', ip?: string) {
  const c = client(t.app, ip);
  const started = await c.request('POST', '/api/login', { username, password: PASSWORD });
  assert.deepEqual(c.json(started), { status: 'otp_required', methods: ['totp', 'recovery'] });
  const verified = await c.request('POST', '/api/login/verify', { method: 'totp', code: generateTOTP(secret, t.now()) });
  assert.deepEqual(c.json(verified), { status: 'authenticated' });
  return c;
}

describe('POST /api/signup', () => {
  it('creates the account and sets a password-only session cookie with every attribute of I7', async () => {
    const t = await makeApp();
    const c = client(t.app);
    const response = await c.request('POST', '/api/signup', { username: 'Ivy', password: PASSWORD, email: 'ivy@example.test' });
    assert.equal(response.statusCode, 201);
    const body = c.json<{ user: { id: string; username: string } }>(response);
    assert.deepEqual(Object.keys(body.user).sort(), ['id', 'username']);
    assert.equal(body.user.username, 'ivy');
    const setCookie = String(response.headers['set-cookie']);
    assert.match(setCookie, /^__Host-otpgate-session=[A-Za-z0-9_-]{43}; Max-Age=86400; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    assert.doesNotMatch(setCookie, /Domain/i);
    assert.ok(!response.body.includes(c.cookies.get('__Host-otpgate-session') ?? '?'), 'the token is never in a body');
    assert.equal(c.json<{ level: number }>(await c.request('GET', '/api/me')).level, 1);
  });

  it('answers 400, 409 and 403 with their codes', async () => {
    const t = await makeApp();
    const c = client(t.app);
    assertError(await c.request('POST', '/api/signup', { username: 'ivy' }), 400, 'invalid_request');
    assertError(await c.request('POST', '/api/signup', { username: 'ivy', password: PASSWORD, admin: true }), 400, 'invalid_request');
    assertError(await c.request('POST', '/api/signup', { username: 'i v', password: PASSWORD }), 400, 'invalid_request');
    const weak = assertError(await c.request('POST', '/api/signup', { username: 'ivy', password: 'password1234' }), 400, 'weak_password');
    assert.match(String(weak.message), /too common/);
    assert.equal((await c.request('POST', '/api/signup', { username: 'ivy', password: PASSWORD })).statusCode, 201);
    assertError(await client(t.app).request('POST', '/api/signup', { username: 'IVY', password: PASSWORD }), 409, 'username_taken');
    for (let i = 0; i < 8; i++) await c.request('POST', '/api/signup', { username: `many${i}`, password: PASSWORD });
    const limited = assertError(await c.request('POST', '/api/signup', { username: 'one-more', password: PASSWORD }), 429, 'rate_limited');
    assert.equal(limited.retry_after, 60);
    const closed = await makeApp({ signup: 'closed' });
    assertError(await client(closed.app).request('POST', '/api/signup', { username: 'ivy', password: PASSWORD }), 403, 'signup_closed');
  });
});

describe('POST /api/login and the second step', () => {
  it('answers an unknown user and a wrong password identically', async () => {
    const t = await makeApp();
    await enrolledClient(t);
    const a = await client(t.app).request('POST', '/api/login', { username: 'ivy', password: 'wrong-password-9' });
    const b = await client(t.app).request('POST', '/api/login', { username: 'nobody', password: 'wrong-password-9' });
    assertError(a, 401, 'invalid_credentials');
    assert.equal(a.body, b.body);
    assert.equal(a.statusCode, b.statusCode);
    assert.equal(a.headers['set-cookie'], undefined);
    assert.equal(b.headers['set-cookie'], undefined);
  });

  it('logs in with TOTP: pending cookie, then a new level-2 session cookie; the pending cookie alone grants nothing', async () => {
    const t = await makeApp();
    const { secret } = await enrolledClient(t);
    const c = client(t.app);
    const started = await c.request('POST', '/api/login', { username: 'ivy', password: PASSWORD });
    assert.match(String(started.headers['set-cookie']), /^__Host-otpgate-pending=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    assertError(await c.request('GET', '/api/me'), 401, 'unauthenticated');
    assertError(await c.request('GET', '/api/sessions'), 401, 'unauthenticated');
    const wrong = assertError(await c.request('POST', '/api/login/verify', { method: 'totp', code: '000000' }), 401, 'invalid_code');
    assert.equal(wrong.attempts_left, 4);
    const ok = await c.request('POST', '/api/login/verify', { method: 'totp', code: generateTOTP(secret, t.now()).replace(/(\d{3})/, '$1 ') });
    assert.equal(ok.statusCode, 200);
    assert.match(String(ok.headers['set-cookie']), /__Host-otpgate-device=[A-Za-z0-9_-]{43}; Max-Age=31536000; Path=\/; HttpOnly; Secure; SameSite=Lax/);
    assert.equal(c.cookies.has('__Host-otpgate-pending'), false);
    const me = c.json<{ level: number; user: { username: string }; factors: Array<{ type: string; last_used_at: string | null }>; recovery_codes_left: number }>(await c.request('GET', '/api/me'));
    assert.equal(me.level, 2);
    assert.equal(me.user.username, 'ivy');
    assert.equal(me.factors[0]?.type, 'totp');
    assert.equal(me.recovery_codes_left, 10);
    assert.ok(me.factors[0]?.last_used_at);
  });

  it('kills a session id that existed before login (no fixation)', async () => {
    const t = await makeApp();
    const { secret } = await enrolledClient(t);
    const c = client(t.app);
    // A level-1 session planted before the login (e.g. from sign-up in another tab).
    await client(t.app).request('POST', '/api/signup', { username: 'other', password: PASSWORD });
    const planted = (await (async () => { const p = client(t.app); await p.request('POST', '/api/signup', { username: 'third', password: PASSWORD }); return p.cookies.get('__Host-otpgate-session'); })()) ?? '';
    c.cookies.set('__Host-otpgate-session', planted);
    await c.request('POST', '/api/login', { username: 'ivy', password: PASSWORD });
    await c.request('POST', '/api/login/verify', { method: 'totp', code: generateTOTP(secret, t.now()) });
    assert.notEqual(c.cookies.get('__Host-otpgate-session'), planted);
    const stale = client(t.app);
    stale.cookies.set('__Host-otpgate-session', planted);
    assertError(await stale.request('GET', '/api/me'), 401, 'unauthenticated');
  });

  it('sends, resends and verifies email codes; maps every failure to its status', async () => {
    const t = await makeApp();
    const c = client(t.app);
    await c.request('POST', '/api/signup', { username: 'emma', password: PASSWORD, email: 'em@example.test' });
    // The address counts once verified (issue 12): the code mailed at sign-up.
    assert.equal((await c.request('POST', '/api/email/verify', { code: t.outbox.lastCode('em@example.test') })).statusCode, 200);
    const started = await c.request('POST', '/api/login', { username: 'emma', password: PASSWORD });
    assert.deepEqual(c.json(started), { status: 'otp_required', methods: ['email'], sent: 'email' });
    const code = t.outbox.lastCode('em@example.test');
    assert.ok(!started.body.includes(code));
    const cooldown = assertError(await c.request('POST', '/api/login/send', { method: 'email' }), 429, 'rate_limited');
    assert.equal(cooldown.retry_after, 30);
    assert.equal(cooldown.retry_after, Number((await c.request('POST', '/api/login/send', { method: 'email' })).headers['retry-after']));
    assertError(await c.request('POST', '/api/login/send', { method: 'sms' }), 400, 'method_unavailable');
    t.advance(30_000);
    t.outbox.failing = true;
    assertError(await c.request('POST', '/api/login/send', { method: 'email' }), 503, 'delivery_failed');
    t.outbox.failing = false;
    t.advance(30_000);
    const sent = await c.request('POST', '/api/login/send', { method: 'email' });
    assert.equal(sent.statusCode, 202);
    assert.deepEqual(c.json(sent), { status: 'sent', method: 'email', expires_in: 300, resend_after: 30 });
    t.advance(301_000);
    assertError(await c.request('POST', '/api/login/verify', { method: 'email', code: t.outbox.lastCode('em@example.test') }), 410, 'code_expired');
    t.advance(30_000);
    await c.request('POST', '/api/login/send', { method: 'email' });
    assert.equal((await c.request('POST', '/api/login/verify', { method: 'email', code: t.outbox.lastCode('em@example.test') })).statusCode, 200);
    assertError(await c.request('POST', '/api/login/verify', { method: 'email', code: '123456' }), 401, 'login_expired');
    const emailFactor = c.json<{ factors: Array<{ type: string; last_used_at: string | null }> }>(await c.request('GET', '/api/me')).factors.find((f) => f.type === 'email');
    assert.equal(emailFactor?.last_used_at, new Date(t.now()).toISOString(), 'the last sign-in by email is its last use');
    assertError(await client(t.app).request('POST', '/api/login/send', { method: 'email' }), 401, 'login_expired');
  });

  it('answers 429 rate_limited with Retry-After when password guessing is throttled', async () => {
    const t = await makeApp();
    const c = client(t.app);
    for (let i = 0; i < 5; i++) await c.request('POST', '/api/login', { username: 'ivy', password: `nope-nope-${i}` });
    const limited = await c.request('POST', '/api/login', { username: 'ivy', password: 'nope-nope-x' });
    const body = assertError(limited, 429, 'rate_limited');
    assert.equal(limited.headers['retry-after'], String(body.retry_after));
  });

  it('answers 429 too_many_attempts when the account delays second-factor guesses', async () => {
    const t = await makeApp();
    const { secret } = await enrolledClient(t);
    for (let i = 0; i < 5; i++) {
      const c = client(t.app, `198.51.100.${i}`);
      await c.request('POST', '/api/login', { username: 'ivy', password: PASSWORD });
      assertError(await c.request('POST', '/api/login/verify', { method: 'totp', code: '000000' }), 401, 'invalid_code');
    }
    const c = client(t.app);
    await c.request('POST', '/api/login', { username: 'ivy', password: PASSWORD });
    const body = assertError(await c.request('POST', '/api/login/verify', { method: 'totp', code: generateTOTP(secret, t.now()) }), 429, 'too_many_attempts');
    assert.equal(body.retry_after, 1);
  });

  it('gives an account without a second factor an enrollment-only session', async () => {
    const t = await makeApp();
    await client(t.app).request('POST', '/api/signup', { username: 'new', password: PASSWORD });
    const c = client(t.app);
    assert.deepEqual(c.json(await c.request('POST', '/api/login', { username: 'new', password: PASSWORD })), { status: 'enrollment_required' });
    assert.equal(c.json<{ level: number }>(await c.request('GET', '/api/me')).level, 1);
    assertError(await c.request('GET', '/api/sessions'), 401, 'unauthenticated');
    assertError(await c.request('POST', '/api/recovery-codes', { password: PASSWORD }), 401, 'unauthenticated');
    assertError(await c.request('GET', '/api/activity'), 401, 'unauthenticated');
    assert.equal((await c.request('POST', '/api/factors/totp', {})).statusCode, 201);
  });
});

describe('factors, recovery codes, sessions, account', () => {
  it('enrolls an authenticator: QR and URI once, confirmation upgrades the session to level 2 with a new id', async () => {
    const t = await makeApp();
    const c = client(t.app);
    await c.request('POST', '/api/signup', { username: 'ivy', password: PASSWORD });
    const levelOne = c.cookies.get('__Host-otpgate-session');
    const begun = await c.request('POST', '/api/factors/totp', { label: 'Phone' });
    assert.equal(begun.statusCode, 201);
    const body = c.json<{ factor_id: string; secret: string; otpauth_uri: string; qr_svg: string }>(begun);
    assert.match(body.otpauth_uri, /^otpauth:\/\/totp\/otpgate:ivy\?secret=[A-Z2-7]{32}&issuer=otpgate&algorithm=SHA1&digits=6&period=30$/, 'SECURITY.md item 3: the URI has period=30');
    assert.match(body.qr_svg, /^<svg/);
    assertError(await c.request('POST', '/api/factors/totp/verify', { factor_id: body.factor_id, code: '000000' }), 401, 'invalid_code');
    assertError(await c.request('POST', '/api/factors/totp/verify', { factor_id: 'nope', code: '000000' }), 404, 'not_found');
    const ok = await c.request('POST', '/api/factors/totp/verify', { factor_id: body.factor_id, code: generateTOTP(decodeBase32(body.secret), t.now()) });
    assert.equal(ok.statusCode, 200);
    assert.equal(c.json<{ recovery_codes: string[] }>(ok).recovery_codes.length, 10);
    assert.notEqual(c.cookies.get('__Host-otpgate-session'), levelOne);
    assert.equal(c.json<{ level: number }>(await c.request('GET', '/api/me')).level, 2);
    const me = (await c.request('GET', '/api/me')).body;
    assert.ok(!me.includes(body.secret), 'the seed is never readable again');
  });

  it('removes an authenticator and regenerates recovery codes only with re-authentication', async () => {
    const t = await makeApp();
    const { c, secret, recoveryCodes } = await enrolledClient(t);
    const factorId = c.json<{ factors: Array<{ id: string }> }>(await c.request('GET', '/api/me')).factors[0]?.id ?? '';
    assertError(await c.request('POST', '/api/recovery-codes', { password: 'wrong-one-here' }), 401, 'reauth_required');
    assertError(await c.request('POST', '/api/recovery-codes', {}), 400, 'invalid_request');
    const fresh = c.json<{ recovery_codes: string[] }>(await c.request('POST', '/api/recovery-codes', { password: PASSWORD })).recovery_codes;
    assert.equal(fresh.length, 10);
    assert.notDeepEqual(fresh, recoveryCodes);
    assertError(await c.request('DELETE', `/api/factors/${factorId}`, { password: 'wrong-one-here' }), 401, 'reauth_required');
    assertError(await c.request('DELETE', `/api/factors/unknown`, { password: PASSWORD }), 404, 'not_found');
    assert.equal((await c.request('DELETE', `/api/factors/${factorId}`, { code: generateTOTP(secret, t.now()) })).statusCode, 204);
    assert.deepEqual(c.json<{ factors: unknown[] }>(await c.request('GET', '/api/me')).factors, []);
  });

  it('signs out another session from a sign-in older than ten minutes only with the password or a code', async () => {
    const t = await makeApp();
    const { c, secret } = await enrolledClient(t);
    t.advance(30_000);
    const other = await loginWithTOTP(t, secret, 'ivy', '203.0.113.9');
    const theirs = c.json<{ sessions: Array<{ id: string; current: boolean }> }>(await c.request('GET', '/api/sessions')).sessions.find((s) => !s.current);
    t.advance(11 * 60_000);
    await other.request('GET', '/api/me'); // keeps it from idling out
    const path = `/api/sessions/${theirs?.id ?? ''}`;
    assertError(await c.request('DELETE', path), 401, 'reauth_required');
    assertError(await c.request('DELETE', path, { password: 'not-the-password-1' }), 401, 'reauth_required');
    assertError(await c.request('DELETE', path, { password: PASSWORD, code: '123456' }), 400, 'invalid_request');
    assertError(await c.request('DELETE', path, { token: 'x' }), 400, 'invalid_request');
    assert.equal((await other.request('GET', '/api/me')).statusCode, 200, 'refusals end nothing');
    assert.equal((await c.request('DELETE', path, { password: PASSWORD })).statusCode, 204);
    assertError(await other.request('GET', '/api/me'), 401, 'unauthenticated');
  });

  it('lists sessions and revokes another one; logout revokes on the server', async () => {
    const t = await makeApp();
    const { c, secret } = await enrolledClient(t);
    const other = await loginWithTOTP(t, secret, 'ivy', '203.0.113.9');
    const list = c.json<{ sessions: Array<{ id: string; current: boolean; ip: string; user_agent: string }> }>(await c.request('GET', '/api/sessions')).sessions;
    assert.equal(list.length, 2);
    const theirs = list.find((s) => !s.current);
    assert.equal(theirs?.ip, '203.0.113.9');
    assertError(await c.request('DELETE', '/api/sessions/nope'), 404, 'not_found');
    assert.equal((await c.request('DELETE', `/api/sessions/${theirs?.id ?? ''}`)).statusCode, 204);
    assertError(await other.request('GET', '/api/me'), 401, 'unauthenticated');
    const token = c.cookies.get('__Host-otpgate-session') ?? '';
    const out = await c.request('POST', '/api/logout');
    assert.equal(out.statusCode, 204);
    const replay = client(t.app);
    replay.cookies.set('__Host-otpgate-session', token);
    assertError(await replay.request('GET', '/api/me'), 401, 'unauthenticated');
  });

  it('changes the password with the current one, verifies a phone, and shows activity', async () => {
    const t = await makeApp();
    const { c } = await enrolledClient(t);
    assertError(await c.request('POST', '/api/password', { current_password: 'not-it-at-all', new_password: 'lavender-harbor-11' }), 401, 'reauth_required');
    assertError(await c.request('POST', '/api/password', { current_password: PASSWORD, new_password: 'short' }), 400, 'weak_password');
    assert.equal((await c.request('POST', '/api/password', { current_password: PASSWORD, new_password: 'lavender-harbor-11' })).statusCode, 200);
    assertError(await c.request('POST', '/api/phone', { phone: '12345' }), 400, 'invalid_request');
    assert.equal((await c.request('POST', '/api/phone', { phone: '+14155550199' })).statusCode, 202);
    assertError(await c.request('POST', '/api/phone/verify', { code: '000000' === t.outbox.lastCode('+14155550199') ? '111111' : '000000' }), 401, 'invalid_code');
    assert.equal((await c.request('POST', '/api/phone/verify', { code: t.outbox.lastCode('+14155550199') })).statusCode, 200);
    assertError(await c.request('POST', '/api/phone', { phone: '+14155550198' }), 401, 'reauth_required');
    assert.equal((await c.request('POST', '/api/phone', { phone: '+14155550198', password: 'lavender-harbor-11' })).statusCode, 202);
    const events = c.json<{ events: Array<{ type: string }> }>(await c.request('GET', '/api/activity')).events.map((e) => e.type);
    for (const type of ['password_changed', 'phone_verified', 'factor_added', 'signup']) assert.ok(events.includes(type), type);
  });
});

describe('same-origin and input rules (I8, SECURITY.md 47–49)', () => {
  it('refuses a cross-site Origin, and Sec-Fetch-Site cross-site without Origin, with 403 forbidden_origin', async () => {
    const t = await makeApp();
    const c = client(t.app);
    assertError(await c.request('POST', '/api/login', { username: 'a', password: 'b' }, { origin: 'https://evil.example' }), 403, 'forbidden_origin');
    const r = await t.app.inject({ method: 'POST', url: '/api/login', headers: { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' }, payload: '{}' });
    assertError(r, 403, 'forbidden_origin');
    assertError(await c.request('POST', '/api/logout', undefined, { origin: `${ORIGIN}.evil.example` }), 403, 'forbidden_origin');
  });

  it('takes JSON bodies only: text/plain and form bodies get 415', async () => {
    const t = await makeApp();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const r = await t.app.inject({ method: 'POST', url: '/api/login', headers: { 'content-type': type, origin: ORIGIN }, payload: 'username=a&password=b' });
      assertError(r, 415, 'unsupported_media_type');
    }
  });

  it('never mutates on GET', async () => {
    const t = await makeApp();
    const { c } = await enrolledClient(t);
    for (const url of ['/api/logout', '/api/login', '/api/signup', '/api/recovery-codes', '/api/factors/totp']) {
      assert.equal((await c.request('GET', url)).statusCode, 404, url);
    }
    assert.equal(c.json<{ level: number }>(await c.request('GET', '/api/me')).level, 2);
  });

  it('does not reflect a foreign Origin (no CORS)', async () => {
    const t = await makeApp();
    const r = await t.app.inject({ method: 'GET', url: '/api/health', headers: { origin: 'https://evil.example' } });
    assert.equal(r.headers['access-control-allow-origin'], undefined);
  });

  it('refuses malformed JSON, wrong types, unknown fields and oversized bodies with generic messages', async () => {
    const t = await makeApp();
    const post = (payload: string) => t.app.inject({ method: 'POST', url: '/api/login/verify', headers: { 'content-type': 'application/json', origin: ORIGIN }, payload });
    const bad = assertError(await post('{"code": "12'), 400, 'invalid_request');
    assert.doesNotMatch(String(bad.message), /12|position|Unexpected/);
    assertError(await post('{"code": 123456, "method": "totp"}'), 400, 'invalid_request');
    assertError(await post('{"code": "123456", "method": "totp", "time": 0}'), 400, 'invalid_request');
    assertError(await post('{"code": "123456", "method": "carrier-pigeon"}'), 400, 'invalid_request');
    assertError(await post(JSON.stringify({ code: 'x'.repeat(20_000), method: 'totp' })), 413, 'payload_too_large');
  });

  it('sets the security headers on API answers', async () => {
    const t = await makeApp();
    const r = await client(t.app).request('POST', '/api/login', { username: 'a', password: 'b' });
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
    assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'none'/);
  });
});
