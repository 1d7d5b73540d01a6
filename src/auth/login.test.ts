import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, makeEngine } from '../../test/support/engine.ts';
import { generateTOTP, decodeBase32 } from '../otp/index.ts';
import type { StartResult, VerifyResult } from './login.ts';

const PASSWORD = 'tangerine-kayak-91';

type Engine = Awaited<ReturnType<typeof makeEngine>>;

async function emailUser(e: Engine, username = 'alice') {
  const created = await e.auth.createAccount({ username, password: PASSWORD, email: `${username}@example.test` });
  assert.equal(created.status, 'ok');
  return created.status === 'ok' ? created.user : assert.fail();
}

function pendingId(result: StartResult): string {
  assert.equal(result.status, 'otp_required', JSON.stringify(result));
  return result.status === 'otp_required' ? result.pendingLoginId : '';
}

function assertStatus<S extends VerifyResult['status']>(result: VerifyResult, status: S): Extract<VerifyResult, { status: S }> {
  assert.equal(result.status, status, JSON.stringify(result));
  return result as Extract<VerifyResult, { status: S }>;
}

/** Signs up a user with a confirmed authenticator; returns its secret. */
async function totpUser(e: Engine, username = 'tom') {
  const created = await e.auth.createAccount({ username, password: PASSWORD });
  assert.equal(created.status, 'ok');
  const start = await e.auth.startLogin(username, PASSWORD, client);
  assert.equal(start.status, 'enrollment_required');
  if (start.status !== 'enrollment_required') return assert.fail();
  const enrolled = await e.auth.beginTOTPEnrollment(start.session.session, 'Phone');
  if (enrolled.status !== 'ok') return assert.fail();
  const secret = decodeBase32(enrolled.enrollment.secret);
  const confirmed = await e.auth.confirmTOTPEnrollment(start.session.session, enrolled.enrollment.factorId, generateTOTP(secret, e.now()), client);
  assert.equal(confirmed.status, 'ok');
  if (confirmed.status !== 'ok') return assert.fail();
  e.advance(30_000); // the confirming step is used; the next login needs a newer one
  return { secret, recoveryCodes: confirmed.recoveryCodes ?? [], session: confirmed.session };
}

