/** SECURITY.md items 17 and 19, each with its named test, through the JSON API. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { assertError, client, makeApp } from '../support/http.ts';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';

const PASSWORD = 'marigold-teapot-58';
const PHONE = '+14155550123';
type App = Awaited<ReturnType<typeof makeApp>>;


/** An account with an authenticator and `PHONE` (verified only when asked). */
async function accountWithPhone(t: App, verify: boolean) {
  const c = client(t.app);
  assert.equal((await c.request('POST', '/api/signup', { username: 'ivy', password: PASSWORD})).statusCode, 201);
  const begun = c.json<{ factor_id: string; secret: string }>(await c.request('POST', '/api/factors/totp', { label: 'App' }));
  const secret = decodeBase32(begun.secret);
  assert.equal((await c.request('POST', '/api/factors/totp/verify', { factor_id: begun.factor_id, code: generateTOTP(secret, t.now()) })).statusCode, 200);
  assert.equal((await c.request('POST', '/api/phone', { phone: PHONE })).statusCode, 202);
  if (verify) assert.equal((await c.request('POST', '/api/phone/verify', { code: t.outbox.lastCode(PHONE) })).statusCode, 200);
  t.advance(60_000);
  return secret;
}

const smsCount = (t: App) => t.outbox.messages.filter((m) => m.channel === 'sms' && m.to === PHONE).length;

describe('SMS limits and restrictions (SECURITY.md items 17 and 19)', () => {
  it('SECURITY.md item 17: rapid resends get 429 (per login cool-down, then the per-account cap), with Retry-After, and send nothing', async () => {
    const t = await makeApp();
    await accountWithPhone(t, true);
    const before = smsCount(t);
    const c = client(t.app, '192.0.2.31');
    assert.equal(c.json<{ methods: string[] }>(await c.request('POST', '/api/login', { username: 'ivy', password: PASSWORD })).methods.includes('sms'), true);
    assert.equal((await c.request('POST', '/api/login/send', { method: 'sms' })).statusCode, 202);
    const rapid = await c.request('POST', '/api/login/send', { method: 'sms' });
    assertError(rapid, 429, 'rate_limited');
    assert.ok(Number(rapid.headers['retry-after']) > 0);
    assert.equal(smsCount(t), before + 1);

    // Past the cool-down, sends continue until the account's hourly allowance is spent,
    // whatever the pending login and the address.
    let sent = 1;
    let refused: LightMyRequestResponse | undefined;
    for (let i = 0; i < 30 && !refused; i++) {
      t.advance(31_000);
      const other = client(t.app, `192.0.2.${40 + i}`);
      await other.request('POST', '/api/login', { username: 'ivy', password: PASSWORD });
      const send = await other.request('POST', '/api/login/send', { method: 'sms' });
      if (send.statusCode === 202) sent++;
      else refused = send;
    }
    assert.ok(refused, 'the account cap refused a send');
    assertError(refused, 429, 'rate_limited');
    assert.ok(sent <= 10, `${sent} codes in well under an hour`);
    assert.equal(smsCount(t), before + sent);
  });

  it('SECURITY.md item 19: an unverified number gets no codes, and TOTP is offered', async () => {
    const t = await makeApp();
    const secret = await accountWithPhone(t, false);
    const verificationOnly = smsCount(t);
    assert.equal(verificationOnly, 1, 'only the verification code went to the number');
    const c = client(t.app, '192.0.2.32');
    const started = c.json<{ status: string; methods: string[] }>(await c.request('POST', '/api/login', { username: 'ivy', password: PASSWORD }));
    assert.equal(started.status, 'otp_required');
    assert.ok(started.methods.includes('totp'), 'TOTP is offered');
    assert.ok(!started.methods.includes('sms'), 'SMS is not offered for an unverified number');
    assertError(await c.request('POST', '/api/login/send', { method: 'sms' }), 400, 'method_unavailable');
    assert.equal(smsCount(t), verificationOnly, 'and no login code went to it');
    assert.equal((await c.request('POST', '/api/login/verify', { method: 'totp', code: generateTOTP(secret, t.now()) })).statusCode, 200);
  });
});
