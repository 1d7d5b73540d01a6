/**
 * Issue 12, finding 5: a changed or lost secret key broke every account with a 500 that
 * still spent an attempt, and recovery codes answered invalid_code after a rotation.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createAuth } from '../../src/auth/index.ts';
import type { Store } from '../../src/auth/index.ts';
import { createKeyring } from '../../src/auth/keyring.ts';
import { hashToken } from '../../src/auth/tokens.ts';
import { loadConfig } from '../../src/config.ts';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';
import { FAST_ARGON2, client, createOutbox, makeEngine } from '../support/engine.ts';

const PASSWORD = 'rotation-Pw-8c1d';

/** An account with a confirmed authenticator and recovery codes, made under `key`. */
async function enrolledUnder(key: Buffer) {
  const engine = await makeEngine({ secretKey: key });
  const created = await engine.auth.createAccount({ username: 'rota', password: PASSWORD, email: null, phone: null });
  if (created.status !== 'ok') throw new Error(created.status);
  const start = await engine.auth.startLogin('rota', PASSWORD, client);
  if (start.status !== 'enrollment_required') throw new Error(start.status);
  const begun = await engine.auth.beginTOTPEnrollment(start.session.session);
  if (begun.status !== 'ok') throw new Error(begun.status);
  const seed = decodeBase32(begun.enrollment.secret);
  // The step before now: later sign-ins use now and now + 30 s, always a newer step.
  const confirmed = await engine.auth.confirmTOTPEnrollment(start.session.session, begun.enrollment.factorId, generateTOTP(seed, engine.now() - 30_000), client);
  if (confirmed.status !== 'ok' || !confirmed.recoveryCodes || !confirmed.session) throw new Error(confirmed.status);
  return { engine, userId: created.user.id, seed, recoveryCodes: confirmed.recoveryCodes, session: confirmed.session.session, factorId: begun.enrollment.factorId };
}

/** A second server on the same store (a restart with other keys), with the same clock. */
function restartedWith(store: Store, now: () => number, secretKey: Buffer, previousSecretKeys: Buffer[] = []) {
  return createAuth({ store, sender: createOutbox(), secretKey, previousSecretKeys, argon2: FAST_ARGON2, clock: now });
}

async function pendingLogin(auth: ReturnType<typeof createAuth>): Promise<string> {
  const start = await auth.startLogin('rota', PASSWORD, client);
  if (start.status !== 'otp_required') throw new Error(start.status);
  return start.pendingLoginId;
}