describe('startLogin()', () => {
  it('answers an unknown username exactly as a wrong password', async () => {
    const e = await makeEngine();
    await emailUser(e);
    assert.deepEqual(await e.auth.startLogin('alice', 'wrong-password-1', client), { status: 'invalid_credentials' });
    assert.deepEqual(await e.auth.startLogin('nobody', 'wrong-password-1', client), { status: 'invalid_credentials' });
    const events = await e.auth.listAudit({ limit: 10 });
    assert.deepEqual(events.filter((x) => x.type === 'password_refused').map((x) => x.detail?.reason).sort(), ['unknown_user', 'wrong_password']);
  });

  it('normalises the username (NFKC, case-folded)', async () => {
    const e = await makeEngine();
    await emailUser(e, 'alice');
    assert.equal((await e.auth.startLogin('ＡLICE', PASSWORD, client)).status, 'otp_required');
  });

  it('sends an email code at once when email is the default method, and never returns it', async () => {
    const e = await makeEngine();
    await emailUser(e);
    const result = await e.auth.startLogin('alice', PASSWORD, client);
    assert.equal(result.status, 'otp_required');
    if (result.status !== 'otp_required') return;
    assert.deepEqual(result.methods, ['email']);
    assert.equal(result.sent, 'email');
    assert.equal(e.outbox.messages.length, 1);
    assert.ok(!JSON.stringify(result).includes(e.outbox.lastCode('alice@example.test')));
    assert.ok(!e.outbox.messages[0]?.subject.includes(e.outbox.lastCode('alice@example.test')), 'no code in the subject');
    assert.equal(result.pendingLoginId.length, 43, '256-bit id');
  });

  it('asks an account without a second factor to enroll, with a level-1 session', async () => {
    const e = await makeEngine();
    await e.auth.createAccount({ username: 'bob', password: PASSWORD });
    const result = await e.auth.startLogin('bob', PASSWORD, client);
    assert.equal(result.status, 'enrollment_required');
    if (result.status === 'enrollment_required') assert.equal(result.session.session.level, 1);
  });

  it('does not count email when OTPGATE_FACTORS is totp,recovery (AAL2): the email code only opens enrollment (issue 12, finding 4)', async () => {
    const e = await makeEngine({ factors: ['totp', 'recovery'] });
    await emailUser(e);
    const start = await e.auth.startLogin('alice', PASSWORD, client);
    if (start.status !== 'otp_required') return assert.fail(start.status);
    assert.deepEqual(start.methods, ['email']);
    const done = await e.auth.verifyLogin(start.pendingLoginId, 'email', e.outbox.lastCode('alice@example.test'), client);
    if (done.status !== 'enrollment_required') return assert.fail(done.status);
    assert.equal(done.session.session.level, 1);
  });

  it('finishes no login for an account disabled after its password was checked', async () => {
    const e = await makeEngine();
    const user = await emailUser(e);
    const id = pendingId(await e.auth.startLogin('alice', PASSWORD, client));
    await e.auth.disableAccount(user.id);
    assert.deepEqual(await e.auth.verifyLogin(id, 'email', e.outbox.lastCode('alice@example.test'), client), { status: 'login_expired' });
  });

  it("lets the owner's browser (device cookie) in while strangers' failures delay the username", async () => {
    const e = await makeEngine();
    const { secret } = await totpUser(e);
    const first = await e.auth.verifyLogin(pendingId(await e.auth.startLogin('tom', PASSWORD, client)), 'totp', generateTOTP(secret, e.now()), client);
    assert.equal(first.status, 'authenticated');
    const device = first.status === 'authenticated' ? first.deviceToken : '';
    assert.equal(device.length, 43);
    const attacker = { ip: '203.0.113.66', userAgent: 'x' };
    for (let i = 0; i < 5; i++) await e.auth.startLogin('tom', `guess-${i}-password`, attacker);
    assert.equal((await e.auth.startLogin('tom', PASSWORD, client)).status, 'rate_limited', 'without the cookie the owner waits too');
    assert.equal((await e.auth.startLogin('tom', PASSWORD, client, device)).status, 'otp_required');
    assert.equal((await e.auth.startLogin('tom', PASSWORD, client, 'A'.repeat(43))).status, 'rate_limited', 'a forged cookie counts for nothing');
  });

  it('refuses a disabled account like a wrong password', async () => {
    const e = await makeEngine();
    const user = await emailUser(e);
    await e.auth.disableAccount(user.id);
    assert.deepEqual(await e.auth.startLogin('alice', PASSWORD, client), { status: 'invalid_credentials' });
  });

  it('delays password guessing per username after 5 failures, known or not, and never locks for good', async () => {
    for (const name of ['alice', 'ghost']) {
      const e = await makeEngine();
      await emailUser(e);
      for (let i = 0; i < 5; i++) assert.equal((await e.auth.startLogin(name, `wrong-${i}-password`, client)).status, 'invalid_credentials');
      const limited = await e.auth.startLogin(name, 'wrong-5-password', client);
      assert.deepEqual(limited, { status: 'rate_limited', retryAfter: 1 });
      e.advance(1000);
      assert.equal((await e.auth.startLogin(name, 'wrong-6-password', client)).status, 'invalid_credentials');
      assert.equal((await e.auth.startLogin(name, 'wrong-7-password', client)).status, 'rate_limited');
      e.advance(10 * 60_000); // the cap is 5 minutes: the owner always gets back in
      if (name === 'alice') assert.equal((await e.auth.startLogin(name, PASSWORD, client)).status, 'otp_required');
    }
  });

  it('limits password attempts per client address with a token bucket', async () => {
    const e = await makeEngine({ limits: { ipPasswords: { capacity: 3, refillMs: 2000 } } });
    for (let i = 0; i < 3; i++) assert.equal((await e.auth.startLogin(`user${i}`, 'whatever-pass', client)).status, 'invalid_credentials');
    assert.deepEqual(await e.auth.startLogin('user9', 'whatever-pass', client), { status: 'rate_limited', retryAfter: 2 });
    assert.equal((await e.auth.startLogin('user9', 'whatever-pass', { ...client, ip: '198.51.100.7' })).status, 'invalid_credentials');
    e.advance(2000);
    assert.equal((await e.auth.startLogin('user9', 'whatever-pass', client)).status, 'invalid_credentials');
  });

  it('rehashes a password made with old parameters on the next login', async () => {
    const e = await makeEngine();
    const user = await emailUser(e);
    const e2 = await makeEngine({ store: e.store, argon2: { memoryCost: 2048, timeCost: 1, parallelism: 1 } });
    assert.equal((await e2.auth.startLogin('alice', PASSWORD, client)).status, 'otp_required');
    const after = await e.store.getUserById(user.id);
    assert.match(after?.passwordHash ?? '', /^\$argon2id\$v=19\$m=2048,t=1,p=1\$/);
    assert.notEqual(after?.passwordHash, user.passwordHash);
  });
});

