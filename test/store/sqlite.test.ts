import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { testStore } from '../../src/store/contract.ts';
import { openStore } from '../../src/store/index.ts';
import { SCHEMA_VERSION } from '../../src/store/schema.ts';
import { openSQLiteStore } from '../../src/store/sqlite.ts';
import type { RaceInput, RaceOutput } from './race-worker.ts';

let dir = '';
let files = 0;
const freshPath = (): string => join(dir, `store-${++files}.db`);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'otpgate-sqlite-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

testStore('sqlite', async () => {
  const store = await openSQLiteStore(freshPath());
  return { store, cleanup: () => store.close() };
});

void describe('SQLite store', () => {
  void it('openSQLiteStore() uses the WAL journal and enforces foreign keys', async () => {
    const path = freshPath();
    const store = await openSQLiteStore(path);
    await store.close();
    const db = new DatabaseSync(path);
    try {
      assert.equal(db.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
    } finally {
      db.close();
    }
    const again = await openSQLiteStore(path);
    await assert.rejects(
      again.insertTOTPFactor({ id: 'f', userId: 'nobody', label: 'x', encryptedSecret: 's', keyId: 'k', confirmedAt: null, lastStep: null, createdAt: 0, lastUsedAt: null }),
      /FOREIGN KEY constraint failed/,
    );
    await again.close();
  });

  void it('openSQLiteStore() records the schema version and reopens without migrating again', async () => {
    const path = freshPath();
    const store = await openSQLiteStore(path);
    assert.ok(await store.createUser({ id: 'u1', username: 'alice', email: null, phone: null, passwordHash: 'h', createdAt: 1 }));
    await store.close();
    const reopened = await openSQLiteStore(path);
    assert.equal((await reopened.getUserByUsername('alice'))?.id, 'u1');
    await reopened.close();
    const db = new DatabaseSync(path);
    try {
      assert.deepEqual(db.prepare('SELECT version FROM schema_version').all().map((r) => r.version), [SCHEMA_VERSION]);
    } finally {
      db.close();
    }
  });

  void it('openSQLiteStore() refuses a database whose schema is newer than the code', async () => {
    const path = freshPath();
    await (await openSQLiteStore(path)).close();
    const db = new DatabaseSync(path);
    db.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION + 1);
    db.close();
    await assert.rejects(openSQLiteStore(path), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, new RegExp(`version ${SCHEMA_VERSION + 1}, newer than version ${SCHEMA_VERSION}`));
      return true;
    });
  });

  void it('sweep() deletes a backlog larger than one batch', async () => {
    const store = await openSQLiteStore(freshPath(), { sweepBatchSize: 7 });
    const user = await store.createUser({ id: 'u1', username: 'alice', email: null, phone: null, passwordHash: 'h', createdAt: 0 });
    assert.ok(user);
    for (let i = 0; i < 50; i++) {
      await store.createSession({ tokenHash: `t${i}`, id: `s${i}`, userId: user.id, level: 2, ip: 'ip', userAgent: 'ua', createdAt: 0, lastSeenAt: 0, expiresAt: i < 40 ? 10 : 1000 });
    }
    assert.equal(await store.sweep(100, 10_000), 40);
    assert.equal((await store.listSessions(user.id)).length, 10);
    await store.close();
  });

  void it('close() closes the database; a sweep after it does nothing', async () => {
    const store = await openSQLiteStore(freshPath());
    await store.close();
    await store.close();
    assert.equal(await store.sweep(0, 0), 0);
    await assert.rejects(store.listUsers());
  });

  void it('openStore() opens SQLite and refuses PostgreSQL for now', async () => {
    const store = await openStore({ kind: 'sqlite', path: freshPath() });
    assert.deepEqual(await store.listUsers(), []);
    await store.close();
    await assert.rejects(openStore({ kind: 'postgres', url: 'postgres://localhost/otpgate' }), { message: 'PostgreSQL support is not available yet' });
  });
});

void describe('SQLite store across connections', () => {
  void it('4 worker threads, each with its own connection, spend each one-time record exactly once', async () => {
    const path = freshPath();
    const store = await openSQLiteStore(path);
    const user = await store.createUser({ id: 'u1', username: 'alice', email: null, phone: null, passwordHash: 'h', createdAt: 0 });
    assert.ok(user);
    await store.insertTOTPFactor({ id: 'f1', userId: user.id, label: 'x', encryptedSecret: 's', keyId: 'k', confirmedAt: null, lastStep: 10, createdAt: 0, lastUsedAt: null });
    await store.replaceRecoveryCodes(user.id, ['r1', 'r2'], 0);
    await store.createPendingLogin({
      idHash: 'p1', userId: user.id, methods: ['totp'], attempts: 0, sends: 0, lastSentAt: null, codeHash: null, codeChannel: null, codeExpiresAt: null,
      ip: 'ip', userAgent: 'ua', createdAt: 0, expiresAt: 2_000_000_000_000,
    });

    const workers = 4;
    const rounds = 50;
    const barrier = new SharedArrayBuffer(8);
    const input: RaceInput = { path, barrier, rounds, userId: user.id, factorId: 'f1', step: 11, codeHash: 'r1', pendingIdHash: 'p1' };
    const outputs = await Promise.all(
      Array.from({ length: workers }, () => {
        const worker = new Worker(new URL('./race-worker.ts', import.meta.url), { workerData: input });
        return new Promise<RaceOutput>((resolve, reject) => {
          worker.on('message', (message: RaceOutput | 'ready') => {
            if (message === 'ready') {
              if (Atomics.load(new Int32Array(barrier), 1) === workers) {
                Atomics.store(new Int32Array(barrier), 0, 1);
                Atomics.notify(new Int32Array(barrier), 0);
              }
            } else {
              resolve(message);
            }
          });
          worker.on('error', reject);
          worker.on('exit', (code) => {
            if (code !== 0) reject(new Error(`race worker exited with ${code}`));
          });
        });
      }),
    );
    const total = (field: keyof RaceOutput): number => outputs.reduce((sum, o) => sum + o[field], 0);
    assert.equal(total('totp'), 1, 'one TOTP step accepted');
    assert.equal(total('recovery'), 1, 'one recovery code use');
    assert.equal(total('pendingLogin'), 1, 'one pending login consumed');
    assert.ok(total('pendingAttempts') <= 5);
    assert.equal(total('attempts'), workers * rounds, 'every claim counted');
    assert.equal(await store.getAttemptCount('race'), workers * rounds);
    assert.equal(total('tokens'), 20, 'exactly capacity tokens');
    assert.equal(await store.countRecoveryCodes(user.id), 1);
    assert.equal((await store.getTOTPFactor(user.id, 'f1'))?.lastStep, 11);
    await store.close();
  });
});
