/**
 * Finding 20 (part): wrong codes given for re-authentication counted on the account's
 * sign-in failure counter, so a stolen older session could lock the owner's
 * authenticators. Re-authentication now counts on a counter of its own session.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, makeEngine } from '../support/engine.ts';
import { signIn, totpAccount } from '../support/totp-account.ts';
import { generateTOTP } from '../../src/otp/index.ts';

const PASSWORD = 'quartz-lagoon-64';

describe('finding 20: re-authentication failures', () => {
  it('finding 20: wrong re-authentication codes from a stolen session never count on the sign-in counter', async () => {
    const e = await makeEngine();
    const { user, secret } = await totpAccount(e, 'tom', PASSWORD);
    const stolen = await signIn(e, 'tom', PASSWORD, secret);
    e.advance(20 * 60_000); // stale: every change needs fresh proof
    const wrong = generateTOTP(secret, e.now()) === '000000' ? '111111' : '000000';
    for (let i = 0; i < 12; i++) {
      e.advance(16 * 60_000); // past any delay
      await e.auth.revokeSession(stolen.session.session, 'someone', client, { code: wrong });
    }
    assert.equal(await e.store.getAttemptCount(`otp:${user.id}`, e.now()), 0, 'the account counter is untouched');
    const owner = await signIn(e, 'tom', PASSWORD, secret);
    assert.equal(owner.status, 'authenticated');
  });

  it('finding 20: wrong re-authentication passwords from one session do not delay another session', async () => {
    const e = await makeEngine();
    const { secret } = await totpAccount(e, 'tom', PASSWORD);
    const stolen = await signIn(e, 'tom', PASSWORD, secret);
    const owner = await signIn(e, 'tom', PASSWORD, secret);
    e.advance(20 * 60_000);
    for (let i = 0; i < 8; i++) await e.auth.revokeSession(stolen.session.session, 'someone', client, { password: `wrong-${i}-password` });
    const again = await e.auth.revokeSession(owner.session.session, stolen.session.session.id, client, { password: PASSWORD });
    assert.equal(again.status, 'ok');
  });
});
