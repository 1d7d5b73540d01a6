import { strict as assert } from 'node:assert';
import { afterEach, describe, test } from 'node:test';
import { generateTOTP } from '../../src/otp/index.ts';
import { COOKIE } from '../../src/http/cookies.ts';
import { DEFAULT_LIMITS } from '../../src/auth/index.ts';
import {
  ORIGIN, PASSWORD, alertText, byId, decodeEntities, enrolledUser, formsOf, login, loginWithTOTP, parseHTML, recoveryCodesFrom, sessionCookie, signup, signupWithVerifiedEmail,
  startPages, textOf, totpKeyFrom,
} from './pages-browser.ts';

const FORM_EXPIRED = 'This form has expired — go back and try again';

type Pages = Awaited<ReturnType<typeof startPages>>;
let open: Pages[] = [];
afterEach(async () => {
  await Promise.all(open.map((t) => t.close()));
  open = [];
});
async function start(options: Parameters<typeof startPages>[0] = {}): Promise<Pages> {
  const t = await startPages(options);
  open.push(t);
  return t;
}

void describe('pages: sign-up, enrollment, login', () => {
  void test('sign-up → level 1 → enroll TOTP → recovery codes → logout → password → TOTP → / shows the factor', async () => {
    const t = await start();
    const b = t.browser();

    const signedUp = await signup(b, { username: 'alice', password: PASSWORD });
    assert.equal(signedUp.status, 303);
    assert.equal(signedUp.location, '/settings/totp');
    const level1 = sessionCookie(b);
    assert.ok(level1);
    const cookie = signedUp.setCookies.find((c) => c.name === COOKIE.session);
    assert.equal(cookie?.maxAge, t.config.sessionMaxSeconds);
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.secure, true);
    assert.equal(cookie?.path, '/');

    // Level 1 reaches only the enrollment page.
    assert.equal((await b.get('/')).location, '/settings/totp');

    const start1 = await b.follow(signedUp);
    assert.equal(start1.status, 200);
    assert.match(start1.body, /<h1>Set up an authenticator app<\/h1>/);
    // Post/Redirect/Get (finding 15): the POST answers 303; the GET shows the key once.
    const posted = await b.submit(start1, '/settings/totp', { label: 'Work phone' });
    assert.equal(posted.status, 303);
    assert.equal(posted.location, '/settings/totp/setup');
    const qr = await b.follow(posted);
    assert.equal(qr.status, 200);
    assert.equal(qr.headers['cache-control'], 'no-store');
    assert.match(qr.body, /<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(byId(qr.body, 'totp-key'), /^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/, 'the key in groups of four');
    const key = totpKeyFrom(qr.body);

    const confirmedPost = await b.submit(qr, '/settings/totp/confirm', { code: generateTOTP(key, t.engine.now()) });
    assert.equal(confirmedPost.status, 303);
    assert.equal(confirmedPost.location, '/settings/recovery-codes');
    const confirmed = await b.follow(confirmedPost);
    assert.equal(confirmed.status, 200);
    assert.equal(confirmed.headers['cache-control'], 'no-store');
    const codes = recoveryCodesFrom(confirmed.body);
    assert.equal(codes.length, 10);
    for (const code of codes) assert.match(code, /^[a-z2-7]{4}(-[a-z2-7]{4}){5}$/);
    const download = parseHTML(confirmed.body).find((e) => e.tag === 'a' && e.attrs.download !== undefined);
    assert.equal(download?.attrs.download, 'otpgate-recovery-codes.txt');
    const href = download?.attrs.href ?? '';
    assert.ok(href.startsWith('data:text/plain;charset=utf-8,'));
    const file = decodeURIComponent(href.slice('data:text/plain;charset=utf-8,'.length));
    for (const code of codes) assert.ok(file.includes(code));
    // I6: a new session id at the change of level; the old one is dead.
    const level2 = sessionCookie(b);
    assert.ok(level2 && level2 !== level1);
    assert.equal(await t.engine.auth.validateSession(level1), null);

    const account = await b.get('/');
    assert.equal(account.status, 200);
    assert.match(textOf(account.body), /Authenticator app: Work phone/);
    assert.match(textOf(account.body), /You have 10 recovery codes left/);

    const loggedOut = await b.submit(account, '/logout');
    assert.equal(loggedOut.status, 303);
    assert.equal(loggedOut.location, '/login?m=logged_out');
    assert.equal(sessionCookie(b), undefined);
    assert.equal(await t.engine.auth.validateSession(level2), null, 'the session ended on the server');
    assert.match(textOf((await b.follow(loggedOut)).body), /You have logged out/);

    t.engine.advance(30_000);
    const started = await login(b, 'alice');
    assert.equal(started.status, 303);
    assert.equal(started.location, '/login/otp');
    const pending = started.setCookies.find((c) => c.name === COOKIE.pending);
    assert.equal(pending?.maxAge, t.config.loginTTLSeconds);
    assert.equal(sessionCookie(b), undefined, 'no session after the password alone');

    const otp = await b.follow(started);
    assert.equal(otp.status, 200);
    assert.match(otp.body, /<h1>Enter your authenticator code<\/h1>/);
    const verified = await b.submit(otp, '/login/otp', { code: generateTOTP(key, t.engine.now()) });
    assert.equal(verified.status, 303);
    assert.equal(verified.location, '/');
    assert.equal(b.cookies.get(COOKIE.pending), undefined, 'the pending cookie is cleared');
    assert.equal(verified.setCookies.find((c) => c.name === COOKIE.session)?.maxAge, t.config.sessionMaxSeconds);

    const home = await b.get('/');
    assert.equal(home.status, 200);
    assert.match(textOf(home.body), /Authenticator app: Work phone/);
    assert.match(textOf(home.body), /Last used/);
    assert.match(textOf(home.body), /Signed in with an authenticator app/, 'recent activity');
  });

  void test('an email code logs in: sent at once, resend after the cooldown voids the old code', async () => {
    const t = await start();
    const b = t.browser();
    const signedUp = await signupWithVerifiedEmail(t, b, { username: 'bob', password: PASSWORD, email: 'bob@example.com' });
    assert.equal(signedUp.location, '/?m=email_verified');
    await b.submit(await b.get('/logout'), '/logout');

    const started = await login(b, 'bob');
    assert.equal(started.location, '/login/otp');
    const otp = await b.follow(started);
    assert.match(otp.body, /<h1>Check your email<\/h1>/);
    const first = t.engine.outbox.lastCode('bob@example.com');
    assert.ok(!otp.body.includes(first), 'the code never appears in a page');
    assert.match(textOf(otp.body), /you can ask for a new code in 30 seconds/);

    // Inside the cooldown the send is refused with the wait.
    const early = await b.submit(otp, '/login/otp/send', {}, (f) => f.fields.method === 'email');
    assert.equal(early.status, 429);
    assert.match(alertText(early.body), /Too many codes sent — try again in \d+ seconds/);

    t.engine.advance(31_000);
    const again = await b.get('/login/otp');
    assert.match(textOf(again.body), /Send a new code/);
    const resent = await b.submit(again, '/login/otp/send', {}, (f) => f.fields.method === 'email');
    assert.equal(resent.status, 303);
    const second = t.engine.outbox.lastCode('bob@example.com');
    const form = await b.follow(resent);

    const stale = await b.submit(form, '/login/otp', { code: first === second ? '000000' : first });
    assert.equal(stale.status, 401);
    assert.match(alertText(stale.body), /^Invalid one-time password/);

    const done = await b.submit(stale, '/login/otp', { code: second });
    assert.equal(done.status, 303);
    assert.equal(done.location, '/');
    const home = await b.get('/');
    assert.match(textOf(home.body), /Codes by email — bob@example\.com/);
  });

  void test('a wrong code shows "Invalid one-time password"; five close the login', async () => {
    const t = await start();
    const b = t.browser();
    await enrolledUser(t, b);
    await b.submit(await b.get('/'), '/logout');
    let page = await b.follow(await login(b, 'alice'));
    for (let i = 0; i < 4; i++) {
      page = await b.submit(page, '/login/otp', { code: '000000' });
      assert.equal(page.status, 401);
      assert.equal(alertText(page.body), 'Invalid one-time password');
    }
    const last = await b.submit(page, '/login/otp', { code: '000000' });
    assert.equal(last.status, 303);
    assert.equal(last.location, '/login?m=attempts_exhausted');
    assert.equal(b.cookies.get(COOKIE.pending), undefined);
    assert.match(alertText((await b.follow(last)).body), /Too many wrong codes/);
  });

  void test('an email code past its lifetime: "One-time password has expired"', async () => {
    const t = await start();
    const b = t.browser();
    await signupWithVerifiedEmail(t, b, { username: 'carol', password: PASSWORD, email: 'carol@example.com' });
    await b.submit(await b.get('/logout'), '/logout');
    const otp = await b.follow(await login(b, 'carol'));
    const code = t.engine.outbox.lastCode('carol@example.com');
    t.engine.advance(t.config.codeTTLSeconds * 1000 + 1000);
    const expired = await b.submit(otp, '/login/otp', { code });
    assert.equal(expired.status, 410);
    assert.match(alertText(expired.body), /^One-time password has expired/);
  });

  void test('too many attempts: "Too many attempts — try again in N seconds" with Retry-After', async () => {
    const t = await start({ engine: { limits: { otp: { ...DEFAULT_LIMITS.otp, freeAttempts: 1, baseDelayMs: 60_000 }, password: { ...DEFAULT_LIMITS.password, freeAttempts: 1, baseDelayMs: 60_000 } } } });
    const b = t.browser();
    await enrolledUser(t, b);
    await b.submit(await b.get('/'), '/logout');
    let page = await b.follow(await login(b, 'alice'));
    page = await b.submit(page, '/login/otp', { code: '000000' });
    assert.equal(page.status, 401);
    page = await b.submit(page, '/login/otp', { code: '000000' });
    assert.equal(page.status, 429);
    assert.equal(alertText(page.body), 'Too many attempts — try again in 60 seconds');
    assert.equal(page.headers['retry-after'], '60');

    // The password step says the same.
    const c = t.browser();
    assert.equal((await login(c, 'alice', 'wrong password 1')).status, 401);
    const limited = await login(c, 'alice', 'wrong password 2');
    assert.equal(limited.status, 429);
    assert.match(alertText(limited.body), /^Too many attempts — try again in \d+ seconds$/);
  });

  void test('a code from a clock four minutes behind gets the drift hint', async () => {
    const t = await start();
    const b = t.browser();
    const { key } = await enrolledUser(t, b);
    await b.submit(await b.get('/'), '/logout');
    t.engine.advance(30_000);
    const otp = await b.follow(await login(b, 'alice'));
    const refused = await b.submit(otp, '/login/otp', { code: generateTOTP(key, t.engine.now() - 240_000) });
    assert.equal(refused.status, 401);
    assert.equal(alertText(refused.body), "Invalid one-time password Your authenticator's clock seems about 4 minutes behind — check the time settings on your device");
  });

  void test('wrong password and unknown user get the same page', async () => {
    const t = await start();
    await enrolledUser(t, t.browser());
    const b = t.browser();
    const wrong = await login(b, 'alice', 'not the password');
    const unknown = await login(b, 'nobody', 'not the password');
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(alertText(wrong.body), 'Invalid username or password');
    assert.equal(wrong.body.replace('alice', 'nobody'), unknown.body);
    assert.ok(!wrong.body.includes('not the password'), 'the password is never echoed');
  });

  void test('a recovery code logs in once and the account page counts it', async () => {
    const t = await start();
    const b = t.browser();
    const { codes } = await enrolledUser(t, b);
    await b.submit(await b.get('/'), '/logout');
    const otp = await b.follow(await login(b, 'alice'));
    const recovery = await b.get('/login/otp?method=recovery');
    assert.match(recovery.body, /<h1>Use a recovery code<\/h1>/);
    assert.ok(parseHTML(otp.body).some((e) => e.tag === 'a' && e.attrs.href === '/login/otp?method=recovery'));
    const done = await b.submit(recovery, '/login/otp', { code: codes[0] ?? '' });
    assert.equal(done.status, 303);
    assert.equal(done.location, '/?m=recovery_code_used');
    assert.match(textOf((await b.follow(done)).body), /You have 9 recovery codes left/);
  });

  void test('an account without a second factor must enroll: session cookie and /settings/totp', async () => {
    const t = await start();
    await t.engine.auth.createAccount({ username: 'dave', password: PASSWORD });
    const b = t.browser();
    const started = await login(b, 'dave');
    assert.equal(started.status, 303);
    assert.equal(started.location, '/settings/totp');
    assert.ok(sessionCookie(b));
    assert.equal(b.cookies.get(COOKIE.pending), undefined);
  });

  void test('/login/otp without a live pending login goes back to /login with a message', async () => {
    const t = await start();
    const b = t.browser();
    const none = await b.get('/login/otp');
    assert.equal(none.status, 303);
    assert.equal(none.location, '/login?m=login_expired');

    await enrolledUser(t, b);
    await b.submit(await b.get('/'), '/logout');
    const otp = await b.follow(await login(b, 'alice'));
    t.engine.advance(t.config.loginTTLSeconds * 1000 + 1000);
    const late = await b.submit(otp, '/login/otp', { code: '123456' });
    assert.equal(late.status, 303);
    assert.equal(late.location, '/login?m=login_expired');
    assert.match(alertText((await b.follow(late)).body), /Your sign-in timed out/);
  });

  void test('a delivery failure says "We couldn\'t send the code — try another method"', async () => {
    const t = await start();
    const b = t.browser();
    await signupWithVerifiedEmail(t, b, { username: 'erin', password: PASSWORD, email: 'erin@example.com' });
    await b.submit(await b.get('/logout'), '/logout');
    t.engine.outbox.failing = true;
    const started = await login(b, 'erin');
    assert.equal(started.location, '/login/otp?method=email&m=delivery_failed');
    const page = await b.follow(started);
    assert.equal(alertText(page.body), "We couldn't send the code — try another method");
    assert.match(textOf(page.body), /We'll send a 6-digit code by email/, 'not "check your email" for a code that never left');
    assert.match(textOf(page.body), /You can ask for a new code in 30 seconds/);
    t.engine.advance(31_000);
    const retried = await b.submit(page, '/login/otp/send', {}, (f) => f.fields.method === 'email');
    assert.equal(retried.status, 503);
    assert.equal(alertText(retried.body), "We couldn't send the code — try another method");
  });

  void test('sign-up refuses a weak password with the policy\'s reason, keeping what was typed', async () => {
    const t = await start();
    const b = t.browser();
    const weak = await signup(b, { username: 'frank', password: 'password1234', email: 'frank@example.com' });
    assert.equal(weak.status, 400);
    assert.equal(alertText(weak.body), 'This password is too common; choose another');
    const form = formsOf(weak.body).find((f) => f.action === '/signup');
    assert.equal(form?.fields.username, 'frank');
    assert.equal(form?.fields.email, 'frank@example.com');
    assert.equal(form?.fields.password, '', 'a password is never sent back');
    const taken = await b.submit(await b.get('/signup'), '/signup', { username: 'frank', password: PASSWORD });
    assert.equal(taken.status, 303);
    const again = await signup(t.browser(), { username: 'frank', password: PASSWORD });
    assert.equal(again.status, 409);
  });

  void test('closed sign-up shows a page saying so, with 403', async () => {
    const t = await start({ engine: { signup: 'closed' }, env: { OTPGATE_SIGNUP: 'closed' } });
    const b = t.browser();
    const page = await b.get('/signup');
    assert.equal(page.status, 403);
    assert.match(page.body, /<h1>Sign-up is closed<\/h1>/);
    const posted = await b.post('/signup', { _csrf: formsOf((await b.get('/login')).body)[0]?.fields._csrf ?? '', username: 'x1x', password: PASSWORD });
    assert.equal(posted.status, 403);
    assert.equal((await t.engine.store.listUsers()).length, 0);
    assert.ok(!(await b.get('/login')).body.includes('href="/signup"'));
  });
});

void describe('pages: the account page', () => {
  void test('requires level 2: none → /login, level 1 → /settings/totp', async () => {
    const t = await start();
    const b = t.browser();
    assert.equal((await b.get('/')).location, '/login');
    await signup(b, { username: 'gina', password: PASSWORD });
    assert.equal((await b.get('/')).location, '/settings/totp');
    for (const path of ['/settings/password', '/settings/recovery-codes', '/settings/sessions/revoke']) {
      const page = await b.follow(await b.submit(await b.get('/settings/totp'), '/settings/totp'));
      const res = await b.post(path, { _csrf: formsOf(page.body)[0]?.fields._csrf ?? '' });
      assert.equal(res.location, '/settings/totp', path);
    }
  });

  void test('removing an authenticator needs re-authentication', async () => {
    const t = await start();
    const b = t.browser();
    const { key } = await enrolledUser(t, b);
    const pick = (f: { action: string }) => f.action.startsWith('/settings/factors/remove');
    const account = await b.get('/');

    const bare = await b.submit(account, '/settings/factors/remove', {}, pick);
    assert.equal(bare.status, 400);
    const wrong = await b.submit(account, '/settings/factors/remove', { password: 'not it' }, pick);
    assert.equal(wrong.status, 401);
    assert.equal(alertText(wrong.body), 'Your password or code was not accepted');
    assert.match(wrong.body, /<details open>/, 'the form with the error is open');
    const user = await t.engine.store.getUserByUsername('alice');
    assert.ok(user);
    assert.equal((await t.engine.store.listTOTPFactors(user.id)).length, 1);

    t.engine.advance(30_000);
    const removed = await b.submit(account, '/settings/factors/remove', { code: generateTOTP(key, t.engine.now()) }, pick);
    assert.equal(removed.status, 303);
    assert.equal(removed.location, '/?m=factor_removed');
    assert.equal((await t.engine.store.listTOTPFactors(user.id)).length, 0);
    assert.match(textOf((await b.follow(removed)).body), /The authenticator was removed/);
  });

  void test('regenerating recovery codes needs re-authentication, shows the codes once, voids the old', async () => {
    const t = await start();
    const b = t.browser();
    const { key, codes: old } = await enrolledUser(t, b);
    const account = await b.get('/');
    const wrong = await b.submit(account, '/settings/recovery-codes', { password: 'nope nope' });
    assert.equal(wrong.status, 401);
    const posted = await b.submit(account, '/settings/recovery-codes', { password: PASSWORD });
    assert.equal(posted.status, 303);
    const fresh = await b.follow(posted);
    assert.equal(fresh.status, 200);
    assert.equal(fresh.headers['cache-control'], 'no-store');
    const codes = recoveryCodesFrom(fresh.body);
    assert.equal(codes.length, 10);
    assert.ok(!codes.includes(old[0] ?? ''));
    assert.ok(!(await b.get('/')).body.includes(codes[0] ?? '-'), 'shown once: never again on the account page');

    await b.submit(await b.get('/'), '/logout');
    const otp = await b.follow(await login(b, 'alice'));
    const stale = await b.submit(otp, '/login/otp', { method: 'recovery', code: old[0] ?? '' });
    assert.equal(stale.status, 401);
    const ok = await b.submit(stale, '/login/otp', { code: codes[0] ?? '' });
    assert.equal(ok.status, 303);
    assert.ok(key);
  });

  void test('sessions are listed (this device marked) and another one can be revoked', async () => {
    const t = await start();
    const a = t.browser();
    const { key } = await enrolledUser(t, a);
    const other = t.browser();
    other.userAgent = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Version/18.0 Mobile/15E148 Safari/604.1';
    assert.equal((await loginWithTOTP(t, other, 'alice', key)).location, '/');
    assert.equal((await other.get('/')).status, 200);

    const account = await a.get('/');
    assert.match(textOf(account.body), /Firefox on Linux This device/);
    assert.match(textOf(account.body), /Safari on iOS/);
    const revokeForms = formsOf(account.body).filter((f) => f.action.startsWith('/settings/sessions/revoke'));
    assert.equal(revokeForms.length, 1, 'no revoke button on the current session');
    const revoked = await a.submit(account, '/settings/sessions/revoke');
    assert.equal(revoked.location, '/?m=session_revoked');
    assert.equal((await other.get('/')).location, '/login', 'the other browser is signed out');
    assert.equal((await a.get('/')).status, 200);
  });

  void test('from a sign-in older than ten minutes, signing out another session asks for the password', async () => {
    const t = await start();
    const a = t.browser();
    const { key } = await enrolledUser(t, a);
    t.engine.advance(30_000);
    const other = t.browser();
    assert.equal((await loginWithTOTP(t, other, 'alice', key)).location, '/');
    t.engine.advance(11 * 60_000);
    assert.equal((await other.get('/')).status, 200);

    const account = await a.get('/');
    const form = formsOf(account.body).find((f) => f.action.startsWith('/settings/sessions/revoke'));
    assert.ok(form && 'password' in form.fields, 'the sign-out form has a password field');
    const refused = await a.submit(account, '/settings/sessions/revoke', { password: 'not-the-password-1' });
    assert.equal(refused.status, 401);
    assert.match(textOf(refused.body), /Your password or code was not accepted/);
    assert.equal((await other.get('/')).status, 200, 'a refusal signs nobody out');
    const done = await a.submit(refused, '/settings/sessions/revoke', { password: PASSWORD });
    assert.equal(done.location, '/?m=session_revoked');
    assert.equal((await other.get('/')).location, '/login');
  });

  void test('changing the password needs the current one and signs out other sessions', async () => {
    const t = await start();
    const a = t.browser();
    const { key } = await enrolledUser(t, a);
    const other = t.browser();
    await loginWithTOTP(t, other, 'alice', key);
    const account = await a.get('/');

    const wrong = await a.submit(account, '/settings/password', { current_password: 'not it at all', new_password: 'a brand new passphrase' });
    assert.equal(wrong.status, 401);
    assert.equal(alertText(wrong.body), 'Current password is incorrect');
    const weak = await a.submit(account, '/settings/password', { current_password: PASSWORD, new_password: 'alice123' });
    assert.equal(weak.status, 400);
    assert.match(alertText(weak.body), /Password must|username|too common|too easy/);

    const changed = await a.submit(account, '/settings/password', { current_password: PASSWORD, new_password: 'a brand new passphrase' });
    assert.equal(changed.location, '/?m=password_changed');
    assert.equal((await a.get('/')).status, 200, 'this session stays');
    assert.equal((await other.get('/')).location, '/login', 'the other session ended');
    assert.equal((await login(t.browser(), 'alice')).status, 401, 'the old password fails');
    assert.equal((await login(t.browser(), 'alice', 'a brand new passphrase')).location, '/login/otp');
  });

  void test('a phone number is verified with the SMS code and then counts', async () => {
    const t = await start();
    const b = t.browser();
    await enrolledUser(t, b);
    const sent = await b.submit(await b.get('/'), '/settings/phone', { phone: '+1 415 555 0123' });
    assert.equal(sent.location, '/settings/phone/confirm?m=phone_code_sent');
    const confirm = await b.follow(sent);
    const wrong = await b.submit(confirm, '/settings/phone/confirm', { code: '000000' });
    assert.equal(wrong.status, 401);
    const ok = await b.submit(confirm, '/settings/phone/confirm', { code: t.engine.outbox.lastCode('+14155550123') });
    assert.equal(ok.location, '/?m=phone_verified');
    assert.match(textOf((await b.follow(ok)).body), /Codes by SMS — \+14155550123/);
  });
});

void describe('pages: CSRF, origin, GET never mutates', () => {
  void test('a POST without the CSRF token gets the 403 "form expired" page with a link back', async () => {
    const t = await start();
    const b = t.browser();
    await b.get('/login'); // the browser has its CSRF cookie
    const res = await b.post('/login', { username: 'alice', password: PASSWORD });
    assert.equal(res.status, 403);
    assert.match(res.headers['content-type'] as string, /^text\/html/);
    assert.equal(alertText(res.body), FORM_EXPIRED);
    assert.ok(parseHTML(res.body).some((e) => e.tag === 'a' && e.attrs.href === '/login'));

    const forged = await b.post('/login', { _csrf: 'A'.repeat(43), username: 'alice', password: PASSWORD });
    assert.equal(forged.status, 403);
    // A token with no CSRF cookie (another browser's token) fails too.
    const token = formsOf((await b.get('/login')).body)[0]?.fields._csrf ?? '';
    const stranger = t.browser();
    assert.equal((await stranger.post('/login', { _csrf: token, username: 'alice', password: PASSWORD })).status, 403);
  });

  void test('a POST from a foreign origin gets 403 even with a valid token', async () => {
    const t = await start();
    const b = t.browser();
    const { key } = await enrolledUser(t, b);
    const page = await b.get('/');
    const token = formsOf(page.body)[0]?.fields._csrf ?? '';
    const foreign = await b.post('/logout', { _csrf: token }, 'https://evil.example');
    assert.equal(foreign.status, 403);
    assert.equal(alertText(foreign.body), FORM_EXPIRED);
    const crossSite = await b.request('POST', '/logout', { form: { _csrf: token }, headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(crossSite.status, 403);
    assert.equal((await b.get('/')).status, 200, 'still signed in');
    assert.ok(key);
  });

  void test('GET /logout does not log out; GET /settings/totp creates nothing', async () => {
    const t = await start();
    const b = t.browser();
    await signup(b, { username: 'hana', password: PASSWORD });
    const user = await t.engine.store.getUserByUsername('hana');
    assert.ok(user);
    for (let i = 0; i < 3; i++) assert.equal((await b.get('/settings/totp')).status, 200);
    assert.equal((await t.engine.store.listTOTPFactors(user.id)).length, 0);

    const token = sessionCookie(b) ?? '';
    const confirm = await b.get('/logout');
    assert.equal(confirm.status, 200);
    assert.match(confirm.body, /<h1>Log out\?<\/h1>/);
    assert.ok(await t.engine.auth.validateSession(token), 'the session lives on');
    assert.equal(sessionCookie(b), token);
  });

  void test('form bodies only: JSON or text/plain to a page is refused, and the API still takes JSON', async () => {
    const t = await start();
    const b = t.browser();
    await b.get('/login');
    const json = await b.request('POST', '/login', { headers: { 'content-type': 'application/json', origin: ORIGIN }, form: {} });
    assert.equal(json.status, 415);
    const api = await t.app.inject({ method: 'POST', url: '/api/login', headers: { origin: ORIGIN }, payload: { username: 'nobody', password: 'whatever it is' } });
    assert.equal(api.statusCode, 401);
    const apiForm = await t.app.inject({ method: 'POST', url: '/api/login', headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=a&password=b' });
    assert.equal(apiForm.statusCode, 415, 'the API does not read forms');
  });
});

void describe('pages: headers, static files, errors', () => {
  void test('every page is no-store with the security headers and HTML content type', async () => {
    const t = await start();
    const b = t.browser();
    for (const path of ['/login', '/signup']) {
      const res = await b.get(path);
      assert.equal(res.headers['cache-control'], 'no-store', path);
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
      assert.match(String(res.headers['content-security-policy']), /default-src 'self'/);
      assert.equal(res.headers['x-frame-options'], 'DENY');
    }
  });

  void test('/static/style.css: cached an hour, ETag, 304; only listed files are served', async () => {
    const t = await start();
    const css = await t.app.inject({ method: 'GET', url: '/static/style.css' });
    assert.equal(css.statusCode, 200);
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(css.headers['cache-control'], 'public, max-age=3600');
    assert.match(String(css.headers.etag), /^"[\w-]+"$/);
    assert.match(css.body, /prefers-color-scheme: dark/);
    const again = await t.app.inject({ method: 'GET', url: '/static/style.css', headers: { 'if-none-match': String(css.headers.etag) } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
    const icon = await t.app.inject({ method: 'GET', url: '/static/icon.svg' });
    assert.equal(icon.headers['content-type'], 'image/svg+xml');
    for (const url of ['/static/../package.json', '/static/..%2Fpackage.json', '/static/%2e%2e%2fsrc%2fconfig.ts', '/static/nope.css', '/static/']) {
      const res = await t.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
      assert.ok(!res.body.includes('"name": "otpgate"'));
    }
  });

  void test('404: an HTML page for a browser that never echoes the URL; JSON otherwise', async () => {
    const t = await start();
    const b = t.browser();
    const page = await b.get('/no-such-page-<b>x</b>');
    assert.equal(page.status, 404);
    assert.match(page.headers['content-type'] as string, /^text\/html/);
    assert.match(page.body, /<h1>Page not found<\/h1>/);
    assert.ok(!decodeEntities(page.body).includes('no-such-page'));
    const api = await b.get('/api/no-such-thing');
    assert.equal(api.status, 404);
    assert.deepEqual(JSON.parse(api.body), { error: 'not_found', message: 'Not found' });
    const curl = await t.app.inject({ method: 'GET', url: '/no-such-page' });
    assert.deepEqual(curl.json(), { error: 'not_found', message: 'Not found' });
  });

  void test('a failing page answers a generic HTML 500 without details', async () => {
    const t = await start();
    const b = t.browser();
    await enrolledUser(t, b);
    t.engine.auth.listAudit = () => Promise.reject(new Error('database password=hunter2 exploded'));
    const res = await b.get('/');
    assert.equal(res.status, 500);
    assert.match(res.body, /<h1>Something went wrong<\/h1>/);
    assert.ok(!res.body.includes('hunter2'));
  });
});
