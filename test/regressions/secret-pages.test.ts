/**
 * Finding 15: the QR page and the recovery-codes page were the answers to the POST that
 * carries the password, so Back then Reload re-sent the password and made a new key or a
 * new set of codes. Now the POST answers 303 and a GET shows the secret once.
 */
import { strict as assert } from 'node:assert';
import { afterEach, describe, it } from 'node:test';
import { generateTOTP } from '../../src/otp/index.ts';
import { COOKIE } from '../../src/http/cookies.ts';
import { FRESH_SIGN_IN_MS } from '../../src/auth/index.ts';
import { PASSWORD, enrolledUser, formsOf, login, recoveryCodesFrom, signup, startPages, totpKeyFrom } from '../http/pages-browser.ts';
import type { Browser, Pages, Response } from '../http/pages-browser.ts';

let open: Pages[] = [];
afterEach(async () => {
  await Promise.all(open.map((t) => t.close()));
  open = [];
});
async function start(): Promise<Pages> {
  const t = await startPages();
  open.push(t);
  return t;
}

const hasKey = (r: Response) => /id="totp-key"/.test(r.body) || /otpauth:/.test(r.body) || /<svg/.test(r.body);
const hasCodes = (r: Response) => /class="codes/.test(r.body);

async function userId(t: Pages, username = 'alice'): Promise<string> {
  const user = await t.engine.store.getUserByUsername(username);
  assert.ok(user);
  return user.id;
}

/** Signs in again with the authenticator in a second browser: another session of the same account. */
async function secondSession(t: Pages, key: Parameters<typeof generateTOTP>[0]): Promise<Browser> {
  const b = t.browser();
  t.engine.advance(30_000);
  const started = await login(b, 'alice');
  assert.equal(started.location, '/login/otp');
  const done = await b.submit(await b.follow(started), '/login/otp', { code: generateTOTP(key, t.engine.now()) });
  assert.equal(done.status, 303);
  return b;
}

