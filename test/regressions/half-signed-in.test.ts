/**
 * Issue 12, the half-signed-in (level 1) state: findings 1, 4, 11 (unverified email),
 * 16 and 20 (level-1 /api/me), through the JSON API on a real in-memory engine.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, makeApp } from '../support/http.ts';
import type { Client } from '../support/http.ts';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';
import { PASSWORD as PAGE_PASSWORD, enrolledUser, loginWithTOTP, startPages, totpKeyFrom } from '../http/pages-browser.ts';

const PASSWORD = 'marigold-teapot-58';
type App = Awaited<ReturnType<typeof makeApp>>;

async function signup(t: App, username: string, email?: string): Promise<Client> {
  const c = client(t.app);
  const r = await c.request('POST', '/api/signup', { username, password: PASSWORD, ...(email ? { email } : {}) });
  assert.equal(r.statusCode, 201, r.body);
  return c;
}

async function passwordLogin(t: App, username: string, ip = '192.0.2.66'): Promise<{ c: Client; body: Record<string, unknown> }> {
  const c = client(t.app, ip);
  const r = await c.request('POST', '/api/login', { username, password: PASSWORD });
  assert.equal(r.statusCode, 200, r.body);
  return { c, body: c.json(r) };
}

async function enroll(t: App, c: Client, extra: Record<string, unknown> = {}) {
  const begun = await c.request('POST', '/api/factors/totp', { label: 'Phone' });
  assert.equal(begun.statusCode, 201, begun.body);
  const { factor_id, secret } = c.json<{ factor_id: string; secret: string }>(begun);
  const seed = decodeBase32(secret);
  const confirmed = await c.request('POST', '/api/factors/totp/verify', { factor_id, code: generateTOTP(seed, t.now()), ...extra });
  assert.equal(confirmed.statusCode, 200, confirmed.body);
  t.advance(30_000);
  return seed;
}

describe('finding 1: a password-only session does not outlive the first second factor', () => {
  it('finding 1: the owner confirming an authenticator ends the attacker\'s level-1 session, which can no longer enroll', async () => {
    const t = await makeApp();
    const owner = await signup(t, 'alice');
    const attacker = await passwordLogin(t, 'alice');
    assert.equal(attacker.body.status, 'enrollment_required');
    // The attacker starts binding its own app before the owner confirms hers.
    const attackerStart = attacker.c.json<{ factor_id: string; secret: string }>(await attacker.c.request('POST', '/api/factors/totp', {}));
    await enroll(t, owner);
    assert.equal((await attacker.c.request('GET', '/api/me')).statusCode, 401);
    assert.equal((await attacker.c.request('POST', '/api/factors/totp', {})).statusCode, 401);
    const late = await attacker.c.request('POST', '/api/factors/totp/verify', {
      factor_id: attackerStart.factor_id, code: generateTOTP(decodeBase32(attackerStart.secret), t.now()),
    });
    assert.equal(late.statusCode, 401, late.body);
    assert.equal(errorOf(late), 'unauthenticated');
    // The owner's account has exactly her authenticator.
    const me = owner.json<{ level: number; factors: unknown[] }>(await owner.request('GET', '/api/me'));
    assert.equal(me.level, 2);
    assert.equal(me.factors.length, 1);
  });

  it('finding 1: a level-1 session ends 10 minutes after it began, however active', async () => {
    const t = await makeApp();
    const c = await signup(t, 'bob');
    for (let i = 0; i < 4; i++) {
      t.advance(2 * 60_000);
      assert.equal((await c.request('GET', '/api/me')).statusCode, 200);
    }
    t.advance(2 * 60_000 + 1000);
    assert.equal((await c.request('GET', '/api/me')).statusCode, 401);
  });

  it('finding 1: confirming with end_other_sessions ends every other session of the account', async () => {
    const t = await makeApp();
    const owner = await signup(t, 'carol');
    const seed = await enroll(t, owner);
    const other = client(t.app, '192.0.2.77');
    await other.request('POST', '/api/login', { username: 'carol', password: PASSWORD });
    assert.equal((await other.request('POST', '/api/login/verify', { method: 'totp', code: generateTOTP(seed, t.now()) })).statusCode, 200);
    t.advance(30_000);
    await enroll(t, owner, { end_other_sessions: true });
    assert.equal((await other.request('GET', '/api/me')).statusCode, 401);
    assert.equal((await owner.request('GET', '/api/me')).statusCode, 200);
  });
});

describe('finding 1 on the pages', () => {
  it('finding 1: the confirm form\'s "sign out every other session" box ends the account\'s other sessions', async () => {
    const t = await startPages();
    try {
      const owner = t.browser();
      const { key } = await enrolledUser(t, owner, 'uma');
      const other = t.browser();
      assert.equal((await loginWithTOTP(t, other, 'uma', key)).status, 303);
      assert.equal((await other.get('/')).status, 200);
      t.engine.advance(30_000);
      const qr = await owner.follow(await owner.submit(await owner.get('/settings/totp'), '/settings/totp', { password: PAGE_PASSWORD }));
      const second = totpKeyFrom(qr.body);
      const done = await owner.submit(qr, '/settings/totp/confirm', { code: generateTOTP(second, t.engine.now()), end_other_sessions: '1' });
      assert.equal(done.status, 303, done.body.slice(0, 200));
      assert.equal((await other.get('/')).location, '/login');
      assert.equal((await owner.get('/')).status, 200);
    } finally {
      await t.close();
    }
  });
});

function errorOf(r: { body: string }): unknown {
  return (JSON.parse(r.body) as Record<string, unknown>).error;
}

describe('finding 4: an email-only account after OTPGATE_FACTORS=totp,recovery', () => {
  it('finding 4: the password alone no longer yields an enrollment session; one code to the verified email does (level 1)', async () => {
    const first = await makeApp();
    const created = await first.auth.createAccount({ username: 'dora', password: PASSWORD, email: 'dora@example.test' });
    assert.equal(created.status, 'ok');
    // The operator switches to NIST AAL2 factors; same database.
    const t = await makeApp({ store: first.store, factors: ['totp', 'recovery'] }, { OTPGATE_FACTORS: 'totp,recovery' });
    const { c, body } = await passwordLogin(t, 'dora');
    assert.deepEqual(body, { status: 'otp_required', methods: ['email'], sent: 'email' });
    assert.equal((await c.request('POST', '/api/factors/totp', {})).statusCode, 401, 'no session from the password alone');
    const verified = await c.request('POST', '/api/login/verify', { method: 'email', code: t.outbox.lastCode('dora@example.test') });
    assert.equal(verified.statusCode, 200, verified.body);
    assert.deepEqual(c.json(verified), { status: 'enrollment_required' });
    assert.equal(c.json<{ level: number }>(await c.request('GET', '/api/me')).level, 1);
    await enroll(t, c);
    assert.equal(c.json<{ level: number }>(await c.request('GET', '/api/me')).level, 2);
  });
});

describe('finding 11: an unverified email is not a factor', () => {
  it('finding 11: an address given at sign-up gets only a verification code, and sign-in does not send codes there', async () => {
    const t = await makeApp();
    const c = client(t.app);
    const r = await c.request('POST', '/api/signup', { username: 'erin', password: PASSWORD, email: 'victim@example.test' });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(c.json<{ email_verification: string }>(r).email_verification, 'sent');
    assert.equal(t.outbox.messages.filter((m) => m.to === 'victim@example.test').length, 1);
    assert.match(t.outbox.messages[0]?.subject ?? '', /verif/i);
    await c.request('POST', '/api/logout');
    const { body } = await passwordLogin(t, 'erin');
    assert.equal(body.status, 'enrollment_required');
    assert.equal(t.outbox.messages.filter((m) => m.to === 'victim@example.test').length, 1, 'no sign-in code to an unverified address');
  });

  it('finding 11: a few verification codes a day at most, per account', async () => {
    const t = await makeApp();
    const c = await signup(t, 'fay', 'fay@example.test');
    const answers: number[] = [];
    for (let i = 0; i < 5; i++) {
      t.advance(61_000);
      answers.push((await c.request('POST', '/api/email/resend')).statusCode);
    }
    assert.ok(answers.includes(429), String(answers));
    assert.ok(t.outbox.messages.filter((m) => m.to === 'fay@example.test').length <= 3);
  });

  it('finding 11: verifying the address at level 1 completes the sign-in with a new session id; wrong and old codes are refused', async () => {
    const t = await makeApp();
    const c = await signup(t, 'gus', 'gus@example.test');
    const before = c.cookies.get('__Host-otpgate-session');
    const code = t.outbox.lastCode('gus@example.test');
    const wrong = code === '000000' ? '111111' : '000000';
    const refused = await c.request('POST', '/api/email/verify', { code: wrong });
    assert.equal(refused.statusCode, 401);
    assert.equal(c.json(refused).error, 'invalid_code');
    const ok = await c.request('POST', '/api/email/verify', { code });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(c.json(ok), { status: 'verified' });
    assert.notEqual(c.cookies.get('__Host-otpgate-session'), before);
    assert.equal(c.json<{ level: number }>(await c.request('GET', '/api/me')).level, 2);
    assert.equal((await c.request('POST', '/api/email/verify', { code })).statusCode === 200, false, 'a code works once');
    // Now the address is a factor: sign-in sends a code there.
    const { body } = await passwordLogin(t, 'gus');
    assert.deepEqual(body, { status: 'otp_required', methods: ['email'], sent: 'email' });
  });

  it('finding 11: an expired verification code answers 410', async () => {
    const t = await makeApp();
    const c = await signup(t, 'hal', 'hal@example.test');
    const code = t.outbox.lastCode('hal@example.test');
    t.advance(9 * 60_000); // inside the level-1 session, past the code's 5 minutes
    const r = await c.request('POST', '/api/email/verify', { code });
    assert.equal(r.statusCode, 410, r.body);
    assert.equal(c.json(r).error, 'code_expired');
  });

  it('finding 11: changing the address needs level 2 and fresh proof, and the new address must be verified', async () => {
    const t = await makeApp();
    const c = await signup(t, 'ida', 'ida@example.test');
    assert.equal((await c.request('POST', '/api/email', { email: 'new@example.test' })).statusCode, 401, 'not at level 1');
    await c.request('POST', '/api/email/verify', { code: t.outbox.lastCode('ida@example.test') });
    t.advance(11 * 60_000);
    const stale = await c.request('POST', '/api/email', { email: 'new@example.test' });
    assert.equal(stale.statusCode, 401);
    assert.equal(c.json(stale).error, 'reauth_required');
    const changed = await c.request('POST', '/api/email', { email: 'new@example.test', password: PASSWORD });
    assert.equal(changed.statusCode, 202, changed.body);
    // Until verified, sign-in codes still go to the old, verified address.
    const { body } = await passwordLogin(t, 'ida');
    assert.equal(body.sent, 'email');
    assert.equal(t.outbox.messages.filter((m) => m.to === 'new@example.test' && /sign/i.test(m.subject) && !/verif/i.test(m.subject)).length, 0);
    assert.equal((await c.request('POST', '/api/email/verify', { code: t.outbox.lastCode('new@example.test') })).statusCode, 200);
    const me = c.json<{ user: { email: string } }>(await c.request('GET', '/api/me'));
    assert.equal(me.user.email, 'new@example.test');
  });
});

describe('finding 16: enrollment cannot be blocked', () => {
  it('finding 16: repeated starts replace the one pending enrollment and never give 409 too_many_factors', async () => {
    const t = await makeApp();
    const c = await signup(t, 'jan');
    let first = '';
    for (let i = 0; i < 15; i++) {
      const r = await c.request('POST', '/api/factors/totp', {});
      assert.equal(r.statusCode, 201, r.body);
      if (i === 0) first = c.json<{ factor_id: string }>(r).factor_id;
    }
    const users = await t.store.listUsers();
    const factors = await t.store.listTOTPFactors(users[0]?.id ?? '');
    assert.equal(factors.length, 1, 'one pending enrollment per account');
    const stale = await c.request('POST', '/api/factors/totp/verify', { factor_id: first, code: '123456' });
    assert.equal(stale.statusCode, 404);
    await enroll(t, c);
  });

  it('finding 16: a pending enrollment expires after 10 minutes', async () => {
    const t = await makeApp();
    const c = await signup(t, 'kim', 'kim@example.test');
    await c.request('POST', '/api/email/verify', { code: t.outbox.lastCode('kim@example.test') });
    const begun = c.json<{ factor_id: string; secret: string }>(await c.request('POST', '/api/factors/totp', {}));
    t.advance(10 * 60_000 + 1000);
    const r = await c.request('POST', '/api/factors/totp/verify', { factor_id: begun.factor_id, code: generateTOTP(decodeBase32(begun.secret), t.now()) });
    assert.equal(r.statusCode, 404, r.body);
  });
});

describe('finding 20: level-1 GET /api/me', () => {
  it('finding 20: answers only the username and what enrollment needs, never the email, phone or factors', async () => {
    const t = await makeApp();
    const c = client(t.app);
    await c.request('POST', '/api/signup', { username: 'lou', password: PASSWORD, email: 'lou@example.test', phone: '+14155550123' });
    const r = await c.request('GET', '/api/me');
    assert.equal(r.statusCode, 200);
    assert.doesNotMatch(r.body, /lou@example|4155550123/);
    const body = c.json<Record<string, unknown>>(r);
    assert.deepEqual(Object.keys(body).sort(), ['enrollment', 'level', 'user']);
    assert.deepEqual(body.user, { username: 'lou' });
    assert.equal(body.level, 1);
  });
});
