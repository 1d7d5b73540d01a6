/**
 * Issue 12, findings 2 and 3: adding a phone number needed no fresh proof, and anyone
 * with a password-only session could have SMS sent to any number (premium and satellite
 * ranges too), with SMS off in OTPGATE_FACTORS, and without a server-wide cap.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertError, client, enrolledClient as enrolled, makeApp } from '../support/http.ts';
import { client as engineClient, makeEngine } from '../support/engine.ts';
import { openSQLiteStore } from '../../src/store/sqlite.ts';
import { generateTOTP } from '../../src/otp/index.ts';
import { loadConfig } from '../../src/config.ts';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PASSWORD = 'marigold-teapot-58';
type App = Awaited<ReturnType<typeof makeApp>>;



const smsTo = (t: App, to: string) => t.outbox.messages.filter((m) => m.channel === 'sms' && m.to === to);

describe('finding 3: SMS to any number from an anonymous sign-up', () => {
  it('finding 3: POST /api/phone and /api/phone/verify from a level-1 (password-only) session answer 401 and send nothing', async () => {
    const t = await makeApp();
    const c = client(t.app);
    assert.equal((await c.request('POST', '/api/signup', { username: 'pumper', password: PASSWORD })).statusCode, 201);
    assertError(await c.request('POST', '/api/phone', { phone: '+14155550123' }), 401, 'unauthenticated');
    assertError(await c.request('POST', '/api/phone/verify', { code: '123456' }), 401, 'unauthenticated');
    assert.equal(t.outbox.messages.length, 0);
  });

  it('finding 3: the engine itself refuses a level-1 session a phone number', async () => {
    const e = await makeEngine();
    const signup = await e.auth.signup({ username: 'pumper', password: PASSWORD }, engineClient);
    assert.equal(signup.status, 'ok');
    if (signup.status !== 'ok') return;
    const result = await e.auth.startPhoneVerification(signup.session.session, '+14155550123', engineClient);
    assert.notEqual(result.status, 'sent');
    assert.equal(e.outbox.messages.length, 0);
  });

  it('finding 3: with sms not in OTPGATE_FACTORS, POST /api/phone answers 403 sms_disabled and sends nothing', async () => {
    const t = await makeApp({ factors: ['totp', 'email', 'recovery'] }, { OTPGATE_FACTORS: 'totp,email,recovery' });
    const { c } = await enrolled(t);
    assertError(await c.request('POST', '/api/phone', { phone: '+14155550123' }), 403, 'sms_disabled');
    assertError(await c.request('POST', '/api/phone/verify', { code: '123456' }), 403, 'sms_disabled');
    assert.equal(smsTo(t, '+14155550123').length, 0);
  });

  it('finding 3: premium, satellite and international-network numbers are refused with 400 phone_not_allowed and get no SMS', async () => {
    const t = await makeApp();
    const { c } = await enrolled(t);
    for (const phone of ['+881612345678', '+882345678901', '+883510012345', '+870772345678', '+979123456789', '+80012345678']) {
      const body = assertError(await c.request('POST', '/api/phone', { phone }), 400, 'phone_not_allowed');
      assert.match(String(body.message), /premium, satellite or international network/);
      assert.equal(smsTo(t, phone).length, 0, phone);
    }
    assert.equal((await c.request('POST', '/api/phone', { phone: '+447700900123' })).statusCode, 202);
  });

  it('finding 3: OTPGATE_SMS_COUNTRIES allows only the listed calling codes', async () => {
    const t = await makeApp({ smsCountries: ['1', '44'] });
    const { c } = await enrolled(t);
    const body = assertError(await c.request('POST', '/api/phone', { phone: '+4915112345678' }), 400, 'phone_not_allowed');
    assert.match(String(body.message), /\+49/);
    assert.equal(smsTo(t, '+4915112345678').length, 0);
    assert.equal((await c.request('POST', '/api/phone', { phone: '+447700900123' })).statusCode, 202);
  });

  it('finding 3: OTPGATE_SMS_COUNTRIES and OTPGATE_SMS_HOURLY_CAP are read, and bad values stop start-up with one line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-sms-config-'));
    const config = loadConfig({ OTPGATE_DATA_DIR: dir, OTPGATE_SMS_COUNTRIES: '1, 44,49', OTPGATE_SMS_HOURLY_CAP: '50' });
    assert.deepEqual(config.smsCountries, ['1', '44', '49']);
    assert.equal(config.smsHourlyCap, 50);
    const unset = loadConfig({ OTPGATE_DATA_DIR: dir });
    assert.equal(unset.smsCountries, undefined);
    assert.equal(unset.smsHourlyCap, undefined);
    for (const [name, value, pattern] of [
      ['OTPGATE_SMS_COUNTRIES', '4', /not a country calling code/],
      ['OTPGATE_SMS_COUNTRIES', '+44', /not a country calling code/],
      ['OTPGATE_SMS_COUNTRIES', '1,881', /always refused/],
      ['OTPGATE_SMS_HOURLY_CAP', '0', /integer/],
    ] as const) {
      assert.throws(() => loadConfig({ OTPGATE_DATA_DIR: dir, [name]: value }), (error: Error) => {
        assert.ok(error.message.startsWith(`${name}: `), error.message);
        assert.match(error.message, pattern);
        assert.ok(!error.message.includes('\n'));
        return true;
      });
    }
  });

  it('finding 3: OTPGATE_SMS_HOURLY_CAP is one count for two engines on one database and covers phone checks and login codes; past it 503 delivery_failed and an audit event', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-sms-cap-'));
    const store = await openSQLiteStore(join(dir, 'otpgate.db'));
    const options = { store, smsHourlyCap: 2 };
    const a = await makeApp(options);
    const b = await makeApp(options);
    // Ten minutes before a clock hour ends, so the test can reach the next hour's count.
    a.setNow(Date.UTC(2026, 0, 1, 12, 50, 0));
    b.setNow(a.now());
    const { c, secret } = await enrolled(a, 'ivy');
    const { c: d } = await enrolled(b, 'jay');
    // 1: a phone check through instance a.
    assert.equal((await c.request('POST', '/api/phone', { phone: '+14155550123' })).statusCode, 202);
    assert.equal((await c.request('POST', '/api/phone/verify', { code: a.outbox.lastCode('+14155550123') })).statusCode, 200);
    // 2: another account's phone check through instance b.
    assert.equal((await d.request('POST', '/api/phone', { phone: '+14155550124' })).statusCode, 202);
    // 3: a login code by SMS through instance a: past the cap.
    a.advance(60_000);
    b.advance(60_000);
    const login = client(a.app, '192.0.2.77');
    assert.equal((await login.request('POST', '/api/login', { username: 'ivy', password: PASSWORD })).statusCode, 200);
    assertError(await login.request('POST', '/api/login/send', { method: 'sms' }), 503, 'delivery_failed');
    assertError(await d.request('POST', '/api/phone', { phone: '+14155550125' }), 503, 'delivery_failed');
    assert.equal(a.outbox.messages.filter((m) => m.channel === 'sms').length, 1);
    assert.equal(b.outbox.messages.filter((m) => m.channel === 'sms').length, 1);
    const capped = (await store.listAudit({ limit: 50 })).filter((e) => e.type === 'delivery_failed' && JSON.stringify(e.detail).includes('sms_hourly_cap'));
    assert.equal(capped.length, 2);
    // The next clock hour has room again; TOTP still signs in meanwhile.
    assert.equal((await login.request('POST', '/api/login/verify', { method: 'totp', code: generateTOTP(secret, a.now()) })).statusCode, 200);
    a.advance(11 * 60_000);
    b.advance(11 * 60_000);
    assert.equal((await d.request('POST', '/api/phone', { phone: '+14155550125', password: PASSWORD })).statusCode, 202);
  });
});

describe('finding 2: adding a phone number needs fresh proof', () => {
  it('finding 2: a level-2 session signed in over 10 minutes ago cannot add a first number without the password or a code (401 reauth_required)', async () => {
    const t = await makeApp();
    const { c, secret } = await enrolled(t);
    t.advance(11 * 60_000);
    assertError(await c.request('POST', '/api/phone', { phone: '+14155550123' }), 401, 'reauth_required');
    assertError(await c.request('POST', '/api/phone', { phone: '+14155550123', password: 'not-the-password' }), 401, 'reauth_required');
    assert.equal(smsTo(t, '+14155550123').length, 0);
    assert.equal((await c.request('POST', '/api/phone', { phone: '+14155550123', code: generateTOTP(secret, t.now()) })).statusCode, 202);
    assert.equal(smsTo(t, '+14155550123').length, 1);
  });

  it('finding 2: the page /settings/phone from a stale session asks for the password and refuses without it', async () => {
    const t = await makeApp();
    const { c } = await enrolled(t);
    t.advance(11 * 60_000);
    const page = await c.request('GET', '/');
    assert.equal(page.statusCode, 200);
    const form = /<form method="post" action="\/settings\/phone#phone">[\s\S]*?<\/form>/.exec(page.body)?.[0] ?? '';
    assert.match(form, /name="password"/, 'the phone form asks for the password');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form)?.[1] ?? '';
    const refused = await t.app.inject({
      method: 'POST',
      url: '/settings/phone',
      remoteAddress: '192.0.2.20',
      headers: { origin: 'https://localhost:8443', 'content-type': 'application/x-www-form-urlencoded' },
      cookies: Object.fromEntries(c.cookies),
      payload: new URLSearchParams({ _csrf: csrf, phone: '+14155550123' }).toString(),
    });
    assert.equal(refused.statusCode, 401, refused.body);
    assert.equal(smsTo(t, '+14155550123').length, 0);
    const accepted = await t.app.inject({
      method: 'POST',
      url: '/settings/phone',
      remoteAddress: '192.0.2.20',
      headers: { origin: 'https://localhost:8443', 'content-type': 'application/x-www-form-urlencoded' },
      cookies: Object.fromEntries(c.cookies),
      payload: new URLSearchParams({ _csrf: csrf, phone: '+14155550123', password: PASSWORD }).toString(),
    });
    assert.equal(accepted.statusCode, 303, accepted.body);
    assert.equal(smsTo(t, '+14155550123').length, 1);
  });
});
