/**
 * Found by an outside review: within ten minutes of signing in, a session could move the
 * account's email (a second factor) to another inbox and the old address heard nothing.
 * The old, verified address is told once the new one is verified.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, makeEngine } from '../support/engine.ts';
import { signIn, totpAccount } from '../support/totp-account.ts';

const PASSWORD = 'copper-kettle-orchard-42';

describe('changing the email address', () => {
  it('finding (email review): the old verified address is told when the account\'s email moves to a new one', async () => {
    const e = await makeEngine();
    const { user, secret } = await totpAccount(e, 'olga', PASSWORD);
    await e.store.updateUser(user.id, { email: 'olga@example.test', emailVerifiedAt: e.now() });
    const signedIn = await signIn(e, 'olga', PASSWORD, secret);
    const changed = await e.auth.changeEmail(signedIn.session.session, 'thief@example.test', undefined, client);
    assert.equal(changed.status, 'sent', JSON.stringify(changed));
    const code = e.outbox.lastCode('thief@example.test');
    const verified = await e.auth.verifyEmail(signedIn.session.session, code, client);
    assert.equal(verified.status, 'verified');
    await e.auth.flushNotifications();
    const notices = e.outbox.messages.filter((m) => m.to === 'olga@example.test' && m.kind === 'notification');
    const notice = notices.find((m) => /email address/i.test(m.subject));
    assert.ok(notice, `a notice to the old address; got ${JSON.stringify(notices.map((m) => m.subject))}`);
    assert.match(notice.text, /th\S*@example\.test/, 'it names the new address (masked)');
    assert.doesNotMatch(notice.text, new RegExp(code), 'no code in it');
  });
});
