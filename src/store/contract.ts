/**
 * The contract every Store driver must pass (lucia's `testAdapter`): round trips for
 * each entity, the atomic check-and-sets under 50 concurrent callers, the throttles
 * with `now` passed in, and the sweep. It uses only the Store interface.
 *
 * @example
 * testStore('sqlite', async () => { const store = await openSQLiteStore(file); return { store, cleanup: () => store.close() }; });
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { AttemptPolicy, AuditEvent, NewUser, PendingLogin, Session, Store, TOTPFactor, User } from '../auth/ports.ts';

export interface StoreFixture {
  store: Store;
  cleanup(): Promise<void>;
}

const NOW = 1_700_000_000_000;
const MINUTE = 60_000;

function newUser(overrides: Partial<NewUser> = {}): NewUser {
  const id = randomUUID();
  return { id, username: `user-${id}`, email: `${id}@example.test`, phone: '+15550100', passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', createdAt: NOW, ...overrides };
}

function newFactor(userId: string, overrides: Partial<TOTPFactor> = {}): TOTPFactor {
  return { id: randomUUID(), userId, label: 'phone', encryptedSecret: 'v1.sealed', keyId: 'k1', confirmedAt: null, lastStep: null, createdAt: NOW, lastUsedAt: null, ...overrides };
}

function newPending(userId: string, overrides: Partial<PendingLogin> = {}): PendingLogin {
  return {
    idHash: `pending-${randomUUID()}`,
    userId,
    methods: ['totp', 'email', 'recovery'],
    attempts: 0,
    sends: 0,
    lastSentAt: null,
    codeHash: null,
    codeChannel: null,
    codeExpiresAt: null,
    ip: '192.0.2.1',
    userAgent: 'test-agent',
    createdAt: NOW,
    expiresAt: NOW + 10 * MINUTE,
    ...overrides,
  };
}

function newSession(userId: string, overrides: Partial<Session> = {}): Session {
  return { tokenHash: `token-${randomUUID()}`, id: randomUUID(), userId, level: 2, ip: '192.0.2.1', userAgent: 'test-agent', createdAt: NOW, lastSeenAt: NOW, expiresAt: NOW + 24 * 60 * MINUTE, ...overrides };
}

function policy(overrides: Partial<AttemptPolicy> = {}): AttemptPolicy {
  return { freeAttempts: 3, baseDelayMs: 1000, maxDelayMs: 10_000, lockAt: null, forgetAfterMs: null, ...overrides };
}

function times<T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => fn(i)));
}

function count<T>(values: T[], predicate: (value: T) => boolean): number {
  return values.filter(predicate).length;
}

async function createUser(store: Store, overrides: Partial<NewUser> = {}): Promise<User> {
  const user = await store.createUser(newUser(overrides));
  assert.ok(user);
  return user;
}

/** Registers the Store contract suite under `name`; `makeStore` gives a fresh, empty Store for each test. */
export function testStore(name: string, makeStore: () => Promise<StoreFixture>): void {
  const test = (title: string, fn: (store: Store) => Promise<void>): void => {
    void it(title, async () => {
      const fixture = await makeStore();
      try {
        await fn(fixture.store);
      } finally {
        await fixture.cleanup();
      }
    });
  };

  void describe(`Store contract: ${name}`, () => {
    void describe('users', () => {
      test('createUser() returns the stored user and the getters find it', async (store) => {
        const input = newUser();
        const user = await store.createUser(input);
        const expected: User = { ...input, phoneVerifiedAt: null, disabled: false, preferredMethod: null };
        assert.deepEqual(user, expected);
        assert.deepEqual(await store.getUserById(input.id), expected);
        assert.deepEqual(await store.getUserByUsername(input.username), expected);
        assert.equal(await store.getUserById('missing'), null);
        assert.equal(await store.getUserByUsername('missing'), null);
      });

      test('createUser() returns null when the username is taken and keeps the first account', async (store) => {
        const first = await createUser(store, { username: 'alice', email: null, phone: null });
        assert.equal(await store.createUser(newUser({ username: 'alice' })), null);
        assert.deepEqual(await store.getUserByUsername('alice'), first);
        assert.equal((await store.listUsers()).length, 1);
      });

      test('listUsers() returns every user ordered by username', async (store) => {
        for (const username of ['carol', 'alice', 'bob']) await createUser(store, { username });
        assert.deepEqual((await store.listUsers()).map((u) => u.username), ['alice', 'bob', 'carol']);
      });

      test('updateUser() changes each patched field and nothing else', async (store) => {
        const user = await createUser(store);
        const other = await createUser(store);
        const patches: Parameters<Store['updateUser']>[1][] = [
          { email: 'new@example.test' },
          { email: null },
          { phone: '+15550199' },
          { phone: null },
          { phoneVerifiedAt: NOW + 5 },
          { phoneVerifiedAt: null },
          { passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3' },
          { disabled: true },
          { disabled: false },
          { preferredMethod: 'sms' },
          { preferredMethod: null },
          { email: 'both@example.test', preferredMethod: 'totp', disabled: true },
          {},
        ];
        let expected = user;
        for (const patch of patches) {
          await store.updateUser(user.id, patch);
          expected = { ...expected, ...patch };
          assert.deepEqual(await store.getUserById(user.id), expected, JSON.stringify(patch));
        }
        assert.deepEqual(await store.getUserById(other.id), other);
      });
    });

    void describe('TOTP factors', () => {
      test('insertTOTPFactor() round trips through getTOTPFactor() and listTOTPFactors()', async (store) => {
        const user = await createUser(store);
        const other = await createUser(store);
        const a = newFactor(user.id, { createdAt: NOW });
        const b = newFactor(user.id, { createdAt: NOW + 1, confirmedAt: NOW + 2, lastStep: 56_666_666, lastUsedAt: NOW + 2, label: 'laptop', keyId: 'k2' });
        await store.insertTOTPFactor(a);
        await store.insertTOTPFactor(b);
        assert.deepEqual(await store.getTOTPFactor(user.id, a.id), a);
        assert.deepEqual(await store.getTOTPFactor(user.id, b.id), b);
        assert.equal(await store.getTOTPFactor(other.id, a.id), null);
        assert.deepEqual(await store.listTOTPFactors(user.id), [a, b]);
        assert.deepEqual(await store.listTOTPFactors(other.id), []);
      });

      test('deleteTOTPFactor() deletes only the owner\'s factor', async (store) => {
        const user = await createUser(store);
        const other = await createUser(store);
        const factor = newFactor(user.id);
        await store.insertTOTPFactor(factor);
        assert.equal(await store.deleteTOTPFactor(other.id, factor.id), false);
        assert.equal(await store.deleteTOTPFactor(user.id, factor.id), true);
        assert.equal(await store.deleteTOTPFactor(user.id, factor.id), false);
        assert.equal(await store.getTOTPFactor(user.id, factor.id), null);
      });

      test('acceptTOTPStep() accepts only greater steps and confirms once', async (store) => {
        const user = await createUser(store);
        const factor = newFactor(user.id);
        await store.insertTOTPFactor(factor);
        assert.equal(await store.acceptTOTPStep(factor.id, 100, NOW + 1, false), true);
        assert.deepEqual(await store.getTOTPFactor(user.id, factor.id), { ...factor, lastStep: 100, lastUsedAt: NOW + 1 });
        assert.equal(await store.acceptTOTPStep(factor.id, 100, NOW + 2, true), false);
        assert.equal(await store.acceptTOTPStep(factor.id, 99, NOW + 2, true), false);
        assert.equal(await store.acceptTOTPStep(factor.id, 101, NOW + 3, true), true);
        assert.deepEqual(await store.getTOTPFactor(user.id, factor.id), { ...factor, lastStep: 101, lastUsedAt: NOW + 3, confirmedAt: NOW + 3 });
        assert.equal(await store.acceptTOTPStep(factor.id, 102, NOW + 4, true), true);
        assert.equal((await store.getTOTPFactor(user.id, factor.id))?.confirmedAt, NOW + 3, 'the first confirmation stays');
        assert.equal(await store.acceptTOTPStep('missing', 1, NOW, false), false);
      });

      test('acceptTOTPStep() is true for exactly one of 50 concurrent callers', async (store) => {
        const user = await createUser(store);
        const factor = newFactor(user.id);
        await store.insertTOTPFactor(factor);
        const results = await times(50, () => store.acceptTOTPStep(factor.id, 1000, NOW, true));
        assert.equal(count(results, (r) => r), 1);
        assert.equal(await store.acceptTOTPStep(factor.id, 999, NOW, false), false);
        assert.equal(await store.acceptTOTPStep(factor.id, 1001, NOW, false), true);
        const again = await times(50, (i) => store.acceptTOTPStep(factor.id, 1001 + (i % 2), NOW, false));
        assert.equal(count(again, (r) => r), 1, 'step 1001 is spent; 1002 is accepted once');
      });
    });

    void describe('recovery codes', () => {
      test('replaceRecoveryCodes() stores the codes and voids the previous set', async (store) => {
        const user = await createUser(store);
        await store.replaceRecoveryCodes(user.id, ['a1', 'a2', 'a3'], NOW);
        assert.equal(await store.countRecoveryCodes(user.id), 3);
        await store.replaceRecoveryCodes(user.id, ['b1', 'b2'], NOW + 1);
        assert.equal(await store.countRecoveryCodes(user.id), 2);
        assert.equal(await store.useRecoveryCode(user.id, 'a1', NOW + 2), false);
        assert.equal(await store.useRecoveryCode(user.id, 'b1', NOW + 2), true);
        await store.replaceRecoveryCodes(user.id, [], NOW + 3);
        assert.equal(await store.countRecoveryCodes(user.id), 0);
      });

      test('useRecoveryCode() uses a code once, and only its owner\'s', async (store) => {
        const user = await createUser(store);
        const other = await createUser(store);
        await store.replaceRecoveryCodes(user.id, ['c1', 'c2'], NOW);
        await store.replaceRecoveryCodes(other.id, ['c1'], NOW);
        assert.equal(await store.useRecoveryCode(user.id, 'nope', NOW), false);
        assert.equal(await store.useRecoveryCode(user.id, 'c1', NOW), true);
        assert.equal(await store.useRecoveryCode(user.id, 'c1', NOW), false);
        assert.equal(await store.countRecoveryCodes(user.id), 1);
        assert.equal(await store.countRecoveryCodes(other.id), 1);
        assert.equal(await store.useRecoveryCode(other.id, 'c1', NOW), true);
      });

      test('useRecoveryCode() is true for exactly one of 50 concurrent callers', async (store) => {
        const user = await createUser(store);
        await store.replaceRecoveryCodes(user.id, ['r1', 'r2', 'r3'], NOW);
        const results = await times(50, () => store.useRecoveryCode(user.id, 'r2', NOW));
        assert.equal(count(results, (r) => r), 1);
        assert.equal(await store.countRecoveryCodes(user.id), 2);
      });
    });

    void describe('phone verification', () => {
      test('putPhoneVerification() round trips, replaces, counts failures and deletes', async (store) => {
        const user = await createUser(store);
        assert.equal(await store.getPhoneVerification(user.id), null);
        assert.equal(await store.recordPhoneVerificationFailure(user.id), null);
        const first = { userId: user.id, phone: '+15550101', codeHash: 'h1', expiresAt: NOW + MINUTE, attempts: 0 };
        await store.putPhoneVerification(first);
        assert.deepEqual(await store.getPhoneVerification(user.id), first);
        assert.equal(await store.recordPhoneVerificationFailure(user.id), 1);
        assert.equal(await store.recordPhoneVerificationFailure(user.id), 2);
        const second = { userId: user.id, phone: '+15550102', codeHash: 'h2', expiresAt: NOW + 2 * MINUTE, attempts: 0 };
        await store.putPhoneVerification(second);
        assert.deepEqual(await store.getPhoneVerification(user.id), second);
        await store.deletePhoneVerification(user.id);
        assert.equal(await store.getPhoneVerification(user.id), null);
      });
    });

    void describe('pending logins', () => {
      test('createPendingLogin() round trips until it expires; deletePendingLogin() removes it', async (store) => {
        const user = await createUser(store);
        const pending = newPending(user.id, { methods: ['sms', 'recovery'], sends: 1, lastSentAt: NOW, codeHash: 'ch', codeChannel: 'sms', codeExpiresAt: NOW + MINUTE });
        await store.createPendingLogin(pending);
        assert.deepEqual(await store.getPendingLogin(pending.idHash, NOW), pending);
        assert.deepEqual(await store.getPendingLogin(pending.idHash, pending.expiresAt - 1), pending);
        assert.equal(await store.getPendingLogin(pending.idHash, pending.expiresAt), null);
        assert.equal(await store.getPendingLogin('missing', NOW), null);
        await store.deletePendingLogin(pending.idHash);
        assert.equal(await store.getPendingLogin(pending.idHash, NOW), null);
      });

      test('claimPendingAttempt() counts up to the maximum, then refuses; refuses when expired', async (store) => {
        const user = await createUser(store);
        const pending = newPending(user.id);
        await store.createPendingLogin(pending);
        assert.equal(await store.claimPendingAttempt(pending.idHash, NOW, 3), 1);
        assert.equal(await store.claimPendingAttempt(pending.idHash, NOW, 3), 2);
        assert.equal(await store.claimPendingAttempt(pending.idHash, NOW, 3), 3);
        assert.equal(await store.claimPendingAttempt(pending.idHash, NOW, 3), null);
        assert.equal((await store.getPendingLogin(pending.idHash, NOW))?.attempts, 3);
        const other = newPending(user.id);
        await store.createPendingLogin(other);
        assert.equal(await store.claimPendingAttempt(other.idHash, other.expiresAt, 3), null);
        assert.equal(await store.claimPendingAttempt('missing', NOW, 3), null);
      });

      test('claimPendingAttempt() grants exactly the maximum to 50 concurrent callers', async (store) => {
        const user = await createUser(store);
        const pending = newPending(user.id);
        await store.createPendingLogin(pending);
        const results = await times(50, () => store.claimPendingAttempt(pending.idHash, NOW, 5));
        assert.deepEqual(results.filter((r) => r !== null).sort(), [1, 2, 3, 4, 5]);
      });

      test('consumePendingLogin() returns the login to exactly one of 50 concurrent callers', async (store) => {
        const user = await createUser(store);
        const pending = newPending(user.id);
        await store.createPendingLogin(pending);
        const results = await times(50, () => store.consumePendingLogin(pending.idHash, NOW));
        const winners = results.filter((r) => r !== null);
        assert.equal(winners.length, 1);
        assert.deepEqual(winners[0], pending);
        assert.equal(await store.getPendingLogin(pending.idHash, NOW), null);
      });

      test('consumePendingLogin() refuses an expired login', async (store) => {
        const user = await createUser(store);
        const pending = newPending(user.id);
        await store.createPendingLogin(pending);
        assert.equal(await store.consumePendingLogin(pending.idHash, pending.expiresAt), null);
        assert.equal(await store.consumePendingLogin('missing', NOW), null);
      });

      test('setPendingCode() stores a code within the cooldown and the send limit', async (store) => {
        const user = await createUser(store);
        const pending = newPending(user.id);
        await store.createPendingLogin(pending);
        const update = (now: number, codeHash = `code-${now}`) => ({ codeHash, channel: 'email' as const, codeExpiresAt: now + 5 * MINUTE, now, cooldownMs: 30_000, maxSends: 3 });
        assert.deepEqual(await store.setPendingCode(pending.idHash, update(NOW)), { ok: true, sends: 1 });
        const stored = await store.getPendingLogin(pending.idHash, NOW);
        assert.deepEqual(stored, { ...pending, sends: 1, lastSentAt: NOW, codeHash: `code-${NOW}`, codeChannel: 'email', codeExpiresAt: NOW + 5 * MINUTE });
        assert.deepEqual(await store.setPendingCode(pending.idHash, update(NOW + 10_000)), { ok: false, reason: 'rate_limited', retryAfterMs: 20_000 });
        assert.deepEqual(await store.setPendingCode(pending.idHash, update(NOW + 30_000)), { ok: true, sends: 2 });
        assert.deepEqual(await store.setPendingCode(pending.idHash, update(NOW + 60_000)), { ok: true, sends: 3 });
        assert.deepEqual(await store.setPendingCode(pending.idHash, update(NOW + 90_000)), { ok: false, reason: 'rate_limited', retryAfterMs: pending.expiresAt - (NOW + 90_000) });
        assert.equal((await store.getPendingLogin(pending.idHash, NOW))?.codeHash, `code-${NOW + 60_000}`, 'a refused send keeps the live code');
        assert.deepEqual(await store.setPendingCode(pending.idHash, update(pending.expiresAt)), { ok: false, reason: 'login_expired' });
        assert.deepEqual(await store.setPendingCode('missing', update(NOW)), { ok: false, reason: 'login_expired' });
      });

      test('setPendingCode() lets one of 50 concurrent sends through the cooldown', async (store) => {
        const user = await createUser(store);
        const pending = newPending(user.id);
        await store.createPendingLogin(pending);
        const results = await times(50, (i) => store.setPendingCode(pending.idHash, { codeHash: `c${i}`, channel: 'sms', codeExpiresAt: NOW + MINUTE, now: NOW, cooldownMs: 30_000, maxSends: 5 }));
        assert.equal(count(results, (r) => r.ok), 1);
        assert.equal((await store.getPendingLogin(pending.idHash, NOW))?.sends, 1);
      });

      test('consumePendingCode() accepts the live code once and tells expired from wrong', async (store) => {
        const user = await createUser(store);
        const pending = newPending(user.id);
        await store.createPendingLogin(pending);
        const send = (codeHash: string, channel: 'email' | 'sms', now: number) =>
          store.setPendingCode(pending.idHash, { codeHash, channel, codeExpiresAt: now + MINUTE, now, cooldownMs: 0, maxSends: 10 });
        assert.equal(await store.consumePendingCode(pending.idHash, 'email', 'none', NOW), 'mismatch');
        assert.deepEqual(await send('c1', 'email', NOW), { ok: true, sends: 1 });
        assert.equal(await store.consumePendingCode(pending.idHash, 'email', 'wrong', NOW), 'mismatch');
        assert.equal(await store.consumePendingCode(pending.idHash, 'sms', 'c1', NOW), 'mismatch');
        assert.equal(await store.consumePendingCode(pending.idHash, 'email', 'c1', NOW + 1), 'ok');
        assert.equal(await store.consumePendingCode(pending.idHash, 'email', 'c1', NOW + 2), 'mismatch', 'single use');
        const cleared = await store.getPendingLogin(pending.idHash, NOW);
        assert.deepEqual([cleared?.codeHash, cleared?.codeChannel, cleared?.codeExpiresAt], [null, null, null]);

        assert.deepEqual(await send('c2', 'sms', NOW + 3), { ok: true, sends: 2 });
        assert.deepEqual(await send('c3', 'sms', NOW + 4), { ok: true, sends: 3 });
        assert.equal(await store.consumePendingCode(pending.idHash, 'sms', 'c2', NOW + 5), 'mismatch', 'a new code voids the previous one');
        assert.equal(await store.consumePendingCode(pending.idHash, 'sms', 'c3', NOW + 4 + MINUTE), 'expired');
        assert.equal(await store.consumePendingCode('missing', 'sms', 'c3', NOW), 'mismatch');
      });

      test('consumePendingCode() is ok for exactly one of 50 concurrent callers', async (store) => {
        const user = await createUser(store);
        const pending = newPending(user.id, { sends: 1, lastSentAt: NOW, codeHash: 'live', codeChannel: 'sms', codeExpiresAt: NOW + MINUTE });
        await store.createPendingLogin(pending);
        const results = await times(50, () => store.consumePendingCode(pending.idHash, 'sms', 'live', NOW));
        assert.equal(count(results, (r) => r === 'ok'), 1);
        assert.equal(count(results, (r) => r === 'mismatch'), 49);
      });
    });

    void describe('sessions', () => {
      test('createSession() round trips; touchSession() moves lastSeenAt; listSessions() orders by it', async (store) => {
        const user = await createUser(store);
        const other = await createUser(store);
        const a = newSession(user.id, { level: 1 });
        const b = newSession(user.id, { lastSeenAt: NOW + 10 });
        const c = newSession(other.id);
        for (const s of [a, b, c]) await store.createSession(s);
        assert.deepEqual(await store.getSession(a.tokenHash), a);
        assert.equal(await store.getSession('missing'), null);
        assert.deepEqual(await store.listSessions(user.id), [b, a]);
        await store.touchSession(a.tokenHash, NOW + 20);
        assert.deepEqual(await store.getSession(a.tokenHash), { ...a, lastSeenAt: NOW + 20 });
        assert.deepEqual((await store.listSessions(user.id)).map((s) => s.id), [a.id, b.id]);
      });

      test('deleteSession() and deleteSessionById() revoke one session, only the owner\'s', async (store) => {
        const user = await createUser(store);
        const other = await createUser(store);
        const a = newSession(user.id);
        const b = newSession(user.id);
        for (const s of [a, b]) await store.createSession(s);
        assert.equal(await store.deleteSession(a.tokenHash), true);
        assert.equal(await store.deleteSession(a.tokenHash), false);
        assert.equal(await store.deleteSessionById(other.id, b.id), false);
        assert.equal(await store.deleteSessionById(user.id, b.id), true);
        assert.deepEqual(await store.listSessions(user.id), []);
      });

      test('deleteUserSessions() revokes all the user\'s sessions but the one kept', async (store) => {
        const user = await createUser(store);
        const other = await createUser(store);
        const [a, b, c] = [newSession(user.id), newSession(user.id), newSession(user.id)];
        const d = newSession(other.id);
        for (const s of [a, b, c, d]) await store.createSession(s);
        assert.equal(await store.deleteUserSessions(user.id, b.tokenHash), 2);
        assert.deepEqual(await store.listSessions(user.id), [b]);
        assert.equal(await store.deleteUserSessions(user.id), 1);
        assert.deepEqual(await store.listSessions(other.id), [d]);
      });
    });

    void describe('throttling', () => {
      test('claimAttempt() is free, then doubles the delay up to the cap', async (store) => {
        const p = policy({ freeAttempts: 3, baseDelayMs: 1000, maxDelayMs: 5000 });
        let now = NOW;
        assert.deepEqual(await store.claimAttempt('k', now, p), { ok: true, count: 1 });
        assert.deepEqual(await store.claimAttempt('k', now, p), { ok: true, count: 2 });
        assert.deepEqual(await store.claimAttempt('k', now, p), { ok: true, count: 3 });
        // The 3rd claim reached freeAttempts: 1 s, then 2 s, 4 s, 5 s (capped), 5 s.
        for (const [n, delay] of [[4, 1000], [5, 2000], [6, 4000], [7, 5000], [8, 5000]] as const) {
          assert.deepEqual(await store.claimAttempt('k', now + 1, p), { ok: false, locked: false, retryAfterMs: delay - 1, count: n - 1 });
          now += delay;
          assert.deepEqual(await store.claimAttempt('k', now, p), { ok: true, count: n });
        }
        assert.equal(await store.getAttemptCount('k'), 8);
      });

      test('claimAttempt() locks at lockAt until resetAttempts()', async (store) => {
        const p = policy({ freeAttempts: 100, lockAt: 3 });
        for (let n = 1; n <= 3; n++) assert.deepEqual(await store.claimAttempt('k', NOW, p), { ok: true, count: n });
        assert.deepEqual(await store.claimAttempt('k', NOW + 365 * 24 * 60 * MINUTE, p), { ok: false, locked: true, retryAfterMs: 0, count: 3 });
        await store.resetAttempts('k');
        assert.equal(await store.getAttemptCount('k'), 0);
        assert.deepEqual(await store.claimAttempt('k', NOW, p), { ok: true, count: 1 });
      });

      test('claimAttempt() forgets the count forgetAfterMs after the last claim', async (store) => {
        const p = policy({ freeAttempts: 100, forgetAfterMs: MINUTE });
        await store.claimAttempt('k', NOW, p);
        await store.claimAttempt('k', NOW + 30_000, p);
        assert.equal(await store.getAttemptCount('k', NOW + 30_000 + MINUTE - 1), 2);
        assert.equal(await store.getAttemptCount('k', NOW + 30_000 + MINUTE), 0);
        assert.deepEqual(await store.claimAttempt('k', NOW + 30_000 + MINUTE - 1, p), { ok: true, count: 3 });
        assert.deepEqual(await store.claimAttempt('k', NOW + 30_000 + 3 * MINUTE, p), { ok: true, count: 1 });
      });

      test('claimAttempt() keys are independent; getAttemptCount() is 0 for an unknown key', async (store) => {
        const p = policy({ freeAttempts: 100 });
        await store.claimAttempt('a', NOW, p);
        await store.claimAttempt('a', NOW, p);
        await store.claimAttempt('b', NOW, p);
        assert.equal(await store.getAttemptCount('a'), 2);
        assert.equal(await store.getAttemptCount('b'), 1);
        assert.equal(await store.getAttemptCount('c'), 0);
        await store.resetAttempts('a');
        assert.equal(await store.getAttemptCount('b'), 1);
      });

      test('claimAttempt() counts each of 50 concurrent callers exactly once, and stops exactly at the lock', async (store) => {
        const free = policy({ freeAttempts: 1000 });
        await store.claimAttempt('free', NOW, free);
        const results = await times(50, () => store.claimAttempt('free', NOW, free));
        assert.equal(count(results, (r) => r.ok), 50);
        assert.equal(await store.getAttemptCount('free'), 51);

        const locking = policy({ freeAttempts: 1000, lockAt: 30 });
        const locked = await times(50, () => store.claimAttempt('lock', NOW, locking));
        assert.equal(count(locked, (r) => r.ok), 30);
        assert.equal(count(locked, (r) => !r.ok && r.locked), 20);
        assert.equal(await store.getAttemptCount('lock'), 30);
      });

      test('takeToken() starts full, refills one token per interval up to capacity', async (store) => {
        for (let i = 0; i < 3; i++) assert.deepEqual(await store.takeToken('b', NOW, 3, 1000), { ok: true });
        assert.deepEqual(await store.takeToken('b', NOW + 250, 3, 1000), { ok: false, retryAfterMs: 750 });
        assert.deepEqual(await store.takeToken('b', NOW + 1000, 3, 1000), { ok: true });
        assert.deepEqual(await store.takeToken('b', NOW + 1500, 3, 1000), { ok: false, retryAfterMs: 500 });
        // 2.5 intervals later: two tokens back, the half interval still counts toward the third.
        assert.deepEqual(await store.takeToken('b', NOW + 3500, 3, 1000), { ok: true });
        assert.deepEqual(await store.takeToken('b', NOW + 3500, 3, 1000), { ok: true });
        assert.deepEqual(await store.takeToken('b', NOW + 3500, 3, 1000), { ok: false, retryAfterMs: 500 });
        // Long idle: back to capacity, never more.
        for (let i = 0; i < 3; i++) assert.deepEqual(await store.takeToken('b', NOW + 100_000, 3, 1000), { ok: true });
        assert.equal((await store.takeToken('b', NOW + 100_000, 3, 1000)).ok, false);
        assert.deepEqual(await store.takeToken('other', NOW, 3, 1000), { ok: true });
      });

      test('takeToken() gives exactly capacity tokens to 50 concurrent callers', async (store) => {
        const results = await times(50, () => store.takeToken('b', NOW, 10, 60_000));
        assert.equal(count(results, (r) => r.ok), 10);
      });
    });

    void describe('audit', () => {
      test('appendAudit() round trips; listAudit() is newest first, filtered and limited', async (store) => {
        const user = await createUser(store);
        const events: AuditEvent[] = [
          { at: NOW, userId: user.id, type: 'login_succeeded', method: 'totp', ip: '192.0.2.1', userAgent: 'ua', detail: null },
          { at: NOW + 1, userId: null, type: 'throttled', method: 'password', ip: '192.0.2.2', userAgent: null, detail: { rule: 'address', n: 3, flag: true, none: null } },
          { at: NOW + 2, userId: user.id, type: 'code_refused', method: null, ip: null, userAgent: null, detail: { reason: 'invalid_code' } },
        ];
        for (const e of events) await store.appendAudit(e);
        const all = await store.listAudit({ limit: 10 });
        assert.deepEqual(all.map(({ id: _id, ...rest }) => rest), [...events].reverse());
        assert.ok(all[0] && all[1] && all[2] && all[0].id > all[1].id && all[1].id > all[2].id);
        assert.deepEqual((await store.listAudit({ userId: user.id, limit: 10 })).map((e) => e.type), ['code_refused', 'login_succeeded']);
        assert.deepEqual((await store.listAudit({ limit: 1 })).map((e) => e.type), ['code_refused']);
        assert.deepEqual(await store.listAudit({ userId: 'nobody', limit: 10 }), []);
      });
    });

    void describe('resetSecondFactors()', () => {
      test('deletes the user\'s factors, codes, phone verification and pending logins, and unverifies the phone', async (store) => {
        const user = await createUser(store);
        const other = await createUser(store);
        for (const u of [user, other]) {
          await store.updateUser(u.id, { phoneVerifiedAt: NOW });
          await store.insertTOTPFactor(newFactor(u.id));
          await store.replaceRecoveryCodes(u.id, ['x1', 'x2'], NOW);
          await store.putPhoneVerification({ userId: u.id, phone: '+15550101', codeHash: 'h', expiresAt: NOW + MINUTE, attempts: 0 });
          await store.createPendingLogin(newPending(u.id, { idHash: `pending-${u.id}` }));
          await store.createSession(newSession(u.id, { tokenHash: `session-${u.id}` }));
        }
        await store.resetSecondFactors(user.id);
        assert.deepEqual(await store.listTOTPFactors(user.id), []);
        assert.equal(await store.countRecoveryCodes(user.id), 0);
        assert.equal(await store.getPhoneVerification(user.id), null);
        assert.equal(await store.getPendingLogin(`pending-${user.id}`, NOW), null);
        assert.equal((await store.getUserById(user.id))?.phoneVerifiedAt, null);
        assert.ok(await store.getSession(`session-${user.id}`), 'sessions are the engine\'s to revoke');
        assert.equal((await store.listTOTPFactors(other.id)).length, 1);
        assert.equal(await store.countRecoveryCodes(other.id), 2);
        assert.ok(await store.getPhoneVerification(other.id));
        assert.ok(await store.getPendingLogin(`pending-${other.id}`, NOW));
        assert.equal((await store.getUserById(other.id))?.phoneVerifiedAt, NOW);
      });
    });

    void describe('sweep()', () => {
      test('deletes what has expired and keeps what has not', async (store) => {
        const user = await createUser(store);
        const idleMs = 30 * MINUTE;
        const live = {
          pending: newPending(user.id, { expiresAt: NOW + 1 }),
          session: newSession(user.id, { lastSeenAt: NOW - idleMs + 1, expiresAt: NOW + 1 }),
          phoneUser: await createUser(store),
        };
        const dead = {
          pending: newPending(user.id, { expiresAt: NOW }),
          sessionExpired: newSession(user.id, { expiresAt: NOW }),
          sessionIdle: newSession(user.id, { lastSeenAt: NOW - idleMs }),
        };
        for (const p of [live.pending, dead.pending]) await store.createPendingLogin(p);
        for (const s of [live.session, dead.sessionExpired, dead.sessionIdle]) await store.createSession(s);
        await store.putPhoneVerification({ userId: live.phoneUser.id, phone: '+1', codeHash: 'h', expiresAt: NOW + 1, attempts: 0 });
        await store.putPhoneVerification({ userId: user.id, phone: '+1', codeHash: 'h', expiresAt: NOW, attempts: 0 });
        // Throttles: one forgotten, one remembered, one never forgotten.
        await store.claimAttempt('forgotten', NOW - MINUTE, policy({ forgetAfterMs: MINUTE }));
        await store.claimAttempt('remembered', NOW - MINUTE, policy({ forgetAfterMs: MINUTE + 1 }));
        await store.claimAttempt('kept', NOW - 1000 * MINUTE, policy());
        // Buckets: one full again, one still refilling.
        await store.takeToken('full', NOW - 1000, 2, 1000);
        await store.takeToken('refilling', NOW - 999, 2, 1000);

        assert.equal(await store.sweep(NOW, idleMs), 6);
        assert.deepEqual(await store.getPendingLogin(live.pending.idHash, NOW), live.pending);
        assert.equal(await store.consumePendingLogin(dead.pending.idHash, 0), null);
        assert.deepEqual(await store.listSessions(user.id), [live.session]);
        assert.ok(await store.getPhoneVerification(live.phoneUser.id));
        assert.equal(await store.getPhoneVerification(user.id), null);
        assert.equal(await store.getAttemptCount('forgotten'), 0);
        assert.equal(await store.getAttemptCount('remembered'), 1);
        assert.equal(await store.getAttemptCount('kept'), 1);
        // A kept bucket still lacks its token; a deleted one would start full.
        assert.deepEqual(await store.takeToken('refilling', NOW, 2, 1000), { ok: true });
        assert.equal((await store.takeToken('refilling', NOW, 2, 1000)).ok, false);
        assert.equal(await store.sweep(NOW, idleMs), 0);
      });
    });
  });
}