describe('verifyLogin() with email and SMS codes', () => {
  it('accepts the sent code once and gives a level-2 session', async () => {
    const e = await makeEngine();
    await emailUser(e);
    const id = pendingId(await e.auth.startLogin('alice', PASSWORD, client));
    const code = e.outbox.lastCode('alice@example.test');
    const ok = assertStatus(await e.auth.verifyLogin(id, 'email', code.slice(0, 3) + ' ' + code.slice(3), client), 'authenticated');
    assert.equal(ok.session.session.level, 2);
    assert.equal((await e.auth.validateSession(ok.session.token))?.userId, ok.session.session.userId);
    assert.deepEqual(await e.auth.verifyLogin(id, 'email', code, client), { status: 'login_expired' });
  });

  it('closes the pending login after 5 wrong codes', async () => {
    const e = await makeEngine();
    await emailUser(e);
    const id = pendingId(await e.auth.startLogin('alice', PASSWORD, client));
    const code = e.outbox.lastCode('alice@example.test');
    const wrong = code === '000000' ? '111111' : '000000';
    for (let left = 4; left >= 0; left--) {
      assert.deepEqual(await e.auth.verifyLogin(id, 'email', wrong, client), { status: 'invalid_code', attemptsLeft: left });
    }
    assert.deepEqual(await e.auth.verifyLogin(id, 'email', code, client), { status: 'login_expired' });
  });

  it('expires a code after OTPGATE_CODE_TTL', async () => {
    const e = await makeEngine({ codeTTLSeconds: 600, loginTTLSeconds: 900 });
    await emailUser(e);
    const id = pendingId(await e.auth.startLogin('alice', PASSWORD, client));
    e.advance(600_000 + 1000);
    assert.deepEqual(await e.auth.verifyLogin(id, 'email', e.outbox.lastCode('alice@example.test'), client), { status: 'code_expired', attemptsLeft: 4 });
  });

  it('voids the old code on resend, keeps the failure count, and enforces the 30 s cooldown', async () => {
    const e = await makeEngine();
    await emailUser(e);
    const id = pendingId(await e.auth.startLogin('alice', PASSWORD, client));
    const first = e.outbox.lastCode('alice@example.test');
    assertStatus(await e.auth.verifyLogin(id, 'email', first === '123456' ? '654321' : '123456', client), 'invalid_code');
    assert.deepEqual(await e.auth.sendLoginCode(id, 'email', client), { status: 'rate_limited', retryAfter: 30 });
    e.advance(30_000);
    assert.equal((await e.auth.sendLoginCode(id, 'email', client)).status, 'sent');
    const second = e.outbox.lastCode('alice@example.test');
    if (first !== second) assert.deepEqual(await e.auth.verifyLogin(id, 'email', first, client), { status: 'invalid_code', attemptsLeft: 3 });
    assertStatus(await e.auth.verifyLogin(id, 'email', second, client), 'authenticated');
  });

  it('sends at most 5 codes per pending login and 10 per account an hour', async () => {
    const e = await makeEngine({ loginTTLSeconds: 3600 });
    await emailUser(e);
    const id = pendingId(await e.auth.startLogin('alice', PASSWORD, client));
    for (let i = 0; i < 4; i++) {
      e.advance(30_000);
      assert.equal((await e.auth.sendLoginCode(id, 'email', client)).status, 'sent');
    }
    e.advance(30_000);
    assert.equal((await e.auth.sendLoginCode(id, 'email', client)).status, 'rate_limited');
    const id2 = pendingId(await e.auth.startLogin('alice', PASSWORD, client));
    for (let i = 0; i < 4; i++) {
      e.advance(30_000);
      assert.equal((await e.auth.sendLoginCode(id2, 'email', client)).status, 'sent');
    }
    // 10 sent in this hour: the account bucket is empty
    e.advance(30_000);
    const third = await e.auth.startLogin('alice', PASSWORD, client);
    assert.equal(third.status === 'otp_required' && third.sent, undefined);
    assert.equal(e.outbox.messages.length, 10);
  });

  it('binds a code to its own pending login', async () => {
    const e = await makeEngine();
    await emailUser(e);
    const a = pendingId(await e.auth.startLogin('alice', PASSWORD, client));
    const codeA = e.outbox.lastCode('alice@example.test');
    const b = pendingId(await e.auth.startLogin('alice', PASSWORD, client));
    const codeB = e.outbox.lastCode('alice@example.test');
    if (codeA !== codeB) assertStatus(await e.auth.verifyLogin(b, 'email', codeA, client), 'invalid_code');
    assertStatus(await e.auth.verifyLogin(a, 'email', codeA, client), 'authenticated');
  });

  it('reports a failed delivery and keeps the pending login usable', async () => {
    const e = await makeEngine();
    await emailUser(e);
    e.outbox.failing = true;
    const start = await e.auth.startLogin('alice', PASSWORD, client);
    assert.equal(start.status === 'otp_required' && start.deliveryFailed, 'email');
    e.outbox.failing = false;
    e.advance(30_000);
    assert.equal((await e.auth.sendLoginCode(pendingId(start), 'email', client)).status, 'sent');
    const events = await e.auth.listAudit({ limit: 20 });
    assert.ok(events.some((x) => x.type === 'delivery_failed'));
  });

  it('offers SMS only for a verified number, and only beside an authenticator (SECURITY.md item 19)', async () => {
    const e = await makeEngine();
    await e.auth.createAccount({ username: 'sam', password: PASSWORD, phone: '+1 415 555 0123' });
    const start = await e.auth.startLogin('sam', PASSWORD, client);
    assert.equal(start.status, 'enrollment_required', 'an unverified number is no second factor');
    if (start.status !== 'enrollment_required') return;
    assert.equal(e.outbox.messages.length, 0, 'and gets no code');
    // A password-only session may not verify a number; one verified anyway is still no way in alone.
    assert.deepEqual(await e.auth.startPhoneVerification(start.session.session, '+14155550123', client), { status: 'unauthenticated' });
    const user = await e.store.getUserByUsername('sam');
    if (!user) return assert.fail();
    await e.store.updateUser(user.id, { phoneVerifiedAt: e.now() });
    const smsOnly = await e.auth.startLogin('sam', PASSWORD, client);
    assert.equal(smsOnly.status, 'enrollment_required', 'a verified number alone is not a way in');
    assert.equal(e.outbox.messages.length, 0, 'and no login code goes to it');
    if (smsOnly.status !== 'enrollment_required') return;

    const enrolled = await e.auth.beginTOTPEnrollment(smsOnly.session.session, 'Phone');
    if (enrolled.status !== 'ok') return assert.fail();
    const secret = decodeBase32(enrolled.enrollment.secret);
    const confirmed = await e.auth.confirmTOTPEnrollment(smsOnly.session.session, enrolled.enrollment.factorId, generateTOTP(secret, e.now()), client);
    if (confirmed.status !== 'ok' || !confirmed.session) return assert.fail();
    const full = confirmed.session.session;
    assert.equal((await e.auth.startPhoneVerification(full, '+14155550123', client)).status, 'sent');
    const code = e.outbox.lastCode('+14155550123');
    assert.deepEqual(await e.auth.confirmPhoneVerification(full, code === '000000' ? '111111' : '000000', client), { status: 'invalid_code', attemptsLeft: 4 });
    assert.deepEqual(await e.auth.confirmPhoneVerification(full, code, client), { status: 'ok', phone: '+14155550123' });
    const again = await e.auth.startLogin('sam', PASSWORD, client);
    assert.ok(again.status === 'otp_required');
    assert.deepEqual(again.methods, ['totp', 'sms', 'recovery']);
    assert.equal(again.sent, undefined, 'the authenticator comes first');
    assert.equal((await e.auth.sendLoginCode(again.pendingLoginId, 'sms', client)).status, 'sent');
    assertStatus(await e.auth.verifyLogin(again.pendingLoginId, 'sms', e.outbox.lastCode('+14155550123'), client), 'authenticated');
  });

  it('offers no SMS when OTPGATE_FACTORS leaves out totp, even to an account with both', async () => {
    const e = await makeEngine();
    await totpUser(e);
    const user = await e.store.getUserByUsername('tom');
    if (!user) return assert.fail();
    await e.store.updateUser(user.id, { phone: '+14155550123', phoneVerifiedAt: e.now() });
    const both = await e.auth.startLogin('tom', PASSWORD, client);
    assert.ok(both.status === 'otp_required');
    assert.deepEqual(both.methods, ['totp', 'sms', 'recovery']);

    const noTOTP = await makeEngine({ store: e.store, factors: ['sms', 'email', 'recovery'] });
    noTOTP.setNow(e.now());
    assert.equal((await noTOTP.auth.startLogin('tom', PASSWORD, client)).status, 'enrollment_required');
    assert.equal(noTOTP.outbox.messages.length, 0);
  });
});

