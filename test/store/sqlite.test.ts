import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { setTimeout } from 'node:timers/promises';
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

  void it('leaves a small store without a checkpointer thread', async () => {
    const store = await openSQLiteStore(freshPath(), { checkpoint: { intervalMs: 5 } });
    for (let i = 0; i < 40; i++) assert.ok(await store.createUser({ id: `u${i}`, username: `user${i}`, email: null, phone: null, passwordHash: 'h', createdAt: 1 }));
    await setTimeout(50);
    assert.equal(store.walCheckpoints(), 0);
    await store.close();
  });

  void it('checkpoints the WAL on its own thread once it grows, and nothing is lost', async () => {
    const path = freshPath();
    const store = await openSQLiteStore(path, { checkpoint: { startAfterBytes: 64 * 1024, nudgeEvery: 50, intervalMs: 10_000 } });
    assert.ok(await store.createUser({ id: 'u1', username: 'alice', email: null, phone: null, passwordHash: 'h', createdAt: 1 }));
    const sessions = 3000;
    for (let i = 0; i < sessions; i++) {
      await store.createSession({ tokenHash: `t${i}`.padEnd(43, 'x'), id: `s${i}`, userId: 'u1', level: 2, ip: '127.0.0.1', userAgent: 'y'.repeat(600), createdAt: 1, lastSeenAt: 1, expiresAt: 2 ** 40 });
      if (i % 100 === 99) await setTimeout(15); // a moment for the checkpointer
    }
    assert.equal((await store.listSessions('u1')).length, sessions);
    // Nudged every 50 commits: about 60 checkpoints for 3000 (the interval, 10 s, never fires).
    assert.ok(store.walCheckpoints() >= 20, `the thread made ${store.walCheckpoints()} checkpoints`);
    await store.close();
    const reopened = await openSQLiteStore(path);
    assert.equal((await reopened.listSessions('u1')).length, sessions, 'every session is in the database after close');
    await reopened.close();
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
    const workers = 4;
    const rounds = 50;
    // completeLogin: a pending login and a recovery code of its own for each worker and round.
    const perRound = (prefix: string): string[][] => Array.from({ length: workers }, (_, w) => Array.from({ length: rounds }, (_, i) => `${prefix}-${w}-${i}`));
    const totpPendingIds = perRound('t');
    const recoveryCodes = perRound('rc');
    for (const id of ['f1', 'f2']) {
      await store.insertTOTPFactor({ id, userId: user.id, label: 'x', encryptedSecret: 's', keyId: 'k', confirmedAt: null, lastStep: 10, createdAt: 0, lastUsedAt: null });
    }
    await store.replaceRecoveryCodes(user.id, ['r1', 'r2', ...recoveryCodes.flat()], 0);
    const pendingIds = ['p1', 'p2', 'p3', ...totpPendingIds.flat()];
    for (const idHash of pendingIds) {
      await store.createPendingLogin({
        idHash, userId: user.id, methods: ['totp'], attempts: 0, sends: 0, lastSentAt: null, codeHash: null, codeChannel: null, codeExpiresAt: null,
        ip: 'ip', userAgent: 'ua', createdAt: 0, expiresAt: 2_000_000_000_000,
      });
    }
    await store.claimAttempt('race-reset', 0, { freeAttempts: 10, baseDelayMs: 0, maxDelayMs: 0, lockAt: null, forgetAfterMs: null });

    const barrier = new SharedArrayBuffer(8);
    const input: Omit<RaceInput, 'worker' | 'totpPendingIdHashes' | 'recoveryCodeHashes'> = {
      path, barrier, rounds, userId: user.id, factorId: 'f1', step: 11, codeHash: 'r1', pendingIdHash: 'p1',
      completionFactorId: 'f2', completionStep: 11, recoveryPendingIdHash: 'p2', codePendingIdHash: 'p3',
    };
    const outputs = await Promise.all(
      Array.from({ length: workers }, (_, w) => {
        const worker = new Worker(new URL('./race-worker.ts', import.meta.url), {
          workerData: { ...input, worker: `w${w}`, totpPendingIdHashes: totpPendingIds[w] ?? [], recoveryCodeHashes: recoveryCodes[w] ?? [] } satisfies RaceInput,
        });
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
    assert.equal(total('codeAttempts'), 5, 'beginCodeAttempt: exactly maxAttempts');
    assert.equal((await store.getPendingLogin('p3', 0))?.attempts, 5);
    assert.equal(await store.getAttemptCount('race-code'), 5);
    assert.equal(total('totpLogins'), 1, 'completeLogin: one TOTP step over 200 pending logins');
    assert.equal(total('recoveryLogins'), 1, 'completeLogin: one of 200 recovery codes on one pending login');
    const pendingLeft = await Promise.all(pendingIds.map((id) => store.getPendingLogin(id, 0)));
    assert.equal(pendingLeft.filter((p) => p !== null).length, workers * rounds - 1 + 1, 'the unused TOTP pending logins, and p3');
    assert.equal(await store.countRecoveryCodes(user.id), 1 + workers * rounds - 1, 'r2, and every recovery code but the winner');
    assert.equal((await store.getTOTPFactor(user.id, 'f1'))?.lastStep, 11);
    assert.equal((await store.getTOTPFactor(user.id, 'f2'))?.lastStep, 11);
    assert.equal((await store.listSessions(user.id)).length, 2, 'a session per completed login');
    assert.equal((await store.listAudit({ limit: 1000 })).length, 2, 'an audit row per completed login');
    assert.equal(await store.getAttemptCount('race-reset'), 0);
    await store.close();
  });
});
