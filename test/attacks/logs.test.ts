/**
 * The log canary (I1; SECURITY.md item 51) over the flows the other suites do not walk:
 * the HTML pages (form bodies carry passwords and codes), SMS codes for a phone number,
 * re-authentication with a code, and the failure paths (wrong password, wrong code,
 * wrong current password) — on a server at OTPGATE_LOG_LEVEL=trace. No password, code,
 * TOTP seed, recovery code, session, pending-login or CSRF value may appear in its
 * output, except inside the console sender's blocks, which print codes on purpose.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from 'node:https';
import { decodeBase32 } from '../../src/otp/index.ts';
import type { RunningServer } from '../support/server.ts';
import type { AttackClient, Authenticator } from '../support/attack.ts';
import {
  SecretLog, assertNoSecretsLogged, attackClient, consoleLoginCode, csrfTokenOf, freshTOTPCode, serverForFile, otherCode, signupWithAuthenticator, totpStep, totpCodeAt, wrongRecoveryCode, wrongTOTPCode, verifyEmailFromConsole,
} from '../support/attack.ts';

const PASSWORD = 'logs-Canary-Pw-3f8e21';
const NEW_PASSWORD = 'logs-Canary-Pw2-a6c094';
const WRONG_PASSWORD = 'logs-Wrong-Pw-71b5de';
const PHONE = '+14155550199';

let server: RunningServer;
let agent: Agent;
const secrets = new SecretLog();
secrets.add(PASSWORD, NEW_PASSWORD, WRONG_PASSWORD);

serverForFile({ OTPGATE_LOG_LEVEL: 'trace' }, 4, (s, a) => {
  server = s;
  agent = a;
});

/** The SMS code the console sender printed for PHONE after `from`. */
async function smsCode(from: number): Promise<string> {
  const match = await server.waitForOutput(new RegExp(`\\[console sender\\] SMS to \\${PHONE}\\n {2}\\| (\\d{6}) `), from, 10_000);
  return match[1] ?? '';
}

const SECRET_FIELDS = new Set(['password', 'current_password', 'new_password', 'code']);

/** Posts a page form with the page's own token; remembers what it sent. */
async function submit(c: AttackClient, page: string, path: string, fields: Record<string, string>): Promise<{ status: number; body: string; location: string }> {
  const shown = await c.request('GET', page);
  const token = csrfTokenOf(shown.body);
  secrets.add(token, ...Object.entries(fields).filter(([name]) => SECRET_FIELDS.has(name)).map(([, v]) => v));
  const r = await c.form(path, { _csrf: token, ...fields });
  secrets.addCookies(c.cookies);
  return { status: r.status, body: r.body, location: String(r.headers.location ?? '') };
}

/** The page a 303 leads to (a secret shown once is on the GET after the POST). */
async function follow(c: AttackClient, answered: { status: number; location: string }): Promise<{ status: number; body: string }> {
  assert.equal(answered.status, 303);
  const r = await c.request('GET', answered.location);
  secrets.addCookies(c.cookies);
  return { status: r.status, body: r.body };
}

function recoveryCodesIn(html: string): string[] {
  return [...html.matchAll(/<li>([a-z2-7]{4}(?:-[a-z2-7]{4}){5})<\/li>/g)].map((m) => m[1] ?? '');
}