describe('verifyLogin() with TOTP', () => {
  it('accepts the current step and one step of drift, not two (RFC 6238 §5.2)', async () => {
    const e = await makeEngine();
    const { secret } = await totpUser(e);
    e.advance(30_000); // so that T−1 is newer than the step used at enrollment
    const now = e.now();
    const id = pendingId(await e.auth.startLogin('tom', PASSWORD, client));
    assertStatus(await e.auth.verifyLogin(id, 'totp', generateTOTP(secret, now - 60_000), client), 'invalid_code');
    assertStatus(await e.auth.verifyLogin(id, 'totp', generateTOTP(secret, now + 60_000), client), 'invalid_code');
    assertStatus(await e.auth.verifyLogin(id, 'totp', generateTOTP(secret, now - 30_000), client), 'authenticated');
  });

  it('refuses a code already used, in a new login', async () => {
    const e = await makeEngine();
    const { secret } = await totpUser(e);
    const code = generateTOTP(secret, e.now());
    assertStatus(await e.auth.verifyLogin(pendingId(await e.auth.startLogin('tom', PASSWORD, client)), 'totp', code, client), 'authenticated');
    assertStatus(await e.auth.verifyLogin(pendingId(await e.auth.startLogin('tom', PASSWORD, client)), 'totp', code, client), 'invalid_code');
  });

  it('lets exactly one of 50 concurrent logins use one code', async () => {
    const e = await makeEngine();
    const { secret } = await totpUser(e);
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push(pendingId(await e.auth.startLogin('tom', PASSWORD, { ...client, ip: `10.0.0.${i}` })));
    const code = generateTOTP(secret, e.now());
    const results = await Promise.all(ids.map((id) => e.auth.verifyLogin(id, 'totp', code, client)));
    assert.equal(results.filter((r) => r.status === 'authenticated').length, 1);
  });

  it('refuses a code from a clock 4 minutes behind and says so', async () => {
    const e = await makeEngine();
    const { secret } = await totpUser(e);
    const id = pendingId(await e.auth.startLogin('tom', PASSWORD, client));
    const result = await e.auth.verifyLogin(id, 'totp', generateTOTP(secret, e.now() - 240_000), client);
    assert.deepEqual(result, { status: 'invalid_code', attemptsLeft: 4, driftSeconds: -240 });
  });

  it('never hints at a code from a clock ahead: that code would become valid later', async () => {
    const e = await makeEngine();
    const { secret } = await totpUser(e);
    const id = pendingId(await e.auth.startLogin('tom', PASSWORD, client));
    assert.deepEqual(await e.auth.verifyLogin(id, 'totp', generateTOTP(secret, e.now() + 150_000), client), { status: 'invalid_code', attemptsLeft: 4 });
  });

  it('ignores a client-supplied time: only the server clock counts', async () => {
    const e = await makeEngine();
    const { secret } = await totpUser(e);
    const id = pendingId(await e.auth.startLogin('tom', PASSWORD, client));
    // The engine takes no time from its caller; a code for another time is just wrong.
    assertStatus(await e.auth.verifyLogin(id, 'totp', generateTOTP(secret, e.now() + 3_600_000), client), 'invalid_code');
  });
});

