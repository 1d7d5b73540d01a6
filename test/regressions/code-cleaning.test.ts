/** Finding 12: one cleaning rule for every typed code (TOTP, email/SMS, phone verification, recovery). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeCode } from '../../src/otp/index.ts';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';
import { client, makeEngine } from '../support/engine.ts';
import { client as httpClient, makeApp } from '../support/http.ts';

const PASSWORD = 'marigold-teapot-58';
const FULL_WIDTH = (digits: string) => [...digits].map((d) => String.fromCharCode(0xff10 + Number(d))).join('');
/** The ways people paste "123456": every form must give the same code. */
const TYPED = (code: string): string[] => [
  `${code.slice(0, 3)}\u2013${code.slice(3)}`, // en dash, as mail clients render "123-456"
  `${code.slice(0, 3)}\u2212${code.slice(3)}`, // minus sign
  `${code.slice(0, 3)}\ufe63${code.slice(3)}`, // small hyphen-minus
  `${code.slice(0, 3)}\uff0d${code.slice(3)}`, // full-width hyphen-minus
  `${code.slice(0, 3)}\u3000${code.slice(3)}`, // ideographic space
  `${code.slice(0, 3)}\u200b${code.slice(3)}`, // zero-width space
  FULL_WIDTH(code), // an IME's full-width digits
];

async function emailLogin(e: Awaited<ReturnType<typeof makeEngine>>) {
  const started = await e.auth.startLogin('ivy', PASSWORD, client);
  if (started.status !== 'otp_required') return assert.fail(started.status);
  return { id: started.pendingLoginId, code: e.outbox.lastCode('ivy@example.test') };
}

describe('finding 12: typed codes are cleaned one way', () => {
  it('finding 12: normalizeCode() drops every space and dash look-alike and maps full-width digits', () => {
    for (const typed of TYPED('123456')) assert.equal(normalizeCode(typed), '123456', JSON.stringify(typed));
    for (const c of ['\u00a0', '\u2000', '\u2007', '\u200a', '\u2010', '\u2011', '\u2012', '\u2014', '\u2015', '\ufe58', '-', ' ']) {
      assert.equal(normalizeCode(`12${c}34${c}56`), '123456', JSON.stringify(c));
    }
    assert.equal(normalizeCode('abcd\u2013efgh'), 'abcdefgh');
    assert.equal(normalizeCode('12a.456'), '12a.456', 'other characters are left for the verifier to reject');
  });

  it('finding 12: an emailed code pasted as "123–456" (or full-width, or with U+3000) signs in', async () => {
    const e = await makeEngine();
    assert.equal((await e.auth.createAccount({ username: 'ivy', password: PASSWORD, email: 'ivy@example.test' })).status, 'ok');
    for (const form of [0, 1, 2, 3, 4, 5, 6]) {
      const { id, code } = await emailLogin(e);
      const typed = TYPED(code)[form] ?? code;
      const verified = await e.auth.verifyLogin(id, 'email', typed, client);
      assert.equal(verified.status, 'authenticated', `${JSON.stringify(typed)}: ${JSON.stringify(verified)}`);
      e.advance(31_000);
    }
  });

  it('finding 12: a phone verification code typed with an en dash confirms the number', async () => {
    const e = await makeEngine();
    assert.equal((await e.auth.createAccount({ username: 'ivy', password: PASSWORD, email: 'ivy@example.test' })).status, 'ok');
    const { id, code } = await emailLogin(e);
    const verified = await e.auth.verifyLogin(id, 'email', code, client);
    if (verified.status !== 'authenticated') return assert.fail(verified.status);
    const started = await e.auth.startPhoneVerification(verified.session.session, '+14155550123', client);
    assert.equal(started.status, 'sent');
    const sms = e.outbox.lastCode('+14155550123');
    const confirmed = await e.auth.confirmPhoneVerification(verified.session.session, `${sms.slice(0, 3)}\u2013${sms.slice(3)}`, client);
    assert.equal(confirmed.status, 'ok', JSON.stringify(confirmed));
  });

  it('finding 12: recovery codes with dash look-alikes and TOTP codes in full-width digits are accepted', async () => {
    const t = await makeApp();
    const c = httpClient(t.app);
    assert.equal((await c.request('POST', '/api/signup', { username: 'ivy', password: PASSWORD })).statusCode, 201);
    const begun = c.json<{ factor_id: string; secret: string }>(await c.request('POST', '/api/factors/totp', { label: 'Phone' }));
    const secret = decodeBase32(begun.secret);
    const confirmed = await c.request('POST', '/api/factors/totp/verify', { factor_id: begun.factor_id, code: FULL_WIDTH(generateTOTP(secret, t.now())) });
    assert.equal(confirmed.statusCode, 200, confirmed.body);
    const [recovery = ''] = c.json<{ recovery_codes: string[] }>(confirmed).recovery_codes;
    t.advance(30_000);

    const b = httpClient(t.app);
    assert.equal((await b.request('POST', '/api/login', { username: 'ivy', password: PASSWORD })).statusCode, 200);
    const used = await b.request('POST', '/api/login/verify', { method: 'recovery', code: recovery.replace(/-/g, '\u2011') });
    assert.equal(used.statusCode, 200, used.body);
  });
});