void describe('no secret reaches the log, through the pages, SMS codes and failures (item 51)', () => {
  void it('API: phone verification by SMS, a code sign-in by SMS, re-authentication with a code, failures', async () => {
    const c = attackClient(server, agent);
    const auth: Authenticator = await signupWithAuthenticator(c, 'logs-api', PASSWORD, { email: 'logs-api@example.test' });
    secrets.addAuthenticator(auth);

    let mark = server.output().length;
    assert.equal((await c.request('POST', '/api/phone', { phone: PHONE })).status, 202);
    const phoneCode = await smsCode(mark);
    const wrongPhone = otherCode(phoneCode);
    secrets.add(phoneCode, wrongPhone);
    assert.equal((await c.request('POST', '/api/phone/verify', { code: wrongPhone })).status, 401);
    assert.equal((await c.request('POST', '/api/phone/verify', { code: phoneCode })).status, 200);

    // Sign in again by SMS: a wrong code, then the right one.
    const s = attackClient(server, agent);
    const wrongLogin = await s.request('POST', '/api/login', { username: 'logs-api', password: WRONG_PASSWORD });
    assert.equal(wrongLogin.status, 401);
    assert.equal((await s.request('POST', '/api/login', { username: 'logs-api', password: PASSWORD })).status, 200);
    secrets.addCookies(s.cookies);
    mark = server.output().length;
    assert.equal((await s.request('POST', '/api/login/send', { method: 'sms' })).status, 202);
    const loginCode = await smsCode(mark);
    const wrongLoginCode = otherCode(loginCode);
    secrets.add(loginCode, wrongLoginCode);
    assert.equal((await s.request('POST', '/api/login/verify', { method: 'sms', code: wrongLoginCode })).status, 401);
    assert.equal((await s.request('POST', '/api/login/verify', { method: 'sms', code: `${loginCode.slice(0, 3)} ${loginCode.slice(3)}` })).status, 200);
    secrets.addCookies(s.cookies);

    // Re-authentication: a wrong password, a wrong code, then a right code.
    assert.equal((await s.request('POST', '/api/recovery-codes', { password: WRONG_PASSWORD })).status, 401);
    const wrongTOTP = wrongTOTPCode(auth.seed);
    secrets.add(wrongTOTP);
    assert.equal((await s.request('POST', '/api/recovery-codes', { code: wrongTOTP })).status, 401);
    const code = freshTOTPCode(auth);
    secrets.add(code.code);
    const fresh = await s.request('POST', '/api/recovery-codes', { code: code.code });
    assert.equal(fresh.status, 200, fresh.body);
    auth.lastStep = code.step;
    for (const rc of fresh.json<{ recovery_codes: string[] }>().recovery_codes) secrets.add(rc, rc.replace(/-/g, ''));

    // A wrong recovery code and a wrong email code in a new login; removal with a wrong password.
    const r = attackClient(server, agent);
    assert.equal((await r.request('POST', '/api/login', { username: 'logs-api', password: PASSWORD })).status, 200);
    secrets.addCookies(r.cookies);
    const wrongRecovery = wrongRecoveryCode(auth.recoveryCodes);
    secrets.add(wrongRecovery);
    assert.equal((await r.request('POST', '/api/login/verify', { method: 'recovery', code: wrongRecovery })).status, 401);
    assert.equal((await s.request('DELETE', `/api/factors/${auth.factorId}`, { password: WRONG_PASSWORD })).status, 401);
    assert.equal((await s.request('POST', '/api/password', { current_password: WRONG_PASSWORD, new_password: NEW_PASSWORD })).status, 401);
    assert.equal((await s.request('POST', '/api/password', { current_password: PASSWORD, new_password: NEW_PASSWORD })).status, 200);
  });

  void it('pages: sign-up, authenticator, recovery codes, sign-in with wrong and right codes, password change', async () => {
    const b = attackClient(server, agent);
    const signedUp = await submit(b, '/signup', '/signup', { username: 'logs-page', password: PASSWORD });
    assert.deepEqual([signedUp.status, signedUp.location], [303, '/settings/totp']);

    const enroll = await follow(b, await submit(b, '/settings/totp', '/settings/totp', { label: 'Page phone' }));
    assert.equal(enroll.status, 200);
    const secret = /secret=([A-Z2-7]+)/.exec(enroll.body)?.[1] ?? '';
    const factorId = /name="factor_id" value="([^"]+)"/.exec(enroll.body)?.[1] ?? '';
    assert.notEqual(secret, '');
    const seed = decodeBase32(secret);
    secrets.add(secret, secret.match(/.{1,4}/g)?.join(' '), Buffer.from(seed).toString('hex'), Buffer.from(seed).toString('base64'));

    const wrong = wrongTOTPCode(seed);
    const retry = await submit(b, '/settings/totp', '/settings/totp/confirm', { factor_id: factorId, code: wrong });
    assert.equal(retry.status, 401);
    const step = totpStep();
    const confirmed = await follow(b, await submit(b, '/settings/totp', '/settings/totp/confirm', { factor_id: factorId, code: totpCodeAt(seed, step) }));
    assert.equal(confirmed.status, 200, confirmed.body.slice(0, 300));
    const codes = recoveryCodesIn(confirmed.body);
    assert.equal(codes.length, 10);
    for (const rc of codes) secrets.add(rc, rc.replace(/-/g, ''));
    const auth = { seed, lastStep: step };

    const regenerated = await follow(b, await submit(b, '/', '/settings/recovery-codes', { password: PASSWORD }));
    assert.equal(regenerated.status, 200);
    const newCodes = recoveryCodesIn(regenerated.body);
    for (const rc of newCodes) secrets.add(rc, rc.replace(/-/g, ''));
    assert.equal((await submit(b, '/', '/settings/password', { current_password: WRONG_PASSWORD, new_password: NEW_PASSWORD })).status, 401);
    assert.equal((await submit(b, '/', '/settings/password', { current_password: PASSWORD, new_password: NEW_PASSWORD })).status, 303);
    assert.equal((await submit(b, '/', '/logout', {})).status, 303);

    // Sign in through the pages: a wrong password, then the right one; a wrong code, then TOTP.
    const l = attackClient(server, agent);
    assert.equal((await submit(l, '/login', '/login', { username: 'logs-page', password: PASSWORD })).status, 401);
    assert.equal((await submit(l, '/login', '/login', { username: 'logs-page', password: NEW_PASSWORD })).status, 303);
    assert.equal((await submit(l, '/login/otp', '/login/otp', { method: 'totp', code: wrongTOTPCode(seed) })).status, 401);
    const right = freshTOTPCode(auth);
    secrets.add(right.code);
    assert.equal((await submit(l, '/login/otp', '/login/otp', { method: 'totp', code: right.code })).status, 303);

    // And once with a recovery code.
    const rcLogin = attackClient(server, agent);
    assert.equal((await submit(rcLogin, '/login', '/login', { username: 'logs-page', password: NEW_PASSWORD })).status, 303);
    const used = await submit(rcLogin, '/login/otp', '/login/otp', { method: 'recovery', code: newCodes[0] ?? '' });
    assert.equal(used.status, 303);
    assert.equal((await rcLogin.request('GET', '/')).status, 200);
    secrets.addCookies(rcLogin.cookies);
  });

  void it('email codes by the pages: sent, resent too early, wrong and right', async () => {
    const email = 'logs-mail@example.test';
    const c = attackClient(server, agent);
    const signedUp = server.output().length;
    assert.equal((await c.request('POST', '/api/signup', { username: 'logs-mail', password: PASSWORD, email })).status, 201);
    secrets.add(await verifyEmailFromConsole(c, server, email, signedUp));
    secrets.addCookies(c.cookies);
    const b = attackClient(server, agent);
    const mark = server.output().length;
    assert.equal((await submit(b, '/login', '/login', { username: 'logs-mail', password: PASSWORD })).status, 303);
    const code = await consoleLoginCode(server, email, mark);
    secrets.add(code);
    assert.equal((await submit(b, '/login/otp', '/login/otp/send', { method: 'email' })).status, 429);
    assert.equal((await submit(b, '/login/otp', '/login/otp', { method: 'email', code: otherCode(code) })).status, 401);
    assert.equal((await submit(b, '/login/otp', '/login/otp', { method: 'email', code })).status, 303);
    secrets.addCookies(b.cookies);
  });

  void it('wrote none of them to its output', () => {
    assert.ok(secrets.values.size > 60, `${secrets.values.size} secrets`);
    assertNoSecretsLogged(server.output(), secrets);
  });
});