describe('issue 12 finding 5: secret-key rotation', () => {
  it('finding 5: a TOTP secret sealed under a previous key signs in and is re-sealed under the current key', async () => {
    const keyA = randomBytes(32);
    const keyB = randomBytes(32);
    const { engine, userId, seed } = await enrolledUnder(keyA);
    try {
      const auth = restartedWith(engine.store, engine.now, keyB, [keyA]);
      const verified = await auth.verifyLogin(await pendingLogin(auth), 'totp', generateTOTP(seed, engine.now()), client);
      assert.equal(verified.status, 'authenticated');
      const [factor] = await engine.store.listTOTPFactors(userId);
      assert.equal(factor?.keyId, createKeyring(keyB).current.id, 'the secret is sealed under the current key now');
      // Re-sealed, it opens without the previous key.
      const bOnly = restartedWith(engine.store, engine.now, keyB);
      const again = await bOnly.verifyLogin(await pendingLogin(bOnly), 'totp', generateTOTP(seed, engine.now() + 30_000), client);
      assert.equal(again.status, 'authenticated');
    } finally {
      await engine.close();
    }
  });

  it('finding 5: recovery codes keep their key id, so a rotation does not void them', async () => {
    const keyA = randomBytes(32);
    const keyB = randomBytes(32);
    const { engine, recoveryCodes } = await enrolledUnder(keyA);
    try {
      const rotated = restartedWith(engine.store, engine.now, keyB, [keyA]);
      const first = await rotated.verifyLogin(await pendingLogin(rotated), 'recovery', recoveryCodes[0] ?? '', client);
      assert.equal(first.status, 'authenticated', 'a code hashed under the previous key still works');
      assert.equal(first.status === 'authenticated' ? first.recoveryCodesLeft : null, recoveryCodes.length - 1);
    } finally {
      await engine.close();
    }
  });

  it('finding 5: an emailed code sent just before a rotation is still accepted after it', async () => {
    const keyA = randomBytes(32);
    const keyB = randomBytes(32);
    const engine = await makeEngine({ secretKey: keyA });
    try {
      await engine.auth.createAccount({ username: 'mailer', password: PASSWORD, email: 'mailer@example.test', phone: null });
      const start = await engine.auth.startLogin('mailer', PASSWORD, client);
      if (start.status !== 'otp_required') throw new Error(start.status);
      const code = engine.outbox.lastCode('mailer@example.test');
      const rotated = restartedWith(engine.store, engine.now, keyB, [keyA]);
      const wrong = code === '000000' ? '111111' : '000000';
      assert.equal((await rotated.verifyLogin(start.pendingLoginId, 'email', wrong, client)).status, 'invalid_code');
      assert.equal((await rotated.verifyLogin(start.pendingLoginId, 'email', code, client)).status, 'authenticated');
    } finally {
      await engine.close();
    }
  });

  for (const method of ['totp', 'recovery'] as const) {
    it(`finding 5: a ${method} secret no configured key opens answers key_unavailable and spends no attempt`, async () => {
      const { engine, userId, seed, recoveryCodes } = await enrolledUnder(randomBytes(32));
      try {
        const unrelated = restartedWith(engine.store, engine.now, randomBytes(32));
        const pendingId = await pendingLogin(unrelated);
        const code = method === 'totp' ? generateTOTP(seed, engine.now()) : (recoveryCodes[0] ?? '');
        for (let i = 0; i < 3; i++) {
          await assert.rejects(unrelated.verifyLogin(pendingId, method, code, client), (error: Error & { code?: string; statusCode?: number }) => {
            assert.equal(error.code, 'key_unavailable');
            assert.equal(error.statusCode, 503);
            assert.match(error.message, /No configured secret key has id [0-9a-f]{12}.*OTPGATE_PREVIOUS_SECRET_KEYS/);
            return true;
          });
        }
        const counter = method === 'totp' ? `otp:${userId}` : `recovery:${userId}`;
        assert.equal(await engine.store.getAttemptCount(counter), 0, 'the account counter was not touched');
        const pending = await engine.store.getPendingLogin(hashToken(pendingId), engine.now());
        assert.equal(pending?.attempts, 0, 'the pending login is open with no attempt spent');
      } finally {
        await engine.close();
      }
    });
  }

  it('finding 5: re-authentication with an authenticator code under a missing key answers key_unavailable and counts nothing', async () => {
    const { engine, userId, seed, session, factorId } = await enrolledUnder(randomBytes(32));
    try {
      engine.advance(20 * 60_000); // past the fresh sign-in: removing a factor needs proof anyway
      const unrelated = restartedWith(engine.store, engine.now, randomBytes(32));
      await assert.rejects(unrelated.removeTOTPFactor(session, factorId, { code: generateTOTP(seed, engine.now()) }, client), { code: 'key_unavailable' });
      assert.equal(await engine.store.getAttemptCount(`otp:${userId}`), 0);
      assert.equal((await engine.store.listTOTPFactors(userId)).length, 1);
    } finally {
      await engine.close();
    }
  });

  it('finding 5: OTPGATE_PREVIOUS_SECRET_KEYS is read, validated like OTPGATE_SECRET_KEY, and never echoed', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    const config = loadConfig({ OTPGATE_DATA_DIR: '/tmp/x', OTPGATE_SECRET_KEY: randomBytes(32).toString('base64'), OTPGATE_PREVIOUS_SECRET_KEYS: `${a.toString('base64')}, ${b.toString('base64')}` });
    assert.deepEqual(config.previousSecretKeys, [a, b]);
    const short = randomBytes(16).toString('base64');
    assert.throws(() => loadConfig({ OTPGATE_DATA_DIR: '/tmp/x', OTPGATE_PREVIOUS_SECRET_KEYS: `${a.toString('base64')},${short}` }), (error: Error) => {
      assert.match(error.message, /^OTPGATE_PREVIOUS_SECRET_KEYS: key 2 must be 32 bytes/);
      assert.ok(!error.message.includes(short) && !error.message.includes(a.toString('base64')), 'no key in the message');
      return true;
    });
    assert.throws(() => loadConfig({ OTPGATE_DATA_DIR: '/tmp/x', OTPGATE_SECRET_KEY: a.toString('base64'), OTPGATE_PREVIOUS_SECRET_KEYS: a.toString('base64') }), /holds the current OTPGATE_SECRET_KEY/);
  });
});
