/**
 * Issue 12, finding 10: one burst of 8 right-password logins with wrong codes sent a
 * "failed sign-in" email for each. Now: one per kind per account per 10 minutes, counted
 * in the Store (every instance shares the window), and the next one says how many were
 * held back.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createAuth } from '../../src/auth/index.ts';
import { FAST_ARGON2, client, createOutbox, makeEngine } from '../support/engine.ts';
import type { Outbox } from '../support/engine.ts';

const PASSWORD = 'notify-flood-Pw-77a1';
const EMAIL = 'owner@example.test';
const MINUTE = 60_000;

type Auth = ReturnType<typeof createAuth>;

/** A right password, then a wrong emailed code. */
async function failedSignIn(auth: Auth, outbox: Outbox): Promise<void> {
  const start = await auth.startLogin('owner', PASSWORD, client);
  if (start.status !== 'otp_required') throw new Error(start.status);
  const sent = outbox.lastCode(EMAIL);
  const wrong = sent === '000000' ? '111111' : '000000';
  const result = await auth.verifyLogin(start.pendingLoginId, 'email', wrong, client);
  assert.equal(result.status, 'invalid_code');
  await auth.flushNotifications();
}

const failedMails = (outbox: Outbox) => outbox.messages.filter((m) => m.kind === 'notification' && /^Failed sign-in/.test(m.subject));

describe('issue 12 finding 10: notification floods', () => {
  it('finding 10: a burst of 8 right-password logins with wrong codes sends 1 failed sign-in email; the next one after 10 minutes says how many were held back', async () => {
    const engine = await makeEngine();
    try {
      await engine.auth.createAccount({ username: 'owner', password: PASSWORD, email: EMAIL, phone: null });
      const firstAt = engine.now();
      for (let i = 0; i < 8; i++) {
        await failedSignIn(engine.auth, engine.outbox);
        engine.advance(30_000); // past the resend cooldown, all inside 10 minutes
      }
      assert.equal(failedMails(engine.outbox).length, 1, 'one mail for the burst');

      engine.advance(10 * MINUTE);
      await failedSignIn(engine.auth, engine.outbox);
      const mails = failedMails(engine.outbox);
      assert.equal(mails.length, 2);
      const since = new Date(firstAt).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
      assert.match(mails[1]?.text ?? '', new RegExp(`^7 more failed sign-ins \\(right password, wrong code\\) since ${since}`));
      assert.doesNotMatch(mails[0]?.text ?? '', /more failed sign-ins/, 'the first mail held nothing back');
    } finally {
      await engine.close();
    }
  });

  it('finding 10: the window is kept in the Store, so two server instances together send one mail', async () => {
    const secretKey = randomBytes(32);
    const engine = await makeEngine({ secretKey });
    try {
      await engine.auth.createAccount({ username: 'owner', password: PASSWORD, email: EMAIL, phone: null });
      const otherOutbox = createOutbox();
      const other = createAuth({ store: engine.store, sender: otherOutbox, secretKey, argon2: FAST_ARGON2, clock: engine.now });
      for (let i = 0; i < 4; i++) {
        await failedSignIn(engine.auth, engine.outbox);
        engine.advance(30_000);
        await failedSignIn(other, otherOutbox);
        engine.advance(30_000);
      }
      assert.equal(failedMails(engine.outbox).length + failedMails(otherOutbox).length, 1);
    } finally {
      await engine.close();
    }
  });
});
