/**
 * The contract every Store driver must pass (lucia's `testAdapter`): round trips for
 * each entity, the atomic check-and-sets under 50 concurrent callers, the throttles
 * with `now` passed in, the coalesced login writes (each compared with its separate
 * calls on a second Store, all or nothing, and raced), and the sweep. It uses only
 * the Store interface.
 *
 * @example
 * testStore('sqlite', async () => { const store = await openSQLiteStore(file); return { store, cleanup: () => store.close() }; });
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type {
  AttemptPolicy, AuditEvent, CodeAttemptResult, CompletionProof, CompletionResult, NewUser, PasswordAttemptResult, PendingLogin, Session, Store, StoredAuditEvent,
  TOTPFactor, User,
} from '../auth/ports.ts';

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

function auditEvent(userId: string | null, type: string, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return { at: NOW, userId, type, method: null, ip: '192.0.2.1', userAgent: 'test-agent', detail: null, ...overrides };
}

/** A fixed pseudo-random sequence in [0, 1), the same on every run. */
function pseudoRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** A user with fixed fields, for the tests that build the same rows in two Stores. */
const SEED_USER: NewUser = { id: 'u1', username: 'alice', email: 'alice@example.test', phone: '+15550100', passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', createdAt: NOW };

interface LoginRows {
  factors: TOTPFactor[];
  recoveryCodesLeft: number;
  /** Read at time 0: expired rows show too. */
  pending: (PendingLogin | null)[];
  sessions: Session[];
  audit: StoredAuditEvent[];
  counts: number[];
}

/** Every row a login write can touch: to compare two Stores, or one Store before and after. */
async function loginRows(store: Store, userId: string, pendingIds: string[], keys: string[]): Promise<LoginRows> {
  return {
    factors: await store.listTOTPFactors(userId),
    recoveryCodesLeft: await store.countRecoveryCodes(userId),
    pending: await Promise.all(pendingIds.map((id) => store.getPendingLogin(id, 0))),
    sessions: await store.listSessions(userId),
    audit: await store.listAudit({ limit: 1000 }),
    counts: await Promise.all(keys.map((key) => store.getAttemptCount(key))),
  };
}

// What each coalesced write does, as the separate calls that it replaces.

async function passwordAttemptViaCalls(store: Store, input: Parameters<Store['beginPasswordAttempt']>[0]): Promise<PasswordAttemptResult> {
  const take = await store.takeToken(input.ipKey, input.now, input.ipCapacity, input.ipRefillMs);
  if (!take.ok) return { ok: false, rule: 'address', retryAfterMs: take.retryAfterMs };
  const claim = await store.claimAttempt(input.nameKey, input.now, input.policy);
  return claim.ok ? { ok: true, count: claim.count } : { ok: false, rule: 'username', retryAfterMs: claim.retryAfterMs };
}

async function codeAttemptViaCalls(store: Store, input: Parameters<Store['beginCodeAttempt']>[0]): Promise<CodeAttemptResult> {
  const pending = await store.getPendingLogin(input.idHash, input.now);
  if (pending === null || pending.attempts >= input.maxAttempts) return { ok: false, reason: 'login_expired' };
  const claim = await store.claimAttempt(input.accountKey, input.now, input.policy);
  if (!claim.ok) return { ok: false, reason: 'throttled', locked: claim.locked, retryAfterMs: claim.retryAfterMs, accountCount: claim.count };
  const attempts = await store.claimPendingAttempt(input.idHash, input.now, input.maxAttempts);
  assert.ok(attempts !== null);
  return { ok: true, accountCount: claim.count, attempts };
}

async function completeLoginViaCalls(store: Store, input: Parameters<Store['completeLogin']>[0]): Promise<CompletionResult> {
  const { proof, idHash, now } = input;
  let used: 'ok' | 'rejected' | 'expired';
  if (proof.kind === 'totp') used = (await store.acceptTOTPStep(proof.factorId, proof.step, now, false)) ? 'ok' : 'rejected';
  else if (proof.kind === 'recovery') used = (await store.useRecoveryCode(proof.userId, proof.codeHash, now)) ? 'ok' : 'rejected';
  else {
    const result = await store.consumePendingCode(idHash, proof.channel, proof.codeHash, now);
    used = result === 'mismatch' ? 'rejected' : result;
  }
  if (used !== 'ok') return { ok: false, reason: used };
  const pending = await store.consumePendingLogin(idHash, now);
  if (pending === null) return { ok: false, reason: 'login_expired' };
  for (const key of input.resetKeys) await store.resetAttempts(key);
  await store.createSession(input.session);
  for (const event of input.events) await store.appendAudit(event);
  return { ok: true, pending, recoveryCodesLeft: proof.kind === 'recovery' ? await store.countRecoveryCodes(proof.userId) : null };
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
  /** A test on two fresh Stores: one driven by the separate calls, the other by the coalesced one. */
  const testPair = (title: string, fn: (separate: Store, coalesced: Store) => Promise<void>): void => {
    void it(title, async () => {
      const separate = await makeStore();
      try {
        const coalesced = await makeStore();
        try {
          await fn(separate.store, coalesced.store);
        } finally {
          await coalesced.cleanup();
        }
      } finally {
        await separate.cleanup();
      }
    });
  };

  void describe(`Store contract: ${name}`, () => {
    void describe('users', () => {
      test('createUser() returns the stored user and the getters find it', async (store) => {
        const input = newUser();
        const user = await store.createUser(input);
        const expected: User = { ...input, phoneVerifiedAt: null, emailVerifiedAt: null, disabled: false, preferredMethod: null, credentialVersion: 0 };
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

      test('addFirstRecoveryCodes() stores a set only when no unused code is left; one of 20 concurrent callers wins', async (store) => {
        const user = await createUser(store);
        const results = await times(20, (i) => store.addFirstRecoveryCodes(user.id, [`s${i}-1`, `s${i}-2`, `s${i}-3`], NOW));
        assert.equal(count(results, (r) => r), 1);
        const winner = results.indexOf(true);
        assert.equal(await store.countRecoveryCodes(user.id), 3);
        assert.equal(await store.useRecoveryCode(user.id, `s${winner}-1`, NOW), true, 'the winning set is the stored one');
        assert.equal(await store.addFirstRecoveryCodes(user.id, ['late'], NOW), false, 'two codes are still unused');
        assert.equal(await store.useRecoveryCode(user.id, `s${winner}-2`, NOW), true);
        assert.equal(await store.useRecoveryCode(user.id, `s${winner}-3`, NOW), true);
        assert.equal(await store.addFirstRecoveryCodes(user.id, ['n1', 'n2'], NOW + 1), true, 'every code used: a new set may come');
        assert.equal(await store.countRecoveryCodes(user.id), 2);
        assert.equal(await store.useRecoveryCode(user.id, `s${winner}-1`, NOW + 2), false);
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

      test('updateUserAndEndSessions() changes the user and ends their other sessions and pending logins in one step', async (store) => {
        const user = await createUser(store);
        const other = await createUser(store);
        const [a, b, c] = [newSession(user.id), newSession(user.id), newSession(other.id)];
        for (const s of [a, b, c]) await store.createSession(s);
        const [mine, theirs] = [newPending(user.id), newPending(other.id)];
        for (const p of [mine, theirs]) await store.createPendingLogin(p);
        assert.equal(await store.updateUserAndEndSessions(user.id, { passwordHash: 'new-hash' }, b.tokenHash), 1);
        assert.equal((await store.getUserById(user.id))?.passwordHash, 'new-hash');
        assert.deepEqual(await store.listSessions(user.id), [b]);
        assert.equal(await store.getPendingLogin(mine.idHash, NOW), null, 'a login begun with the old password is over');
        assert.deepEqual(await store.getPendingLogin(theirs.idHash, NOW), theirs);
        assert.equal(await store.updateUserAndEndSessions(user.id, { disabled: true }), 1);
        assert.equal((await store.getUserById(user.id))?.disabled, true);
        assert.deepEqual(await store.listSessions(user.id), []);
        assert.deepEqual(await store.listSessions(other.id), [c]);
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
      test('claimAttempt() with no delay due never refuses a claim whose clock read was a moment earlier', async (store) => {
        // Two instances read their clocks before queueing for the write lock: order is not guaranteed.
        const p = policy({ freeAttempts: 3 });
        assert.deepEqual(await store.claimAttempt('k', NOW, p), { ok: true, count: 1 });
        assert.deepEqual(await store.claimAttempt('k', NOW - 1, p), { ok: true, count: 2 });
      });

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

      test('lastAuditAt() finds the newest event of a type and method, however old', async (store) => {
        const user = await createUser(store);
        const signIn = (at: number, method: AuditEvent['method']): AuditEvent => ({ at, userId: user.id, type: 'login_succeeded', method, ip: null, userAgent: null, detail: null });
        await store.appendAudit(signIn(NOW, 'email'));
        await store.appendAudit(signIn(NOW + 1, 'email'));
        for (let i = 0; i < 250; i++) await store.appendAudit(signIn(NOW + 10 + i, 'totp'));
        assert.equal(await store.lastAuditAt(user.id, 'login_succeeded', 'email'), NOW + 1);
        assert.equal(await store.lastAuditAt(user.id, 'login_succeeded', 'totp'), NOW + 259);
        assert.equal(await store.lastAuditAt(user.id, 'login_succeeded', 'sms'), null);
        assert.equal(await store.lastAuditAt(user.id, 'logout', null), null);
        assert.equal(await store.lastAuditAt('nobody', 'login_succeeded', 'email'), null);
      });
    });

    void describe('resetSecondFactors()', () => {
      test('deletes the user\'s factors, codes, phone verification, pending logins and sessions, unverifies the phone and clears the preferred method', async (store) => {
        const user = await createUser(store);
        const other = await createUser(store);
        for (const u of [user, other]) {
          await store.updateUser(u.id, { phoneVerifiedAt: NOW, preferredMethod: 'totp' });
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
        assert.equal(await store.getSession(`session-${user.id}`), null);
        assert.equal((await store.getUserById(user.id))?.preferredMethod, null);
        assert.ok(await store.getSession(`session-${other.id}`));
        assert.equal((await store.getUserById(other.id))?.preferredMethod, 'totp');
        assert.equal((await store.listTOTPFactors(other.id)).length, 1);
        assert.equal(await store.countRecoveryCodes(other.id), 2);
        assert.ok(await store.getPhoneVerification(other.id));
        assert.ok(await store.getPendingLogin(`pending-${other.id}`, NOW));
        assert.equal((await store.getUserById(other.id))?.phoneVerifiedAt, NOW);
      });
    });

    void describe('coalesced login writes', () => {
      testPair('beginPasswordAttempt() answers and writes what takeToken() then claimAttempt() do', async (separate, coalesced) => {
        const p = policy({ freeAttempts: 2, baseDelayMs: 1000, maxDelayMs: 4000, forgetAfterMs: 20_000 });
        const random = pseudoRandom(1);
        const seen = new Set<string>();
        let now = NOW;
        for (let i = 0; i < 200; i++) {
          now += Math.floor(random() * 800);
          const input = { now, ipKey: `ip:${Math.floor(random() * 2)}`, ipCapacity: 4, ipRefillMs: 1500, nameKey: `name:${Math.floor(random() * 3)}`, policy: p };
          const expected = await passwordAttemptViaCalls(separate, input);
          assert.deepEqual(await coalesced.beginPasswordAttempt(input), expected, `step ${i}`);
          seen.add(expected.ok ? 'ok' : expected.rule);
          assert.equal(await coalesced.getAttemptCount(input.nameKey, now), await separate.getAttemptCount(input.nameKey, now), `step ${i}`);
        }
        assert.deepEqual([...seen].sort(), ['address', 'ok', 'username']);
        for (const ipKey of ['ip:0', 'ip:1']) {
          for (let i = 0; i < 5; i++) assert.deepEqual(await coalesced.takeToken(ipKey, now, 4, 1500), await separate.takeToken(ipKey, now, 4, 1500), `${ipKey}: the same tokens left`);
        }
      });

      test('beginPasswordAttempt() refused by the address leaves the name counter alone; refused by the name, the token stays taken', async (store) => {
        const p = policy({ freeAttempts: 1, baseDelayMs: MINUTE, maxDelayMs: MINUTE });
        const attempt = (nameKey: string) => store.beginPasswordAttempt({ now: NOW, ipKey: 'ip', ipCapacity: 2, ipRefillMs: MINUTE, nameKey, policy: p });
        assert.deepEqual(await attempt('alice'), { ok: true, count: 1 });
        assert.deepEqual(await attempt('alice'), { ok: false, rule: 'username', retryAfterMs: MINUTE });
        assert.deepEqual(await attempt('bob'), { ok: false, rule: 'address', retryAfterMs: MINUTE }, 'the refused name claim took the second token');
        assert.equal(await store.getAttemptCount('bob'), 0);
        assert.equal(await store.getAttemptCount('alice'), 1);
      });

      test('beginPasswordAttempt() gives exactly capacity tokens to 50 concurrent callers and counts each', async (store) => {
        const results = await times(50, () => store.beginPasswordAttempt({ now: NOW, ipKey: 'ip', ipCapacity: 10, ipRefillMs: MINUTE, nameKey: 'alice', policy: policy({ freeAttempts: 100 }) }));
        assert.deepEqual(results.flatMap((r) => (r.ok ? [r.count] : [])).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert.equal(count(results, (r) => !r.ok && r.rule === 'address'), 40);
        assert.equal(await store.getAttemptCount('alice'), 10);
      });

      testPair('recordPasswordSuccess() writes what resetAttempts(), createPendingLogin() and appendAudit() do', async (separate, coalesced) => {
        const pending = newPending(SEED_USER.id, { idHash: 'p1' });
        const events = [auditEvent(SEED_USER.id, 'password_accepted', { method: 'password' }), auditEvent(SEED_USER.id, 'other', { at: NOW + 1, detail: { n: 1 } })];
        const keys = ['name:alice', 'name:bob', 'name:carol'];
        for (const store of [separate, coalesced]) {
          await store.createUser(SEED_USER);
          for (const key of keys) await store.claimAttempt(key, NOW, policy());
        }
        await separate.resetAttempts('name:alice');
        await separate.createPendingLogin(pending);
        for (const event of events) await separate.appendAudit(event);
        await separate.resetAttempts('name:bob');
        await coalesced.recordPasswordSuccess({ resetKey: 'name:alice', pending, events });
        await coalesced.recordPasswordSuccess({ resetKey: 'name:bob', pending: null, events: [] });
        const rows = await loginRows(coalesced, SEED_USER.id, ['p1'], keys);
        assert.deepEqual(rows, await loginRows(separate, SEED_USER.id, ['p1'], keys));
        assert.deepEqual([rows.counts, rows.pending, rows.audit.length], [[0, 0, 1], [pending], 2]);
      });

      test('recordPasswordSuccess() that fails writes nothing', async (store) => {
        const user = await createUser(store);
        const pending = newPending(user.id);
        await store.createPendingLogin(pending);
        await store.claimAttempt('name', NOW, policy());
        const rows = () => loginRows(store, user.id, [pending.idHash], ['name']);
        const before = await rows();
        // The id is taken: the insert fails after the reset, which must roll back with it.
        await assert.rejects(store.recordPasswordSuccess({ resetKey: 'name', pending: { ...pending, attempts: 1 }, events: [auditEvent(user.id, 'password_accepted')] }));
        assert.deepEqual(await rows(), before);
        assert.equal(before.counts[0], 1);
      });

      testPair('beginCodeAttempt() answers and writes what the pending check, claimAttempt() and claimPendingAttempt() do', async (separate, coalesced) => {
        const ids = ['p1', 'p2', 'p3', 'p4', 'gone'];
        const p = policy({ freeAttempts: 2, baseDelayMs: 1000, maxDelayMs: 3000, lockAt: 8 });
        for (const store of [separate, coalesced]) {
          await store.createUser(SEED_USER);
          for (const [i, idHash] of ids.slice(0, 4).entries()) await store.createPendingLogin(newPending(SEED_USER.id, { idHash, expiresAt: NOW + (i + 1) * 10_000 }));
        }
        const random = pseudoRandom(2);
        const seen = new Set<string>();
        let now = NOW;
        for (let i = 0; i < 150; i++) {
          now += Math.floor(random() * 600);
          const input = { idHash: ids[Math.floor(random() * ids.length)] ?? 'gone', now, maxAttempts: 3, accountKey: 'otp:u1', policy: p };
          const expected = await codeAttemptViaCalls(separate, input);
          assert.deepEqual(await coalesced.beginCodeAttempt(input), expected, `step ${i}`);
          seen.add(expected.ok ? 'ok' : expected.reason === 'throttled' ? (expected.locked ? 'locked' : 'delayed') : expected.reason);
          assert.deepEqual(await loginRows(coalesced, SEED_USER.id, ids, ['otp:u1']), await loginRows(separate, SEED_USER.id, ids, ['otp:u1']), `step ${i}`);
        }
        assert.deepEqual([...seen].sort(), ['delayed', 'locked', 'login_expired', 'ok']);
      });

      test('beginCodeAttempt() that answers login_expired or throttled moves neither counter', async (store) => {
        const user = await createUser(store);
        const full = newPending(user.id, { attempts: 3 });
        const live = newPending(user.id);
        for (const pending of [full, live]) await store.createPendingLogin(pending);
        const p = policy({ freeAttempts: 1, baseDelayMs: MINUTE, maxDelayMs: MINUTE, lockAt: 2 });
        const attempt = (idHash: string, now = NOW) => store.beginCodeAttempt({ idHash, now, maxAttempts: 3, accountKey: 'otp', policy: p });
        const rows = () => loginRows(store, user.id, [full.idHash, live.idHash], ['otp']);
        assert.deepEqual(await attempt(live.idHash), { ok: true, accountCount: 1, attempts: 1 });
        let before = await rows();
        // The pending login is checked first: at its maximum, expired or missing, the account counter stays.
        assert.deepEqual(await attempt(full.idHash), { ok: false, reason: 'login_expired' });
        assert.deepEqual(await attempt(live.idHash, live.expiresAt), { ok: false, reason: 'login_expired' });
        assert.deepEqual(await attempt('missing'), { ok: false, reason: 'login_expired' });
        assert.deepEqual(await rows(), before);
        // Throttled, delayed or locked: the pending login's attempts stay.
        assert.deepEqual(await attempt(live.idHash, NOW + 1000), { ok: false, reason: 'throttled', locked: false, retryAfterMs: MINUTE - 1000, accountCount: 1 });
        assert.deepEqual(await rows(), before);
        assert.deepEqual(await attempt(live.idHash, NOW + MINUTE), { ok: true, accountCount: 2, attempts: 2 });
        before = await rows();
        assert.deepEqual(await attempt(live.idHash, NOW + 5 * MINUTE), { ok: false, reason: 'throttled', locked: true, retryAfterMs: 0, accountCount: 2 });
        assert.deepEqual(await rows(), before);
        assert.deepEqual([before.counts, before.pending.map((pending) => pending?.attempts)], [[2], [3, 2]]);
      });

      test('beginCodeAttempt() on one pending login grants exactly maxAttempts to 50 concurrent callers', async (store) => {
        const user = await createUser(store);
        const pending = newPending(user.id);
        await store.createPendingLogin(pending);
        const results = await times(50, () => store.beginCodeAttempt({ idHash: pending.idHash, now: NOW, maxAttempts: 5, accountKey: 'otp', policy: policy({ freeAttempts: 100 }) }));
        const granted = results.flatMap((r) => (r.ok ? [r] : []));
        assert.deepEqual(granted.map((r) => r.attempts).sort(), [1, 2, 3, 4, 5]);
        assert.deepEqual(granted.map((r) => r.accountCount).sort(), [1, 2, 3, 4, 5]);
        assert.equal(count(results, (r) => !r.ok && r.reason === 'login_expired'), 45);
        assert.equal(await store.getAttemptCount('otp'), 5);
        assert.equal((await store.getPendingLogin(pending.idHash, NOW))?.attempts, 5);
      });

      testPair('completeLogin() answers and writes what the proof, consumePendingLogin(), resetAttempts(), createSession() and appendAudit() do', async (separate, coalesced) => {
        const userId = SEED_USER.id;
        const ids = ['p1', 'p2', 'p3', 'p4', 'p5'];
        const keys = ['otp:u1', 'recovery:u1', 'other'];
        for (const store of [separate, coalesced]) {
          await store.createUser(SEED_USER);
          await store.insertTOTPFactor(newFactor(userId, { id: 'f1', confirmedAt: NOW, lastStep: 10 }));
          await store.replaceRecoveryCodes(userId, ['r1', 'r2', 'r3'], NOW);
          for (const idHash of ids) {
            const codeExpiresAt = idHash === 'p5' ? NOW : NOW + MINUTE;
            await store.createPendingLogin(newPending(userId, { idHash, sends: 1, lastSentAt: NOW, codeHash: `code-${idHash}`, codeChannel: 'email', codeExpiresAt }));
          }
          await store.claimAttempt('other', NOW, policy());
        }
        const steps: [string, CompletionProof, string][] = [
          ['p1', { kind: 'totp', factorId: 'f1', step: 11 }, 'ok'],
          ['p2', { kind: 'totp', factorId: 'f1', step: 11 }, 'rejected'],
          ['p2', { kind: 'totp', factorId: 'f1', step: 9 }, 'rejected'],
          ['p2', { kind: 'totp', factorId: 'missing', step: 12 }, 'rejected'],
          ['p2', { kind: 'recovery', userId, codeHash: 'r2' }, 'ok'],
          ['p3', { kind: 'recovery', userId, codeHash: 'r2' }, 'rejected'],
          ['p3', { kind: 'recovery', userId, codeHash: 'nope' }, 'rejected'],
          ['p3', { kind: 'code', channel: 'email', codeHash: 'code-p3' }, 'ok'],
          ['p4', { kind: 'code', channel: 'sms', codeHash: 'code-p4' }, 'rejected'],
          ['p4', { kind: 'code', channel: 'email', codeHash: 'code-p5' }, 'rejected'],
          ['p5', { kind: 'code', channel: 'email', codeHash: 'code-p5' }, 'expired'],
          ['p4', { kind: 'totp', factorId: 'f1', step: 12 }, 'ok'],
        ];
        for (const [n, [idHash, proof, outcome]] of steps.entries()) {
          const now = NOW + n + 1;
          for (const store of [separate, coalesced]) for (const key of keys.slice(0, 2)) await store.claimAttempt(key, now, policy({ freeAttempts: 100 }));
          const input = {
            idHash, now, proof,
            resetKeys: keys.slice(0, 2),
            session: newSession(userId, { tokenHash: `t${n}`, id: `s${n}`, createdAt: now, lastSeenAt: now }),
            events: [auditEvent(userId, 'login_succeeded', { at: now, method: proof.kind === 'code' ? proof.channel : proof.kind }), auditEvent(userId, 'recovery_code_used', { at: now })],
          };
          const expected = await completeLoginViaCalls(separate, input);
          const actual = await coalesced.completeLogin(input);
          assert.deepEqual(actual, expected, `step ${n}`);
          assert.equal(actual.ok ? 'ok' : actual.reason, outcome, `step ${n}`);
          assert.deepEqual(await loginRows(coalesced, userId, ids, keys), await loginRows(separate, userId, ids, keys), `step ${n}`);
        }
        const rows = await loginRows(coalesced, userId, ids, keys);
        assert.deepEqual([rows.sessions.length, rows.audit.length, rows.recoveryCodesLeft, rows.factors[0]?.lastStep, rows.pending.filter((p) => p !== null).length], [4, 8, 2, 12, 1]);
      });

      test('completeLogin() returns the consumed pending login, and the recovery codes left for a recovery proof', async (store) => {
        const user = await createUser(store);
        await store.replaceRecoveryCodes(user.id, ['r1', 'r2', 'r3'], NOW);
        const factor = newFactor(user.id, { confirmedAt: NOW });
        await store.insertTOTPFactor(factor);
        const [a, b] = [newPending(user.id), newPending(user.id)];
        for (const pending of [a, b]) await store.createPendingLogin(pending);
        const complete = (pending: PendingLogin, proof: CompletionProof) => store.completeLogin({ idHash: pending.idHash, now: NOW, proof, resetKeys: [], session: newSession(user.id), events: [] });
        assert.deepEqual(await complete(a, { kind: 'recovery', userId: user.id, codeHash: 'r3' }), { ok: true, pending: a, recoveryCodesLeft: 2 });
        assert.deepEqual(await complete(b, { kind: 'totp', factorId: factor.id, step: 5 }), { ok: true, pending: b, recoveryCodesLeft: null });
        assert.equal((await store.getTOTPFactor(user.id, factor.id))?.lastStep, 5);
      });

      test('completeLogin() refused by its proof writes nothing', async (store) => {
        const user = await createUser(store);
        const other = await createUser(store);
        const factor = newFactor(user.id, { confirmedAt: NOW, lastStep: 10 });
        await store.insertTOTPFactor(factor);
        await store.replaceRecoveryCodes(user.id, ['r1', 'r2'], NOW);
        await store.replaceRecoveryCodes(other.id, ['o1'], NOW);
        assert.equal(await store.useRecoveryCode(user.id, 'r1', NOW), true);
        const pending = newPending(user.id, { sends: 1, lastSentAt: NOW, codeHash: 'c1', codeChannel: 'sms', codeExpiresAt: NOW + MINUTE });
        await store.createPendingLogin(pending);
        await store.claimAttempt('otp', NOW, policy());
        const rows = () => loginRows(store, user.id, [pending.idHash], ['otp']);
        const before = await rows();
        const complete = (proof: CompletionProof, now = NOW) =>
          store.completeLogin({ idHash: pending.idHash, now, proof, resetKeys: ['otp'], session: newSession(user.id), events: [auditEvent(user.id, 'login_succeeded')] });
        const refusals: [CompletionProof, number, CompletionResult][] = [
          [{ kind: 'totp', factorId: factor.id, step: 10 }, NOW, { ok: false, reason: 'rejected' }],
          [{ kind: 'totp', factorId: factor.id, step: 9 }, NOW, { ok: false, reason: 'rejected' }],
          [{ kind: 'recovery', userId: user.id, codeHash: 'r1' }, NOW, { ok: false, reason: 'rejected' }],
          [{ kind: 'recovery', userId: user.id, codeHash: 'o1' }, NOW, { ok: false, reason: 'rejected' }],
          [{ kind: 'code', channel: 'sms', codeHash: 'wrong' }, NOW, { ok: false, reason: 'rejected' }],
          [{ kind: 'code', channel: 'email', codeHash: 'c1' }, NOW, { ok: false, reason: 'rejected' }],
          [{ kind: 'code', channel: 'sms', codeHash: 'c1' }, NOW + MINUTE, { ok: false, reason: 'expired' }],
        ];
        for (const [proof, now, expected] of refusals) assert.deepEqual(await complete(proof, now), expected, JSON.stringify(proof));
        assert.deepEqual(await rows(), before);
        assert.equal(await store.countRecoveryCodes(other.id), 1);
      });

      test('completeLogin() for a pending login that is gone uses neither the TOTP step nor the recovery code', async (store) => {
        const user = await createUser(store);
        const factor = newFactor(user.id, { confirmedAt: NOW });
        await store.insertTOTPFactor(factor);
        await store.replaceRecoveryCodes(user.id, ['r1', 'r2'], NOW);
        const consumed = newPending(user.id);
        const expired = newPending(user.id, { expiresAt: NOW + 1 });
        for (const pending of [consumed, expired]) await store.createPendingLogin(pending);
        assert.ok(await store.consumePendingLogin(consumed.idHash, NOW));
        await store.claimAttempt('otp', NOW, policy());
        const rows = () => loginRows(store, user.id, [consumed.idHash, expired.idHash], ['otp']);
        const before = await rows();
        for (const [idHash, now] of [[consumed.idHash, NOW], [expired.idHash, NOW + 1], ['missing', NOW]] as const) {
          for (const proof of [{ kind: 'totp', factorId: factor.id, step: 100 }, { kind: 'recovery', userId: user.id, codeHash: 'r1' }] satisfies CompletionProof[]) {
            const result = await store.completeLogin({ idHash, now, proof, resetKeys: ['otp'], session: newSession(user.id), events: [auditEvent(user.id, 'login_succeeded')] });
            assert.deepEqual(result, { ok: false, reason: 'login_expired' }, `${idHash} ${proof.kind}`);
          }
        }
        assert.deepEqual(await rows(), before, 'no session, no audit row, no reset');
        assert.equal(before.factors[0]?.lastStep, null, 'the TOTP step was not recorded');
        assert.equal(before.recoveryCodesLeft, 2);
        assert.equal(await store.acceptTOTPStep(factor.id, 100, NOW, false), true);
        assert.equal(await store.useRecoveryCode(user.id, 'r1', NOW), true, 'the recovery code is still unused');
      });

      test('completeLogin() that fails writes nothing and leaves the email code live', async (store) => {
        const user = await createUser(store);
        const factor = newFactor(user.id, { confirmedAt: NOW, lastStep: 10 });
        await store.insertTOTPFactor(factor);
        await store.replaceRecoveryCodes(user.id, ['r1'], NOW);
        const pending = newPending(user.id, { sends: 1, lastSentAt: NOW, codeHash: 'c1', codeChannel: 'email', codeExpiresAt: NOW + MINUTE });
        await store.createPendingLogin(pending);
        const taken = newSession(user.id);
        await store.createSession(taken);
        await store.claimAttempt('otp', NOW, policy());
        const rows = () => loginRows(store, user.id, [pending.idHash], ['otp']);
        const before = await rows();
        const complete = (proof: CompletionProof, session: Session) =>
          store.completeLogin({ idHash: pending.idHash, now: NOW, proof, resetKeys: ['otp'], session, events: [auditEvent(user.id, 'login_succeeded')] });
        // The session's token hash is taken: its insert fails after the proof, the pending login and the reset.
        const clash = newSession(user.id, { tokenHash: taken.tokenHash });
        await assert.rejects(complete({ kind: 'code', channel: 'email', codeHash: 'c1' }, clash));
        await assert.rejects(complete({ kind: 'totp', factorId: factor.id, step: 11 }, clash));
        await assert.rejects(complete({ kind: 'recovery', userId: user.id, codeHash: 'r1' }, clash));
        assert.deepEqual(await rows(), before);
        const session = newSession(user.id);
        const done = await complete({ kind: 'code', channel: 'email', codeHash: 'c1' }, session);
        assert.deepEqual(done, { ok: true, pending: { ...pending, codeHash: null, codeChannel: null, codeExpiresAt: null }, recoveryCodesLeft: null });
        assert.deepEqual(await store.getSession(session.tokenHash), session);
      });

      test('completeLogin() with one TOTP step over 50 pending logins is ok for exactly one of 50 concurrent callers', async (store) => {
        const user = await createUser(store);
        const factor = newFactor(user.id, { confirmedAt: NOW, lastStep: 10 });
        await store.insertTOTPFactor(factor);
        const pendings = Array.from({ length: 50 }, () => newPending(user.id));
        for (const pending of pendings) await store.createPendingLogin(pending);
        const results = await times(50, (i) =>
          store.completeLogin({
            idHash: pendings[i]?.idHash ?? 'missing', now: NOW, proof: { kind: 'totp', factorId: factor.id, step: 11 },
            resetKeys: [], session: newSession(user.id), events: [auditEvent(user.id, 'login_succeeded')],
          }),
        );
        assert.equal(count(results, (r) => r.ok), 1);
        assert.equal(count(results, (r) => !r.ok && r.reason === 'rejected'), 49);
        const rows = await loginRows(store, user.id, pendings.map((p) => p.idHash), []);
        assert.deepEqual([rows.sessions.length, rows.audit.length, rows.pending.filter((p) => p !== null).length, rows.factors[0]?.lastStep], [1, 1, 49, 11]);
      });

      test('completeLogin() on one pending login with 50 valid recovery codes is ok for exactly one of 50 concurrent callers', async (store) => {
        const user = await createUser(store);
        const codes = Array.from({ length: 50 }, (_, i) => `r${i}`);
        await store.replaceRecoveryCodes(user.id, codes, NOW);
        const pending = newPending(user.id);
        await store.createPendingLogin(pending);
        const results = await times(50, (i) =>
          store.completeLogin({
            idHash: pending.idHash, now: NOW, proof: { kind: 'recovery', userId: user.id, codeHash: codes[i] ?? 'missing' },
            resetKeys: [], session: newSession(user.id), events: [auditEvent(user.id, 'login_succeeded')],
          }),
        );
        const winners = results.flatMap((r) => (r.ok ? [r] : []));
        assert.deepEqual(winners, [{ ok: true, pending, recoveryCodesLeft: 49 }]);
        assert.equal(count(results, (r) => !r.ok && r.reason === 'login_expired'), 49);
        assert.equal(await store.countRecoveryCodes(user.id), 49, '49 codes still unused');
        assert.equal((await store.listSessions(user.id)).length, 1);
        assert.equal((await store.listAudit({ limit: 100 })).length, 1);
      });

      testPair('recordCodeFailure() writes what appendAudit() and deletePendingLogin() do', async (separate, coalesced) => {
        const ids = ['p1', 'p2'];
        for (const store of [separate, coalesced]) {
          await store.createUser(SEED_USER);
          for (const idHash of ids) await store.createPendingLogin(newPending(SEED_USER.id, { idHash }));
        }
        const calls: Parameters<Store['recordCodeFailure']>[0][] = [
          { events: [auditEvent(SEED_USER.id, 'code_refused', { detail: { reason: 'invalid_code', failures: 1 } }), auditEvent(SEED_USER.id, 'locked', { at: NOW + 1 })], closePending: null },
          { events: [auditEvent(SEED_USER.id, 'code_refused', { at: NOW + 2 })], closePending: 'p1' },
          { events: [], closePending: 'missing' },
        ];
        for (const call of calls) {
          for (const event of call.events) await separate.appendAudit(event);
          if (call.closePending !== null) await separate.deletePendingLogin(call.closePending);
          await coalesced.recordCodeFailure(call);
        }
        const rows = await loginRows(coalesced, SEED_USER.id, ids, []);
        assert.deepEqual(rows, await loginRows(separate, SEED_USER.id, ids, []));
        assert.deepEqual([rows.audit.length, rows.pending.map((p) => p?.idHash ?? null)], [3, [null, 'p2']]);
      });

      test('recordCodeFailure() that fails writes nothing', async (store) => {
        const user = await createUser(store);
        const pending = newPending(user.id);
        await store.createPendingLogin(pending);
        const rows = () => loginRows(store, user.id, [pending.idHash], []);
        const before = await rows();
        // An event without a type breaks the schema: the first event must go with it.
        const broken = { ...auditEvent(user.id, 'locked'), type: null } as unknown as AuditEvent;
        await assert.rejects(store.recordCodeFailure({ events: [auditEvent(user.id, 'code_refused'), broken], closePending: pending.idHash }));
        assert.deepEqual(await rows(), before);
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
