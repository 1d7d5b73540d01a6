/**
 * The Store's part of issue 12: one pending enrollment per account, factor confirmation
 * that ends level-1 sessions in its own transaction, email verification, and migration 2.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openSQLiteStore } from '../../src/store/sqlite.ts';
import { MIGRATIONS, SCHEMA_VERSION_SQL, SQLITE_DIALECT } from '../../src/store/schema.ts';
import type { Session, Store, TOTPFactor } from '../../src/auth/ports.ts';
import { ENROLLMENT_TTL_MS } from '../../src/auth/ports.ts';

const NOW = Date.UTC(2026, 0, 1, 12);
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA';

function session(id: string, level: 1 | 2, createdAt = NOW): Session {
  return { tokenHash: `hash-${id}`, id, userId: 'u1', level, ip: '192.0.2.1', userAgent: 'ua', createdAt, lastSeenAt: createdAt, expiresAt: createdAt + 86_400_000 };
}

function factor(id: string, createdAt = NOW): TOTPFactor {
  return { id, userId: 'u1', label: 'App', encryptedSecret: 'sealed', keyId: 'k1', confirmedAt: null, lastStep: null, createdAt, lastUsedAt: null };
}

async function storeWithUser(email: string | null = null): Promise<Store> {
  const store = await openSQLiteStore(':memory:');
  await store.createUser({ id: 'u1', username: 'alice', email, phone: null, passwordHash: HASH, createdAt: NOW });
  return store;
}

describe('Store: pending enrollments and factor confirmation', () => {
  it('replacePendingTOTPFactor() keeps one unconfirmed authenticator per account and leaves confirmed ones', async () => {
    const store = await storeWithUser();
    await store.replacePendingTOTPFactor(factor('f1'));
    assert.equal(await store.confirmTOTPFactor({ userId: 'u1', now: NOW, current: { tokenHash: 'none', level: 2 }, endOtherSessions: false, replaceWith: null, factorId: 'f1', step: 5, createdAfter: NOW - 1 }), true);
    for (const id of ['f2', 'f3', 'f4']) await store.replacePendingTOTPFactor(factor(id));
    const factors = await store.listTOTPFactors('u1');
    assert.deepEqual(factors.map((f) => [f.id, f.confirmedAt !== null]), [['f1', true], ['f4', false]]);
  });

  it('confirmTOTPFactor() ends every level-1 session and, when asked, every other session, in its transaction', async () => {
    const store = await storeWithUser();
    for (const s of [session('a', 1), session('b', 1), session('c', 2), session('d', 2)]) await store.createSession(s);
    await store.replacePendingTOTPFactor(factor('f1'));
    const ok = await store.confirmTOTPFactor({
      userId: 'u1', now: NOW, current: { tokenHash: 'hash-a', level: 1 }, endOtherSessions: false, replaceWith: session('e', 2), factorId: 'f1', step: 1, createdAfter: NOW - 1,
    });
    assert.equal(ok, true);
    assert.deepEqual((await store.listSessions('u1')).map((s) => s.id).sort(), ['c', 'd', 'e']);
    await store.replacePendingTOTPFactor(factor('f2'));
    await store.confirmTOTPFactor({ userId: 'u1', now: NOW, current: { tokenHash: 'hash-e', level: 2 }, endOtherSessions: true, replaceWith: null, factorId: 'f2', step: 1, createdAfter: NOW - 1 });
    assert.deepEqual((await store.listSessions('u1')).map((s) => s.id), ['e']);
  });

  it('confirmTOTPFactor() writes nothing when the confirming level-1 session was already ended, or the enrollment is too old', async () => {
    const store = await storeWithUser();
    await store.replacePendingTOTPFactor(factor('f1'));
    const gone = await store.confirmTOTPFactor({ userId: 'u1', now: NOW, current: { tokenHash: 'hash-x', level: 1 }, endOtherSessions: false, replaceWith: session('n', 2), factorId: 'f1', step: 1, createdAfter: NOW - 1 });
    assert.equal(gone, false);
    assert.equal((await store.listSessions('u1')).length, 0);
    assert.equal((await store.getTOTPFactor('u1', 'f1'))?.confirmedAt, null);
    const stale = await store.confirmTOTPFactor({ userId: 'u1', now: NOW, current: { tokenHash: 'hash-c', level: 2 }, endOtherSessions: false, replaceWith: null, factorId: 'f1', step: 1, createdAfter: NOW });
    assert.equal(stale, false);
  });

  it('sweep() deletes pending enrollments older than ENROLLMENT_TTL_MS and expired email verifications', async () => {
    const store = await storeWithUser();
    await store.replacePendingTOTPFactor(factor('old', NOW - ENROLLMENT_TTL_MS - 1));
    await store.putEmailVerification({ userId: 'u1', email: 'a@example.test', codeHash: 'h', expiresAt: NOW - 1, attempts: 0 });
    await store.sweep(NOW, 3_600_000);
    assert.equal((await store.listTOTPFactors('u1')).length, 0);
    assert.equal(await store.getEmailVerification('u1'), null);
  });
});

describe('Store: email verification', () => {
  it('confirmEmail() sets the address as verified, consumes the code once, and ends level-1 sessions when the email counts', async () => {
    const store = await storeWithUser('old@example.test');
    await store.createSession(session('a', 1));
    await store.createSession(session('b', 1));
    await store.putEmailVerification({ userId: 'u1', email: 'new@example.test', codeHash: 'good', expiresAt: NOW + 1000, attempts: 0 });
    const input = { userId: 'u1', now: NOW, current: { tokenHash: 'hash-a', level: 1 as const }, endOtherSessions: false, replaceWith: session('c', 2), email: 'new@example.test', endEnrollment: true };
    assert.equal(await store.confirmEmail({ ...input, codeHash: 'bad' }), false);
    assert.equal((await store.getUserById('u1'))?.emailVerifiedAt, null);
    assert.equal(await store.confirmEmail({ ...input, codeHash: 'good' }), true);
    const user = await store.getUserById('u1');
    assert.equal(user?.email, 'new@example.test');
    assert.equal(user?.emailVerifiedAt, NOW);
    assert.deepEqual((await store.listSessions('u1')).map((s) => s.id), ['c']);
    assert.equal(await store.confirmEmail({ ...input, current: { tokenHash: 'hash-c', level: 2 }, replaceWith: null, codeHash: 'good' }), false, 'a code works once');
  });

  it('createUser() stores emailVerifiedAt when given (the operator vouches)', async () => {
    const store = await openSQLiteStore(':memory:');
    const user = await store.createUser({ id: 'u2', username: 'bob', email: 'bob@example.test', phone: null, passwordHash: HASH, createdAt: NOW, emailVerifiedAt: NOW });
    assert.equal(user?.emailVerifiedAt, NOW);
  });
});

describe('Store: migration 2', () => {
  it('counts as verified an email already used to sign in, or given by the operator; cuts level-1 sessions to 10 minutes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-migration-'));
    const path = join(dir, 'v1.db');
    try {
      const db = new DatabaseSync(path);
      db.exec(SCHEMA_VERSION_SQL.create);
      for (const statement of MIGRATIONS.find((m) => m.version === 1)?.statements(SQLITE_DIALECT) ?? []) db.exec(statement);
      db.prepare(SCHEMA_VERSION_SQL.insert).run(1);
      const addUser = db.prepare('INSERT INTO users (id, username, email, password_hash, created_at) VALUES (?, ?, ?, ?, ?)');
      addUser.run('used', 'used', 'used@example.test', HASH, NOW);
      addUser.run('operator', 'operator', 'op@example.test', HASH, NOW);
      addUser.run('never', 'never', 'never@example.test', HASH, NOW);
      const audit = db.prepare('INSERT INTO audit_events (at, user_id, type, method, detail) VALUES (?, ?, ?, ?, ?)');
      audit.run(NOW + 5, 'used', 'login_succeeded', 'email', null);
      audit.run(NOW + 6, 'operator', 'signup', null, JSON.stringify({ via: 'operator' }));
      audit.run(NOW + 7, 'never', 'signup', null, JSON.stringify({ via: 'signup' }));
      db.prepare('INSERT INTO sessions (token_hash, id, user_id, level, ip, user_agent, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run('t1', 's1', 'never', 1, '192.0.2.1', 'ua', NOW, NOW, NOW + 86_400_000);
      db.close();

      const store = await openSQLiteStore(path);
      try {
        assert.equal((await store.getUserById('used'))?.emailVerifiedAt, NOW + 5);
        assert.equal((await store.getUserById('operator'))?.emailVerifiedAt, NOW + 6);
        assert.equal((await store.getUserById('never'))?.emailVerifiedAt, null);
        assert.equal((await store.getSession('t1'))?.expiresAt, NOW + ENROLLMENT_TTL_MS);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
