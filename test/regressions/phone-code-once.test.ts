/**
 * Found in review: a phone verification code was checked, then its row deleted, with
 * nothing making the check and the delete one step, so two requests with the right code
 * at once both verified the number (I4: a code works once).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, makeEngine } from '../support/engine.ts';
import { signIn, totpAccount } from '../support/totp-account.ts';

const PASSWORD = 'lichen-harbour-anvil-63';
const PHONE = '+14155550142';

describe('phone verification codes', () => {
  it('a phone code sent by 10 concurrent requests verifies the number once', async () => {
    const e = await makeEngine();
    const { secret } = await totpAccount(e, 'pia', PASSWORD);
    const full = await signIn(e, 'pia', PASSWORD, secret);
    const sent = await e.auth.startPhoneVerification(full.session.session, PHONE, client);
    assert.equal(sent.status, 'sent', JSON.stringify(sent));
    const session = sent.status === 'sent' && sent.session ? sent.session.session : full.session.session;
    const code = e.outbox.lastCode(PHONE);
    const results = await Promise.all(Array.from({ length: 10 }, () => e.auth.confirmPhoneVerification(session, code, client)));
    assert.equal(results.filter((r) => r.status === 'ok').length, 1, JSON.stringify(results));
    const audit = await e.store.listAudit({ limit: 100 });
    assert.equal(audit.filter((a) => a.type === 'phone_verified').length, 1);
  });
});