describe('the per-account second-factor throttle', () => {
  it('adds a growing delay after 5 consecutive failures, across pending logins', async () => {
    const e = await makeEngine();
    const { secret } = await totpUser(e);
    const wrong = (t: number) => String((Number(generateTOTP(secret, t)) + 1) % 1_000_000).padStart(6, '0');
    for (let i = 0; i < 5; i++) {
      const id = pendingId(await e.auth.startLogin('tom', PASSWORD, { ...client, ip: `10.1.0.${i}` }));
      assertStatus(await e.auth.verifyLogin(id, 'totp', wrong(e.now()), client), 'invalid_code');
    }
    const id = pendingId(await e.auth.startLogin('tom', PASSWORD, client));
    assert.deepEqual(await e.auth.verifyLogin(id, 'totp', generateTOTP(secret, e.now()), client), { status: 'too_many_attempts', retryAfter: 1, locked: false });
    e.advance(1000);
    assertStatus(await e.auth.verifyLogin(id, 'totp', wrong(e.now()), client), 'invalid_code');
    assert.deepEqual(await e.auth.verifyLogin(id, 'totp', wrong(e.now()), client), { status: 'too_many_attempts', retryAfter: 2, locked: false });
    e.advance(2000);
    assertStatus(await e.auth.verifyLogin(id, 'totp', generateTOTP(secret, e.now()), client), 'authenticated');
    // Success resets the count: five free failures again.
    const id2 = pendingId(await e.auth.startLogin('tom', PASSWORD, client));
    for (let i = 0; i < 5; i++) assertStatus(await e.auth.verifyLogin(id2, 'totp', wrong(e.now()), client), 'invalid_code');
  });

  it('locks the second factors at 100 failures over 20 logins and addresses; a correct code is then refused; a recovery code unlocks', async () => {
    const e = await makeEngine({ limits: { otp: { freeAttempts: 1000, baseDelayMs: 0, maxDelayMs: 0, lockAt: 100, forgetAfterMs: null } } });
    const { secret, recoveryCodes } = await totpUser(e);
    let refusedAsLocked = 0;
    for (let login = 0; login < 40; login++) {
      const id = pendingId(await e.auth.startLogin('tom', PASSWORD, { ...client, ip: `10.2.${login % 20}.1` }));
      for (let i = 0; i < 5; i++) {
        const r = await e.auth.verifyLogin(id, 'totp', '000000', client);
        if (r.status === 'too_many_attempts') refusedAsLocked++;
        if (r.status === 'login_expired') break;
      }
    }
    assert.equal(await e.store.getAttemptCount('otp:' + (await e.store.getUserByUsername('tom'))?.id), 100);
    assert.equal(refusedAsLocked, 100, '200 guesses: 100 counted, 100 refused');
    const id = pendingId(await e.auth.startLogin('tom', PASSWORD, client));
    assert.deepEqual(await e.auth.verifyLogin(id, 'totp', generateTOTP(secret, e.now()), client), { status: 'too_many_attempts', retryAfter: null, locked: true });
    const events = await e.auth.listAudit({ limit: 500 });
    assert.equal(events.filter((x) => x.type === 'locked').length, 1);
    assertStatus(await e.auth.verifyLogin(id, 'recovery', recoveryCodes[0] ?? '', client), 'authenticated');
    const id2 = pendingId(await e.auth.startLogin('tom', PASSWORD, client));
    e.advance(30_000);
    assertStatus(await e.auth.verifyLogin(id2, 'totp', generateTOTP(secret, e.now()), client), 'authenticated');
  });

  it('lets an operator unlock the second factors', async () => {
    const e = await makeEngine({ limits: { otp: { freeAttempts: 1000, baseDelayMs: 0, maxDelayMs: 0, lockAt: 3, forgetAfterMs: null } } });
    const { secret } = await totpUser(e);
    const id = pendingId(await e.auth.startLogin('tom', PASSWORD, client));
    for (let i = 0; i < 3; i++) assertStatus(await e.auth.verifyLogin(id, 'totp', '000000', client), 'invalid_code');
    assertStatus(await e.auth.verifyLogin(id, 'totp', generateTOTP(secret, e.now()), client), 'too_many_attempts');
    const user = await e.store.getUserByUsername('tom');
    if (!user) return assert.fail();
    await e.auth.unlockAccount(user);
    assertStatus(await e.auth.verifyLogin(id, 'totp', generateTOTP(secret, e.now()), client), 'authenticated');
  });
});

