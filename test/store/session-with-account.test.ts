import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openSQLiteStore } from '../../src/store/sqlite.ts';
import type { Session } from '../../src/auth/ports.ts';

const user = (id: string, email: string | null = null) => ({ id, username: `name-${id}`, email, phone: null, passwordHash: '$argon2id$x', createdAt: 1 });
const session = (tokenHash: string, userId: string, level: 1 | 2 = 2): Session => ({
  tokenHash, id: `id-${tokenHash}`, userId, level, ip: '192.0.2.1', userAgent: 'agent', createdAt: 10, lastSeenAt: 20, expiresAt: 30,
});

describe('Store: getSessionWithAccount (the gate reads session, account and groups at once)', () => {
  it('answers the session as getSession does, the account facts and the groups in name order; null for an unknown hash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-session-account-'));
    const store = await openSQLiteStore(join(dir, 'db.sqlite'));
    try {
      await store.createUser(user('u1', 'ann@example.com'));
      await store.createUser(user('u2'));
      await store.createSession(session('h1', 'u1'));
      await store.createSession(session('h2', 'u2', 1));
      await store.addUserGroup('u1', 'staff');
      await store.addUserGroup('u1', 'admins');
      // Stored as given: the answer must carry any name exactly, commas and quotes included.
      await store.addUserGroup('u1', 'a,"b"');
      await store.addUserGroup('u2', 'other');

      assert.equal(await store.getSessionWithAccount('nope'), null);
      const one = await store.getSessionWithAccount('h1');
      assert.deepEqual(one, {
        session: await store.getSession('h1'),
        user: { username: 'name-u1', email: 'ann@example.com', emailVerifiedAt: null, disabled: false },
        groups: ['a,"b"', 'admins', 'staff'],
      });
      assert.deepEqual(one?.session, session('h1', 'u1'));

      await store.updateUser('u1', { emailVerifiedAt: 5, disabled: true });
      await store.removeUserGroup('u1', 'a,"b"');
      assert.deepEqual(await store.getSessionWithAccount('h1'), {
        session: session('h1', 'u1'),
        user: { username: 'name-u1', email: 'ann@example.com', emailVerifiedAt: 5, disabled: true },
        groups: ['admins', 'staff'],
      });

      const two = await store.getSessionWithAccount('h2');
      assert.deepEqual(two?.session, session('h2', 'u2', 1));
      assert.deepEqual(two?.user, { username: 'name-u2', email: null, emailVerifiedAt: null, disabled: false });
      assert.deepEqual(two?.groups, ['other']);

      await store.removeUserGroup('u2', 'other');
      assert.deepEqual((await store.getSessionWithAccount('h2'))?.groups, [], 'no groups: an empty list');
      // It only reads: last_seen_at is the touch's to write.
      assert.equal((await store.getSession('h2'))?.lastSeenAt, 20);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers user null when the account row is gone but the session row is not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-session-account-'));
    const path = join(dir, 'db.sqlite');
    let store = await openSQLiteStore(path);
    try {
      await store.createUser(user('u1'));
      await store.createSession(session('h1', 'u1'));
      await store.close();
      // Only possible with foreign keys off (they cascade otherwise): the Store must not invent an account.
      const db = new DatabaseSync(path);
      try {
        db.exec('PRAGMA foreign_keys = OFF');
        db.prepare('DELETE FROM users WHERE id = ?').run('u1');
      } finally {
        db.close();
      }
      store = await openSQLiteStore(path);
      const found = await store.getSessionWithAccount('h1');
      assert.deepEqual(found, { session: session('h1', 'u1'), user: null, groups: [] });
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
