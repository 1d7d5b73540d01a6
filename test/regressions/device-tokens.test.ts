/**
 * Finding 7: the device cookie was an HMAC of the user id, the same value forever, for
 * every browser, surviving a password change. Now it is a random token per browser,
 * kept hashed, listed, and revoked by a password change, a 2FA reset and a button.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, makeEngine } from '../support/engine.ts';
import { client as httpClient, makeApp } from '../support/http.ts';
import { signIn, totpAccount } from '../support/totp-account.ts';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';

const PASSWORD = 'lantern-orchard-73';
const NEW_PASSWORD = 'copper-meadow-wren-19';
const stranger = { ip: '203.0.113.66', userAgent: 'guesser' };

type Engine = Awaited<ReturnType<typeof makeEngine>>;

/** Enough stranger failures that the username's delay is on: an unknown browser is then refused. */
async function strangersFail(e: Engine, username: string): Promise<void> {
  for (let i = 0; i < 6; i++) await e.auth.startLogin(username, `wrong-guess-${i}-pw`, stranger);
}

describe('finding 7: device tokens', () => {
  it('finding 7: each browser gets its own random token, not one value per account', async () => {
    const e = await makeEngine();
    const { secret } = await totpAccount(e, 'tom', PASSWORD);
    const a = await signIn(e, 'tom', PASSWORD, secret);
    const b = await signIn(e, 'tom', PASSWORD, secret);
    assert.match(a.deviceToken, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a.deviceToken, b.deviceToken);
  });

  it('finding 7: a browser that presents its live token keeps it', async () => {
    const e = await makeEngine();
    const { secret } = await totpAccount(e, 'tom', PASSWORD);
    const a = await signIn(e, 'tom', PASSWORD, secret);
    const again = await signIn(e, 'tom', PASSWORD, secret, client, a.deviceToken);
    assert.equal(again.deviceToken, a.deviceToken);
  });

  it('finding 7: a password change revokes the device token (the browser is a stranger again)', async () => {
    const e = await makeEngine();
    const { secret } = await totpAccount(e, 'tom', PASSWORD);
    const signedIn = await signIn(e, 'tom', PASSWORD, secret);
    assert.equal((await e.auth.changePassword(signedIn.session.session, PASSWORD, NEW_PASSWORD, client)).status, 'ok');
    await strangersFail(e, 'tom');
    assert.equal((await e.auth.startLogin('tom', NEW_PASSWORD, client, signedIn.deviceToken)).status, 'rate_limited');
  });

  it('finding 7: a 2FA reset (otpgate user reset-2fa) revokes the device token', async () => {
    const e = await makeEngine();
    const { user, secret } = await totpAccount(e, 'tom', PASSWORD);
    const signedIn = await signIn(e, 'tom', PASSWORD, secret);
    await e.auth.resetSecondFactors(user);
    await strangersFail(e, 'tom');
    assert.equal((await e.auth.startLogin('tom', PASSWORD, client, signedIn.deviceToken)).status, 'rate_limited');
  });

  it('finding 7: the token is stored only as a hash', async () => {
    const e = await makeEngine();
    const { user, secret } = await totpAccount(e, 'tom', PASSWORD);
    const signedIn = await signIn(e, 'tom', PASSWORD, secret);
    const devices = await e.store.listDevices(user.id);
    assert.equal(devices.length, 1);
    assert.ok(!JSON.stringify(devices).includes(signedIn.deviceToken));
  });
});

describe('finding 7: GET /api/devices and DELETE /api/devices/:id', () => {
  async function setup() {
    const t = await makeApp();
    const owner = httpClient(t.app);
    assert.equal((await owner.request('POST', '/api/signup', { username: 'ivy', password: PASSWORD })).statusCode, 201);
    const begun = owner.json<{ factor_id: string; secret: string }>(await owner.request('POST', '/api/factors/totp', { label: 'Phone' }));
    const secret = decodeBase32(begun.secret);
    assert.equal((await owner.request('POST', '/api/factors/totp/verify', { factor_id: begun.factor_id, code: generateTOTP(secret, t.now()) })).statusCode, 200);
    t.advance(30_000);
    const browser = httpClient(t.app, '192.0.2.30');
    assert.equal((await browser.request('POST', '/api/login', { username: 'ivy', password: PASSWORD })).statusCode, 200);
    const verified = await browser.request('POST', '/api/login/verify', { method: 'totp', code: generateTOTP(secret, t.now()) });
    assert.equal(verified.statusCode, 200, verified.body);
    t.advance(30_000);
    return { t, browser, secret };
  }

  it('finding 7: lists the browsers that completed a sign-in, never a token, and the button revokes one', async () => {
    const { t, browser } = await setup();
    const device = browser.cookies.get('__Host-otpgate-device') ?? assert.fail('no device cookie');
    const listed = await browser.request('GET', '/api/devices');
    assert.equal(listed.statusCode, 200, listed.body);
    assert.equal(listed.headers['cache-control'], 'no-store');
    const body = browser.json<{ devices: Array<Record<string, unknown>> }>(listed);
    assert.equal(body.devices.length, 1);
    const [entry] = body.devices;
    assert.deepEqual(Object.keys(entry ?? {}).sort(), ['created_at', 'current', 'id', 'ip', 'last_used_at', 'user_agent']);
    assert.equal(entry?.current, true);
    assert.ok(!listed.body.includes(device), 'the token never appears in a response');

    assert.equal((await browser.request('DELETE', `/api/devices/${String(entry?.id)}`)).statusCode, 204);
    assert.equal(browser.json<{ devices: unknown[] }>(await browser.request('GET', '/api/devices')).devices.length, 0);
    const attacker = httpClient(t.app, '203.0.113.9');
    for (let i = 0; i < 6; i++) await attacker.request('POST', '/api/login', { username: 'ivy', password: `wrong-guess-${i}-pw` });
    const again = await browser.request('POST', '/api/login', { username: 'ivy', password: PASSWORD });
    assert.equal(again.statusCode, 429, 'a revoked token is a stranger\'s browser');
  });

  it('finding 7: revoking a device from a stale session needs re-authentication; another account\'s device is not found', async () => {
    const { t, browser } = await setup();
    const [entry] = browser.json<{ devices: Array<{ id: string }> }>(await browser.request('GET', '/api/devices')).devices;
    t.advance(11 * 60_000);
    const stale = await browser.request('DELETE', `/api/devices/${entry?.id ?? ''}`);
    assert.equal(stale.statusCode, 401, stale.body);
    assert.equal(browser.json(stale).error, 'reauth_required');
    assert.equal((await browser.request('DELETE', `/api/devices/${entry?.id ?? ''}`, { password: PASSWORD })).statusCode, 204);
    assert.equal((await browser.request('DELETE', '/api/devices/nonexistent', { password: PASSWORD })).statusCode, 404);
  });

  it('finding 7: the account page lists the devices with a button to forget one', async () => {
    const { browser } = await setup();
    const page = await browser.request('GET', '/');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /id="devices"/);
    assert.match(page.body, /action="\/settings\/devices\/revoke#devices"/);
  });
});