describe('recovery codes', () => {
  it('are 10 codes of 120 bits, each accepted once, with the count left reported', async () => {
    const e = await makeEngine();
    const { recoveryCodes } = await totpUser(e);
    assert.equal(recoveryCodes.length, 10);
    assert.equal(new Set(recoveryCodes).size, 10);
    for (const c of recoveryCodes) assert.match(c, /^[a-z2-7]{4}(-[a-z2-7]{4}){5}$/); // 24 × 5 bits = 120 bits (SECURITY.md items 20, 21)
    const code = recoveryCodes[3] ?? '';
    const ok = assertStatus(await e.auth.verifyLogin(pendingId(await e.auth.startLogin('tom', PASSWORD, client)), 'recovery', code.toUpperCase(), client), 'authenticated');
    assert.equal(ok.recoveryCodesLeft, 9);
    assertStatus(await e.auth.verifyLogin(pendingId(await e.auth.startLogin('tom', PASSWORD, client)), 'recovery', code, client), 'invalid_code');
  });

  it('accepts one recovery code in only one of 50 concurrent logins', async () => {
    const e = await makeEngine();
    const { recoveryCodes } = await totpUser(e);
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push(pendingId(await e.auth.startLogin('tom', PASSWORD, { ...client, ip: `10.3.0.${i}` })));
    const results = await Promise.all(ids.map((id) => e.auth.verifyLogin(id, 'recovery', recoveryCodes[0] ?? '', client)));
    assert.equal(results.filter((r) => r.status === 'authenticated').length, 1);
  });

  it('stores only keyed hashes', async () => {
    const e = await makeEngine();
    const { recoveryCodes } = await totpUser(e);
    const user = await e.store.getUserByUsername('tom');
    const events = JSON.stringify(await e.auth.listAudit({ limit: 100 }));
    for (const c of recoveryCodes) assert.ok(!events.includes(c));
    assert.equal(await e.store.countRecoveryCodes(user?.id ?? ''), 10);
  });
});
