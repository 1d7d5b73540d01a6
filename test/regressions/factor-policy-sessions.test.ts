/**
 * Found by an outside review: after OTPGATE_FACTORS dropped email (the AAL2 setting), a
 * session signed in with an emailed code kept its full level, and passed the gate's
 * two_factor rules. A session now remembers the second factor that made it full, and
 * ends once that factor no longer counts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, makeEngine } from '../support/engine.ts';
import { signIn, totpAccount } from '../support/totp-account.ts';

const PASSWORD = 'harbour-violet-compass-19';

describe('sessions after OTPGATE_FACTORS narrows', () => {
  it('finding (factor policy review): a session signed in by email ends when email no longer counts; one signed in by authenticator stays', async () => {
    const before = await makeEngine();
    const { user, secret } = await totpAccount(before, 'ines', PASSWORD);
    await before.store.updateUser(user.id, { email: 'ines@example.test', emailVerifiedAt: before.now() });
    const started = await before.auth.startLogin('ines', PASSWORD, client);
    if (started.status !== 'otp_required') return assert.fail(JSON.stringify(started));
    await before.auth.sendLoginCode(started.pendingLoginId, 'email', client);
    const byEmail = await before.auth.verifyLogin(started.pendingLoginId, 'email', before.outbox.lastCode('ines@example.test'), client);
    if (byEmail.status !== 'authenticated') return assert.fail(JSON.stringify(byEmail));
    before.advance(30_000);
    const byApp = await signIn(before, 'ines', PASSWORD, secret);

    // Under the old settings, a minute later, both are live: what ends one is the policy, not the clock.
    const same = await makeEngine({ store: before.store, clock: () => before.now() + 60_000 });
    assert.equal((await same.auth.validateSession(byEmail.session.token))?.level, 2);
    assert.equal((await same.auth.validateSession(byApp.session.token))?.level, 2);
    // The same database, restarted with the AAL2 factors.
    const after = await makeEngine({ store: before.store, factors: ['totp', 'recovery'], clock: () => before.now() + 60_000 });
    assert.equal(await after.auth.validateSession(byEmail.session.token), null, 'the email session ended');
    assert.equal(await after.store.getSession(byEmail.session.session.tokenHash), null, 'and is gone from the store');
    assert.equal((await after.auth.validateSession(byApp.session.token))?.level, 2, 'the authenticator session stays');
  });
});