describe('finding 15: secrets are shown by a GET after a 303, once', () => {
  it('finding 15: adding an authenticator with the password answers 303 without the key; the GET shows it once; reload and Back create no second authenticator', async () => {
    const t = await start();
    const b = t.browser();
    await enrolledUser(t, b);
    t.engine.advance(FRESH_SIGN_IN_MS + 60_000);
    const form = await b.get('/settings/totp');
    assert.equal(form.status, 200);
    const posted = await b.submit(form, '/settings/totp', { label: 'Tablet', password: PASSWORD });
    assert.equal(posted.status, 303, 'the POST with the password is answered by a redirect');
    assert.equal(posted.location, '/settings/totp/setup');
    assert.ok(!hasKey(posted), 'no key in the answer to the POST');

    const shown = await b.get('/settings/totp/setup');
    assert.equal(shown.status, 200);
    assert.equal(shown.headers['cache-control'], 'no-store');
    assert.ok(hasKey(shown));
    const key = totpKeyFrom(shown.body);

    const reloaded = await b.get('/settings/totp/setup');
    assert.equal(reloaded.status, 303);
    assert.equal(reloaded.location, '/settings/totp?m=setup_shown');
    assert.ok(!hasKey(reloaded), 'a second view shows nothing secret');
    const back = await b.get('/settings/totp');
    assert.ok(!hasKey(back));
    assert.equal((await t.engine.store.listTOTPFactors(await userId(t))).length, 2, 'one confirmed, one waiting: reload and Back made none');

    // The page shown once still completes the setup.
    t.engine.advance(30_000);
    const confirmed = await b.submit(shown, '/settings/totp/confirm', { code: generateTOTP(key, t.engine.now()) });
    assert.equal(confirmed.status, 303);
    const factors = await t.engine.store.listTOTPFactors(await userId(t));
    assert.equal(factors.filter((f) => f.confirmedAt !== null).length, 2);
  });

  it('finding 15: regenerating recovery codes answers 303 without codes; the GET shows them once; a reload makes no new set', async () => {
    const t = await start();
    const b = t.browser();
    await enrolledUser(t, b);
    const account = await b.get('/');
    const posted = await b.submit(account, '/settings/recovery-codes', { password: PASSWORD });
    assert.equal(posted.status, 303, 'the POST with the password is answered by a redirect');
    assert.equal(posted.location, '/settings/recovery-codes');
    assert.ok(!hasCodes(posted));

    const shown = await b.get('/settings/recovery-codes');
    assert.equal(shown.status, 200);
    assert.equal(shown.headers['cache-control'], 'no-store');
    const codes = recoveryCodesFrom(shown.body);
    assert.equal(codes.length, 10);

    const reloaded = await b.get('/settings/recovery-codes');
    assert.equal(reloaded.status, 303);
    assert.equal(reloaded.location, '/?m=codes_shown');
    assert.ok(!hasCodes(reloaded));
    assert.ok(!hasCodes(await b.follow(reloaded)), 'the page it leads to shows no codes either');
    assert.equal(await t.engine.store.countRecoveryCodes(await userId(t)), 10);

    // The set shown once is still the account's set: the reload replaced nothing.
    const started = await t.engine.auth.startLogin('alice', PASSWORD, { ip: '192.0.2.30', userAgent: 'check' });
    assert.equal(started.status, 'otp_required');
    if (started.status !== 'otp_required') return;
    const verified = await t.engine.auth.verifyLogin(started.pendingLoginId, 'recovery', codes[0] ?? '', { ip: '192.0.2.30', userAgent: 'check' });
    assert.equal(verified.status, 'authenticated');
  });

  it('finding 15: the first authenticator\'s recovery codes come from a GET after the confirm, once', async () => {
    const t = await start();
    const b = t.browser();
    const signedUp = await signup(b, { username: 'alice', password: PASSWORD });
    const setup = await b.follow(await b.submit(await b.follow(signedUp), '/settings/totp', { label: 'Phone' }));
    assert.equal(setup.url, '/settings/totp/setup');
    const key = totpKeyFrom(setup.body);
    const confirmed = await b.submit(setup, '/settings/totp/confirm', { code: generateTOTP(key, t.engine.now()) });
    assert.equal(confirmed.status, 303);
    assert.equal(confirmed.location, '/settings/recovery-codes');
    assert.ok(!hasCodes(confirmed));
    const shown = await b.get('/settings/recovery-codes');
    assert.equal(shown.status, 200);
    assert.equal(shown.headers['cache-control'], 'no-store');
    assert.equal(recoveryCodesFrom(shown.body).length, 10);
    assert.match(shown.body, /Your authenticator app is set up/);
    const reloaded = await b.get('/settings/recovery-codes');
    assert.equal(reloaded.status, 303);
    assert.ok(!hasCodes(reloaded));
  });

  it('finding 15: a handle is useless without the session it was made for, and another session does not spend it', async () => {
    const t = await start();
    const b = t.browser();
    const { key } = await enrolledUser(t, b);
    const other = await secondSession(t, key);
    const posted = await b.submit(await b.get('/'), '/settings/recovery-codes', { password: PASSWORD });
    assert.equal(posted.status, 303);
    const handle = b.cookies.get(COOKIE.view);
    assert.ok(handle, 'the handle is in a cookie, never in the URL');
    assert.ok(!(posted.location ?? '').includes(handle));

    // The same account's other session, holding a copy of the handle: nothing.
    other.cookies.set(COOKIE.view, handle);
    const stolen = await other.get('/settings/recovery-codes');
    assert.ok(!hasCodes(stolen));
    // No session at all: sent to sign in.
    const anonymous = t.browser();
    anonymous.cookies.set(COOKIE.view, handle);
    const refused = await anonymous.get('/settings/recovery-codes');
    assert.equal(refused.location, '/login');
    assert.ok(!hasCodes(refused));

    // The owner's session still sees the codes, once.
    const shown = await b.get('/settings/recovery-codes');
    assert.equal(recoveryCodesFrom(shown.body).length, 10);
    assert.ok(!hasCodes(await b.get('/settings/recovery-codes')));
  });

  it('finding 15: the page that shows the key carries no form that would re-send the password', async () => {
    const t = await start();
    const b = t.browser();
    await enrolledUser(t, b);
    t.engine.advance(FRESH_SIGN_IN_MS + 60_000);
    const shown = await b.follow(await b.submit(await b.get('/settings/totp'), '/settings/totp', { password: PASSWORD }));
    assert.equal(shown.url, '/settings/totp/setup');
    for (const form of formsOf(shown.body)) assert.ok(!('password' in form.fields), `form ${form.action} has no password field`);
  });
});
