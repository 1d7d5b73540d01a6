import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openSQLiteStore } from '../../src/store/sqlite.ts';
import { SCHEMA_VERSION } from '../../src/store/schema.ts';

const user = (id: string) => ({ id, username: id, email: null, phone: null, passwordHash: '$argon2id$x', createdAt: 1 });

describe('Store: groups per user (migration 7)', () => {
  it('adds once, lists in order, removes once, and forgets them with the user', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-groups-'));
    const path = join(dir, 'db.sqlite');
    const store = await openSQLiteStore(path);
    try {
      await store.createUser(user('u1'));
      await store.createUser(user('u2'));
      assert.deepEqual(await store.listUserGroups('u1'), []);
      assert.equal(await store.addUserGroup('u1', 'staff'), true);
      assert.equal(await store.addUserGroup('u1', 'admins'), true);
      assert.equal(await store.addUserGroup('u1', 'admins'), false, 'already a member');
      assert.equal(await store.addUserGroup('u2', 'staff'), true);
      assert.deepEqual(await store.listUserGroups('u1'), ['admins', 'staff']);
      assert.equal(await store.removeUserGroup('u1', 'staff'), true);
      assert.equal(await store.removeUserGroup('u1', 'staff'), false);
      assert.deepEqual(await store.listUserGroups('u1'), ['admins']);
      assert.deepEqual(await store.listUserGroups('u2'), ['staff']);
      assert.ok(SCHEMA_VERSION >= 7);
    } finally {
      await store.close();
    }
    // The rows cascade with their user (foreign key).
    const db = new DatabaseSync(path);
    try {
      db.exec('PRAGMA foreign_keys = ON');
      db.prepare('DELETE FROM users WHERE id = ?').run('u1');
      assert.deepEqual(db.prepare('SELECT user_id, name FROM user_groups ORDER BY user_id').all().map((r) => `${String(r.user_id)}:${String(r.name)}`), ['u2:staff']);
    } finally {
      db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
