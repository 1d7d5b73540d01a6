import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, makeEngine } from '../../test/support/engine.ts';
import { decodeBase32, generateTOTP } from '../otp/index.ts';

const PASSWORD = 'tangerine-kayak-91';

async function enrolled(e: Awaited<ReturnType<typeof makeEngine>>) {
  const signed = await e.auth.signup({ username: 'carol', password: PASSWORD }, client);
  if (signed.status !== 'ok') return assert.fail(JSON.stringify(signed));
  const begun = await e.auth.beginTOTPEnrollment(signed.session.session, 'Phone');
  if (begun.status !== 'ok') return assert.fail();
  const secret = decodeBase32(begun.enrollment.secret);
  const confirmed = await e.auth.confirmTOTPEnrollment(signed.session.session, begun.enrollment.factorId, generateTOTP(secret, e.now()), client);
  if (confirmed.status !== 'ok' || !confirmed.session) return assert.fail(JSON.stringify(confirmed));
  e.advance(30_000);
  return { user: signed.user, secret, session: confirmed.session, factorId: begun.enrollment.factorId, recoveryCodes: confirmed.recoveryCodes ?? [] };
}

describe('signup()', () => {
  it('creates the account with a password-only session', async () => {
    const e = await makeEngine();
    const result = await e.auth.signup({ username: 'Carol', password: PASSWORD, email: 'carol@Example.TEST' }, client);
    assert.equal(result.status, 'ok');
    if (result.status !== 'ok') return;
    assert.equal(result.user.username, 'carol');
    assert.equal(result.user.email, 'carol@example.test');
    assert.equal(result.session.session.level, 1);
    assert.match(result.user.passwordHash, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
  });

  it('refuses a taken username, whatever its case', async () => {
    const e = await makeEngine();
    await e.auth.signup({ username: 'carol', password: PASSWORD }, client);
    assert.deepEqual(await e.auth.signup({ username: 'CAROL', password: PASSWORD }, client), { status: 'username_taken' });
  });

  it('refuses weak passwords with the reason', async () => {
    const e = await makeEngine();
    for (const [password, reason] of [
      ['short7!', /at least 8/],
      ['password1234', /too common/],
      ['carol2024', /username/],
      ['otpgate!!', /service name/],
    ] as const) {
      const result = await e.auth.signup({ username: 'carol', password }, client);
      assert.equal(result.status, 'weak_password', password);
      if (result.status === 'weak_password') assert.match(result.message, reason);
    }
  });

  it('limits sign-ups per client address', async () => {
    const e = await makeEngine();
    for (let i = 0; i < 10; i++) assert.equal((await e.auth.signup({ username: `user${i}`, password: PASSWORD }, client)).status, 'ok');
    assert.deepEqual(await e.auth.signup({ username: 'user10', password: PASSWORD }, client), { status: 'rate_limited', retryAfter: 60 });
    assert.equal((await e.auth.signup({ username: 'user10', password: PASSWORD }, { ...client, ip: '198.51.100.3' })).status, 'ok');
  });

  it('is refused when sign-up is closed', async () => {
    const e = await makeEngine({ signup: 'closed' });
    assert.deepEqual(await e.auth.signup({ username: 'carol', password: PASSWORD }, client), { status: 'signup_closed' });
    assert.equal((await e.auth.createAccount({ username: 'carol', password: PASSWORD })).status, 'ok');
  });

  it('refuses malformed usernames, emails and phone numbers', async () => {
    const e = await makeEngine();
    for (const input of [{ username: 'a b' }, { username: 'x' }, { username: 'ok', email: 'no-at-sign' }, { username: 'okay', phone: '0123' }]) {
      assert.equal((await e.auth.signup({ password: PASSWORD, ...input }, client)).status, 'invalid_request', JSON.stringify(input));
    }
  });
});

describe('TOTP enrollment', () => {
  it('binds an authenticator only after a correct code, issues recovery codes once and upgrades the session', async () => {
    const e = await makeEngine();
    const signed = await e.auth.signup({ username: 'carol', password: PASSWORD }, client);
    if (signed.status !== 'ok') return assert.fail();
    const begun = await e.auth.beginTOTPEnrollment(signed.session.session, 'Phone');
    if (begun.status !== 'ok') return assert.fail();
    assert.match(begun.enrollment.otpauthURI, /^otpauth:\/\/totp\/otpgate:carol\?/);
    assert.equal(decodeBase32(begun.enrollment.secret).length, 20);
    // Unconfirmed: the login still asks to enroll.
    assert.equal((await e.auth.startLogin('carol', PASSWORD, client)).status, 'enrollment_required');
    const secret = decodeBase32(begun.enrollment.secret);
    assert.deepEqual(await e.auth.confirmTOTPEnrollment(signed.session.session, begun.enrollment.factorId, '000000', client), { status: 'invalid_code' });
    const ok = await e.auth.confirmTOTPEnrollment(signed.session.session, begun.enrollment.factorId, generateTOTP(secret, e.now()), client);
    if (ok.status !== 'ok') return assert.fail();
    assert.equal(ok.recoveryCodes?.length, 10);
    assert.equal(ok.session?.session.level, 2);
    assert.equal(await e.auth.validateSession(signed.session.token), null, 'the level-1 session is gone (I6)');
    const start = await e.auth.startLogin('carol', PASSWORD, client);
    assert.equal(start.status === 'otp_required' && start.methods.join(), 'totp,recovery');
    // A second authenticator issues no new recovery codes.
    const second = await e.auth.beginTOTPEnrollment(ok.session?.session ?? assert.fail(), 'Tablet');
    if (second.status !== 'ok') return assert.fail();
    e.advance(30_000);
    const again = await e.auth.confirmTOTPEnrollment(ok.session.session, second.enrollment.factorId, generateTOTP(decodeBase32(second.enrollment.secret), e.now()), client);
    assert.equal(again.status === 'ok' && again.recoveryCodes, undefined);
  });

  it('issues one set of recovery codes when the first authenticator is confirmed twice at once, and that set works', async () => {
    const e = await makeEngine();
    const signed = await e.auth.signup({ username: 'carol', password: PASSWORD }, client);
    if (signed.status !== 'ok') return assert.fail();
    // One pending enrollment per account (issue 12, finding 16): a second start replaces the first.
    const replaced = await e.auth.beginTOTPEnrollment(signed.session.session, 'Tablet');
    const begun = await e.auth.beginTOTPEnrollment(signed.session.session, 'Phone');
    if (replaced.status !== 'ok' || begun.status !== 'ok') return assert.fail();
    const code = generateTOTP(decodeBase32(begun.enrollment.secret), e.now());
    const results = await Promise.all([0, 1].map(() => e.auth.confirmTOTPEnrollment(signed.session.session, begun.enrollment.factorId, code, client)));
    const ok = results.filter((r) => r.status === 'ok');
    assert.equal(ok.length, 1, JSON.stringify(results.map((r) => r.status)));
    const sets = ok.map((r) => (r.status === 'ok' ? r.recoveryCodes : undefined)).filter((codes) => codes !== undefined);
    assert.equal(sets.length, 1, 'exactly one confirmation shows recovery codes');
    assert.equal(await e.store.countRecoveryCodes(signed.user.id), 10);
    assert.equal((await e.store.listTOTPFactors(signed.user.id)).length, 1);
    const start = await e.auth.startLogin('carol', PASSWORD, client);
    if (start.status !== 'otp_required') return assert.fail();
    const used = await e.auth.verifyLogin(start.pendingLoginId, 'recovery', sets[0]?.[0] ?? '', client);
    assert.equal(used.status, 'authenticated', 'the codes shown are the codes stored');
  });

  it('keeps the TOTP secret sealed at rest, bound to its factor', async () => {
    const e = await makeEngine();
    const { user, secret } = await enrolled(e);
    const [factor] = await e.store.listTOTPFactors(user.id);
    assert.ok(factor);
    const b32 = Buffer.from(secret).toString('base64');
    assert.ok(!factor.encryptedSecret.includes(b32));
    assert.ok(!JSON.stringify(factor).includes(Buffer.from(secret).toString('hex')));
    assert.equal(factor.keyId.length, 12);
  });

  it('removes an authenticator only with re-authentication', async () => {
    const e = await makeEngine();
    const { session, factorId, secret } = await enrolled(e);
    assert.deepEqual(await e.auth.removeTOTPFactor(session.session, factorId, { password: 'not-the-password' }, client), { status: 'reauth_required' });
    assert.deepEqual(await e.auth.removeTOTPFactor(session.session, factorId, { code: '000000' }, client), { status: 'reauth_required' });
    const removed = await e.auth.removeTOTPFactor(session.session, factorId, { code: generateTOTP(secret, e.now()) }, client);
    assert.equal(removed.status, 'ok');
    // The re-authentication renewed the session's id (SECURITY.md item 37).
    assert.ok(removed.status === 'ok' && removed.session);
    assert.equal(await e.auth.validateSession(session.token), null);
    assert.deepEqual(await e.auth.removeTOTPFactor(removed.session.session, factorId, { password: PASSWORD }, client), { status: 'not_found' });
  });

  it('regenerates recovery codes with re-authentication, voiding the old ones', async () => {
    const e = await makeEngine();
    const { session, recoveryCodes } = await enrolled(e);
    assert.deepEqual(await e.auth.regenerateRecoveryCodes(session.session, { password: 'wrong-password' }, client), { status: 'reauth_required' });
    const fresh = await e.auth.regenerateRecoveryCodes(session.session, { password: PASSWORD }, client);
    if (fresh.status !== 'ok') return assert.fail();
    assert.equal(fresh.recoveryCodes.length, 10);
    const start = await e.auth.startLogin('carol', PASSWORD, client);
    if (start.status !== 'otp_required') return assert.fail();
    assert.equal((await e.auth.verifyLogin(start.pendingLoginId, 'recovery', recoveryCodes[0] ?? '', client)).status, 'invalid_code');
    assert.equal((await e.auth.verifyLogin(start.pendingLoginId, 'recovery', fresh.recoveryCodes[0] ?? '', client)).status, 'authenticated');
  });
});

describe('re-authentication against a stolen session', () => {
  it('adding an authenticator to a sign-in older than ten minutes needs the password', async () => {
    const e = await makeEngine();
    const { session } = await enrolled(e);
    assert.equal((await e.auth.beginTOTPEnrollment(session.session, 'Fresh')).status, 'ok', 'a fresh sign-in may add one');
    e.advance(11 * 60_000);
    assert.deepEqual(await e.auth.beginTOTPEnrollment(session.session, 'Late'), { status: 'reauth_required' });
    assert.deepEqual(await e.auth.beginTOTPEnrollment(session.session, 'Late', { password: 'wrong-password-x' }, client), { status: 'reauth_required' });
    assert.equal((await e.auth.beginTOTPEnrollment(session.session, 'Late', { password: PASSWORD }, client)).status, 'ok');
  });

  it('a code from an authenticator added during this session does not re-authenticate it', async () => {
    const e = await makeEngine();
    const { session, factorId } = await enrolled(e);
    // The thief adds their own authenticator within the fresh window...
    const theirs = await e.auth.beginTOTPEnrollment(session.session, 'Thief');
    if (theirs.status !== 'ok') return assert.fail();
    const theirSecret = decodeBase32(theirs.enrollment.secret);
    assert.equal((await e.auth.confirmTOTPEnrollment(session.session, theirs.enrollment.factorId, generateTOTP(theirSecret, e.now()), client)).status, 'ok');
    e.advance(30_000);
    // ...but cannot use it to remove the owner's or to regenerate recovery codes.
    assert.deepEqual(await e.auth.removeTOTPFactor(session.session, factorId, { code: generateTOTP(theirSecret, e.now()) }, client), { status: 'reauth_required' });
    e.advance(30_000);
    assert.deepEqual(await e.auth.regenerateRecoveryCodes(session.session, { code: generateTOTP(theirSecret, e.now()) }, client), { status: 'reauth_required' });
  });
});

describe('phone numbers', () => {
  it('replacing a verified number needs re-authentication; the first number does not', async () => {
    const e = await makeEngine();
    const { session } = await enrolled(e);
    assert.equal((await e.auth.startPhoneVerification(session.session, '+14155550100', client)).status, 'sent');
    assert.equal((await e.auth.confirmPhoneVerification(session.session, e.outbox.lastCode('+14155550100'), client)).status, 'ok');
    assert.deepEqual(await e.auth.startPhoneVerification(session.session, '+14155550101', client), { status: 'reauth_required' });
    assert.deepEqual(await e.auth.startPhoneVerification(session.session, '+14155550101', client, { password: 'not-the-password' }), { status: 'reauth_required' });
    assert.equal(e.outbox.messages.filter((m) => m.to === '+14155550101').length, 0, 'no code sent to the new number');
    assert.equal((await e.auth.startPhoneVerification(session.session, '+14155550101', client, { password: PASSWORD })).status, 'sent');
    // Re-sending to the number already verified is not a change.
    e.advance(60_000);
    assert.equal((await e.auth.startPhoneVerification(session.session, '+14155550100', client)).status, 'sent');
  });
});

describe('sessions', () => {
  it('end after an hour idle and after 24 hours in all, on the server', async () => {
    const e = await makeEngine();
    const { session } = await enrolled(e);
    e.advance(59 * 60_000);
    assert.ok(await e.auth.validateSession(session.token));
    e.advance(59 * 60_000);
    assert.ok(await e.auth.validateSession(session.token), 'touched within the hour');
    // The hour counts from the last request; last_seen_at may lag it by up to 30 s.
    e.advance(60 * 60_000 + 30_000);
    assert.equal(await e.auth.validateSession(session.token), null);

    const e2 = await makeEngine();
    const s2 = (await enrolled(e2)).session;
    for (let i = 0; i < 24; i++) {
      e2.advance(59 * 60_000);
      assert.ok(await e2.auth.validateSession(s2.token), `after ${i + 1} × 59 min`);
    }
    e2.advance(59 * 60_000);
    assert.equal(await e2.auth.validateSession(s2.token), null, 'past 24 h');
  });

  it('refuses tokens the server never issued', async () => {
    const e = await makeEngine();
    assert.equal(await e.auth.validateSession('A'.repeat(43)), null);
    assert.equal(await e.auth.validateSession('short'), null);
  });

  it('lists and revokes sessions; logout ends the current one', async () => {
    const e = await makeEngine();
    const { session, secret } = await enrolled(e);
    const start = await e.auth.startLogin('carol', PASSWORD, { ip: '203.0.113.5', userAgent: 'other' });
    if (start.status !== 'otp_required') return assert.fail();
    const other = await e.auth.verifyLogin(start.pendingLoginId, 'totp', generateTOTP(secret, e.now()), client);
    if (other.status !== 'authenticated') return assert.fail();
    const list = await e.auth.listSessions(session.session);
    assert.equal(list.length, 2);
    assert.deepEqual(list.map((s) => s.current).sort(), [false, true]);
    assert.deepEqual(await e.auth.revokeSession(session.session, other.session.session.id, client), { status: 'ok' });
    assert.equal(await e.auth.validateSession(other.session.token), null);
    assert.deepEqual(await e.auth.revokeSession(session.session, other.session.session.id, client), { status: 'not_found' });
    await e.auth.endSession(session.token, client);
    assert.equal(await e.auth.validateSession(session.token), null);
  });

  it('ends another session from a sign-in older than ten minutes only with fresh proof (ASVS 7.5.2)', async () => {
    const e = await makeEngine();
    const { session, secret } = await enrolled(e);
    e.advance(30_000);
    const start = await e.auth.startLogin('carol', PASSWORD, { ip: '203.0.113.5', userAgent: 'other' });
    if (start.status !== 'otp_required') return assert.fail();
    const other = await e.auth.verifyLogin(start.pendingLoginId, 'totp', generateTOTP(secret, e.now()), client);
    if (other.status !== 'authenticated') return assert.fail();
    e.advance(11 * 60_000);
    // The older session, past ten minutes, tries to sign the newer one out.
    assert.deepEqual(await e.auth.revokeSession(session.session, other.session.session.id, client), { status: 'reauth_required' });
    assert.deepEqual(await e.auth.revokeSession(session.session, other.session.session.id, client, { password: 'not-the-password-1' }), { status: 'reauth_required' });
    assert.ok(await e.auth.validateSession(other.session.token), 'a refusal ends nothing');
    const revoked = await e.auth.revokeSession(session.session, other.session.session.id, client, { password: PASSWORD });
    assert.equal(revoked.status, 'ok');
    assert.equal(await e.auth.validateSession(other.session.token), null);
    assert.ok(revoked.status === 'ok' && revoked.session, 'the proof renewed this session');
    assert.equal(await e.auth.validateSession(session.token), null);
    assert.ok(await e.auth.validateSession(revoked.session.token));
  });
});

describe('changePassword()', () => {
  it('needs the current password, refuses a weak one and ends the other sessions', async () => {
    const e = await makeEngine();
    const { session, secret } = await enrolled(e);
    const start = await e.auth.startLogin('carol', PASSWORD, client);
    if (start.status !== 'otp_required') return assert.fail();
    const other = await e.auth.verifyLogin(start.pendingLoginId, 'totp', generateTOTP(secret, e.now()), client);
    if (other.status !== 'authenticated') return assert.fail();
    assert.deepEqual(await e.auth.changePassword(session.session, 'not-current-pw', 'brand-new-pass-77', client), { status: 'reauth_required' });
    assert.equal((await e.auth.changePassword(session.session, PASSWORD, 'password', client)).status, 'weak_password');
    const changed = await e.auth.changePassword(session.session, PASSWORD, 'brand-new-pass-77', client);
    assert.equal(changed.status, 'ok');
    assert.ok(changed.status === 'ok' && changed.session);
    assert.equal(changed.revokedSessions, 1);
    assert.equal(await e.auth.validateSession(other.session.token), null);
    // This session continues under a new id; the old token is dead (SECURITY.md item 37).
    assert.equal(await e.auth.validateSession(session.token), null);
    assert.equal((await e.auth.validateSession(changed.session.token))?.level, 2);
    assert.equal((await e.auth.startLogin('carol', PASSWORD, client)).status, 'invalid_credentials');
    assert.equal((await e.auth.startLogin('carol', 'brand-new-pass-77', client)).status, 'otp_required');
  });
});

describe('operator actions', () => {
  it('disable ends every session; reset-2fa sends the account back to enrollment', async () => {
    const e = await makeEngine();
    const { user, session } = await enrolled(e);
    assert.equal(await e.auth.disableAccount(user.id), 1);
    assert.equal(await e.auth.validateSession(session.token), null);
    await e.auth.enableAccount(user.id);
    await e.auth.resetSecondFactors(user);
    assert.equal((await e.auth.startLogin('carol', PASSWORD, client)).status, 'enrollment_required');
    const types = (await e.auth.listAudit({ userId: user.id, limit: 50 })).map((x) => x.type);
    for (const t of ['signup', 'factor_added', 'recovery_codes_generated', 'account_disabled', 'account_enabled', 'second_factors_reset']) assert.ok(types.includes(t), t);
  });
});

describe('the audit trail', () => {
  it('records each step of a login with time, user, address, agent and method, and no secret', async () => {
    const e = await makeEngine();
    const { user, secret } = await enrolled(e);
    const start = await e.auth.startLogin('carol', PASSWORD, client);
    if (start.status !== 'otp_required') return assert.fail();
    const code = generateTOTP(secret, e.now());
    await e.auth.verifyLogin(start.pendingLoginId, 'totp', '000000', client);
    await e.auth.verifyLogin(start.pendingLoginId, 'totp', code, client);
    const events = await e.auth.listAudit({ userId: user.id, limit: 10 });
    const byType = new Map(events.map((x) => [x.type, x]));
    for (const t of ['password_accepted', 'code_refused', 'login_succeeded']) {
      const ev = byType.get(t);
      assert.ok(ev, t);
      assert.equal(ev.ip, client.ip);
      assert.equal(ev.userAgent, client.userAgent);
      assert.equal(ev.at, e.now());
    }
    assert.equal(byType.get('login_succeeded')?.method, 'totp');
    const dump = JSON.stringify(events);
    for (const secretValue of [PASSWORD, code, start.pendingLoginId, Buffer.from(secret).toString('hex')]) assert.ok(!dump.includes(secretValue));
  });
});
