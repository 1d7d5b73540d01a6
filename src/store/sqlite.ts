/**
 * The SQLite Store (node:sqlite, the embedded default): one file, WAL journal, every
 * commit synced (synchronous=FULL), foreign keys on, and a 5 s wait for another
 * connection's write lock. Several processes may share the file; every check-and-set
 * is one statement or a `BEGIN IMMEDIATE` transaction, so they stay atomic across them.
 */
import { DatabaseSync } from 'node:sqlite';
import type { SQLInputValue, StatementSync } from 'node:sqlite';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { PendingCodeResult, Store } from '../auth/ports.ts';
import { SQL, SWEEP_SQL, updateUserStatement } from './queries.ts';
import { decideAttempt, decideTake } from './rules.ts';
import { num, numOrNull, toAttemptRow, toBucketRow, toPendingLogin, toPhoneVerification, toSession, toStoredAuditEvent, toTOTPFactor, toUser } from './rows.ts';
import { SCHEMA_VERSION_SQL, SQLITE_DIALECT, pendingMigrations } from './schema.ts';

export interface SQLiteStoreOptions {
  /** Rows deleted per statement by `sweep` before it yields (default 500). */
  sweepBatchSize?: number;
}

// SQLITE_CONSTRAINT_UNIQUE (a PRIMARY KEY clash is SQLITE_CONSTRAINT_PRIMARYKEY, 1555).
const SQLITE_CONSTRAINT_UNIQUE = 2067;

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && 'errcode' in error && error.errcode === SQLITE_CONSTRAINT_UNIQUE;
}

/** Runs `fn` now and reports its result or exception as a promise. */
function run<T>(fn: () => T): Promise<T> {
  return new Promise((resolve) => {
    resolve(fn());
  });
}

/** Opens (creating and migrating if needed) the SQLite database at `path`. */
export function openSQLiteStore(path: string, options: SQLiteStoreOptions = {}): Promise<Store> {
  return run(() => createSQLiteStore(path, options));
}

function createSQLiteStore(path: string, options: SQLiteStoreOptions): Store {
  const sweepBatchSize = options.sweepBatchSize ?? 500;
  if (!Number.isInteger(sweepBatchSize) || sweepBatchSize < 1) throw new RangeError('sweepBatchSize must be a positive integer');

  const db = new DatabaseSync(path);
  const statements = new Map<string, StatementSync>();
  const stmt = (sql: string): StatementSync => {
    let s = statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };
  const changes = (sql: string, ...params: SQLInputValue[]): number => Number(stmt(sql).run(...params).changes);

  // BEGIN IMMEDIATE takes the write lock up front, so a read inside sees what the write replaces.
  const immediate = <T>(fn: () => T): T => {
    db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      db.exec('COMMIT');
      return result;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  };

  try {
    db.exec('PRAGMA busy_timeout = 5000'); // first: the others may need to wait for a lock
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = FULL');
    db.exec('PRAGMA foreign_keys = ON');
    immediate(() => {
      db.exec(SCHEMA_VERSION_SQL.create);
      const row = db.prepare(SCHEMA_VERSION_SQL.select).get();
      const current = row === undefined ? 0 : (numOrNull(row, 'version') ?? 0);
      const migrations = pendingMigrations(current);
      for (const migration of migrations) {
        for (const statement of migration.statements(SQLITE_DIALECT)) db.exec(statement);
      }
      if (migrations.length > 0) {
        db.exec('DELETE FROM schema_version');
        db.prepare(SCHEMA_VERSION_SQL.insert).run(migrations.at(-1)?.version ?? current);
      }
    });
  } catch (error) {
    db.close();
    throw error;
  }

  return {
    createUser: (user) =>
      run(() => {
        try {
          const row = stmt(SQL.insertUser).get(user.id, user.username, user.email, user.phone, user.passwordHash, user.createdAt);
          return row === undefined ? null : toUser(row);
        } catch (error) {
          if (isUniqueViolation(error)) return null;
          throw error;
        }
      }),
    getUserById: (id) => run(() => { const row = stmt(SQL.selectUserById).get(id); return row === undefined ? null : toUser(row); }),
    getUserByUsername: (username) => run(() => { const row = stmt(SQL.selectUserByUsername).get(username); return row === undefined ? null : toUser(row); }),
    listUsers: () => run(() => stmt(SQL.listUsers).all().map(toUser)),
    updateUser: (id, patch) =>
      run(() => {
        const update = updateUserStatement(id, patch);
        if (update) stmt(update.sql).run(...update.params);
      }),
    resetSecondFactors: (userId) =>
      run(() => {
        immediate(() => {
          changes(SQL.deleteUserTOTPFactors, userId);
          changes(SQL.deleteUserRecoveryCodes, userId);
          changes(SQL.deletePhoneVerification, userId);
          changes(SQL.deleteUserPendingLogins, userId);
          changes(SQL.clearPhoneVerified, userId);
        });
      }),

    insertTOTPFactor: (f) =>
      run(() => {
        stmt(SQL.insertTOTPFactor).run(f.id, f.userId, f.label, f.encryptedSecret, f.keyId, f.confirmedAt, f.lastStep, f.createdAt, f.lastUsedAt);
      }),
    getTOTPFactor: (userId, factorId) => run(() => { const row = stmt(SQL.selectTOTPFactor).get(userId, factorId); return row === undefined ? null : toTOTPFactor(row); }),
    listTOTPFactors: (userId) => run(() => stmt(SQL.listTOTPFactors).all(userId).map(toTOTPFactor)),
    acceptTOTPStep: (factorId, step, now, confirm) =>
      run(() =>
        confirm
          ? changes(SQL.acceptTOTPStepAndConfirm, step, now, now, factorId, step) === 1
          : changes(SQL.acceptTOTPStep, step, now, factorId, step) === 1,
      ),
    deleteTOTPFactor: (userId, factorId) => run(() => changes(SQL.deleteTOTPFactor, userId, factorId) > 0),

    replaceRecoveryCodes: (userId, codeHashes, now) =>
      run(() => {
        immediate(() => {
          changes(SQL.deleteUserRecoveryCodes, userId);
          for (const hash of codeHashes) changes(SQL.insertRecoveryCode, userId, hash, now);
        });
      }),
    useRecoveryCode: (userId, codeHash, now) => run(() => changes(SQL.useRecoveryCode, now, userId, codeHash) === 1),
    countRecoveryCodes: (userId) => run(() => { const row = stmt(SQL.countRecoveryCodes).get(userId); return row === undefined ? 0 : num(row, 'n'); }),

    putPhoneVerification: (v) =>
      run(() => {
        stmt(SQL.upsertPhoneVerification).run(v.userId, v.phone, v.codeHash, v.expiresAt, v.attempts);
      }),
    getPhoneVerification: (userId) => run(() => { const row = stmt(SQL.selectPhoneVerification).get(userId); return row === undefined ? null : toPhoneVerification(row); }),
    recordPhoneVerificationFailure: (userId) =>
      run(() => { const row = stmt(SQL.recordPhoneVerificationFailure).get(userId); return row === undefined ? null : num(row, 'attempts'); }),
    deletePhoneVerification: (userId) =>
      run(() => {
        changes(SQL.deletePhoneVerification, userId);
      }),

    createPendingLogin: (p) =>
      run(() => {
        stmt(SQL.insertPendingLogin).run(
          p.idHash, p.userId, JSON.stringify(p.methods), p.attempts, p.sends, p.lastSentAt, p.codeHash, p.codeChannel, p.codeExpiresAt, p.ip, p.userAgent, p.createdAt, p.expiresAt,
        );
      }),
    getPendingLogin: (idHash, now) => run(() => { const row = stmt(SQL.selectPendingLogin).get(idHash, now); return row === undefined ? null : toPendingLogin(row); }),
    claimPendingAttempt: (idHash, now, maxAttempts) =>
      run(() => { const row = stmt(SQL.claimPendingAttempt).get(idHash, now, maxAttempts); return row === undefined ? null : num(row, 'attempts'); }),
    setPendingCode: (idHash, u) =>
      run(() =>
        immediate((): PendingCodeResult => {
          const row = stmt(SQL.setPendingCode).get(u.codeHash, u.channel, u.codeExpiresAt, u.now, idHash, u.now, u.now - u.cooldownMs, u.maxSends);
          if (row !== undefined) return { ok: true, sends: num(row, 'sends') };
          // Refused: the same transaction tells why.
          const state = stmt(SQL.selectPendingSendState).get(idHash, u.now);
          if (state === undefined) return { ok: false, reason: 'login_expired' };
          const lastSentAt = numOrNull(state, 'last_sent_at');
          if (lastSentAt !== null && u.now - lastSentAt < u.cooldownMs) return { ok: false, reason: 'rate_limited', retryAfterMs: lastSentAt + u.cooldownMs - u.now };
          return { ok: false, reason: 'rate_limited', retryAfterMs: num(state, 'expires_at') - u.now };
        }),
      ),
    consumePendingCode: (idHash, channel, codeHash, now) =>
      run(() => {
        if (changes(SQL.consumePendingCode, idHash, now, codeHash, channel, now) === 1) return 'ok';
        // Only classifies the refusal: nothing is written.
        const row = stmt(SQL.selectPendingCodeExpiry).get(idHash, now, codeHash, channel);
        return row !== undefined && numOrNull(row, 'code_expires_at') !== null ? 'expired' : 'mismatch';
      }),
    consumePendingLogin: (idHash, now) => run(() => { const row = stmt(SQL.consumePendingLogin).get(idHash, now); return row === undefined ? null : toPendingLogin(row); }),
    deletePendingLogin: (idHash) =>
      run(() => {
        changes(SQL.deletePendingLogin, idHash);
      }),

    createSession: (s) =>
      run(() => {
        stmt(SQL.insertSession).run(s.tokenHash, s.id, s.userId, s.level, s.ip, s.userAgent, s.createdAt, s.lastSeenAt, s.expiresAt);
      }),
    getSession: (tokenHash) => run(() => { const row = stmt(SQL.selectSession).get(tokenHash); return row === undefined ? null : toSession(row); }),
    touchSession: (tokenHash, now) =>
      run(() => {
        changes(SQL.touchSession, now, tokenHash);
      }),
    deleteSession: (tokenHash) => run(() => changes(SQL.deleteSession, tokenHash) > 0),
    deleteSessionById: (userId, id) => run(() => changes(SQL.deleteSessionById, userId, id) > 0),
    deleteUserSessions: (userId, exceptTokenHash) =>
      run(() => (exceptTokenHash === undefined ? changes(SQL.deleteUserSessions, userId) : changes(SQL.deleteUserSessionsExcept, userId, exceptTokenHash))),
    listSessions: (userId) => run(() => stmt(SQL.listSessions).all(userId).map(toSession)),

    claimAttempt: (key, now, policy) =>
      run(() =>
        immediate(() => {
          const row = stmt(SQL.selectAttempt).get(key);
          const { claim, write } = decideAttempt(row === undefined ? null : toAttemptRow(row), now, policy);
          if (write) stmt(SQL.upsertAttempt).run(key, write.count, write.nextAt, write.forgetAt);
          return claim;
        }),
      ),
    resetAttempts: (key) =>
      run(() => {
        changes(SQL.deleteAttempt, key);
      }),
    getAttemptCount: (key, now) =>
      run(() => {
        const row = stmt(SQL.selectAttempt).get(key);
        if (row === undefined) return 0;
        const attempt = toAttemptRow(row);
        return now !== undefined && attempt.forgetAt !== null && attempt.forgetAt <= now ? 0 : attempt.count;
      }),
    takeToken: (key, now, capacity, refillMs) =>
      run(() =>
        immediate(() => {
          const row = stmt(SQL.selectBucket).get(key);
          const { take, write } = decideTake(row === undefined ? null : toBucketRow(row), now, capacity, refillMs);
          if (write) stmt(SQL.upsertBucket).run(key, write.tokens, write.refilledAt, write.fullAt);
          return take;
        }),
      ),

    appendAudit: (e) =>
      run(() => {
        stmt(SQL.insertAudit).run(e.at, e.userId, e.type, e.method, e.ip, e.userAgent, e.detail === null ? null : JSON.stringify(e.detail));
      }),
    listAudit: ({ userId, limit }) =>
      run(() => (userId === undefined ? stmt(SQL.listAudit).all(limit) : stmt(SQL.listUserAudit).all(userId, limit)).map(toStoredAuditEvent)),

    sweep: async (now, sessionIdleMs) => {
      const batches: [string, SQLInputValue[]][] = [
        [SWEEP_SQL.pendingLogins, [now]],
        [SWEEP_SQL.phoneVerifications, [now]],
        [SWEEP_SQL.sessions, [now, now - sessionIdleMs]],
        [SWEEP_SQL.attemptCounters, [now]],
        [SWEEP_SQL.tokenBuckets, [now]],
      ];
      let deleted = 0;
      for (const [sql, params] of batches) {
        for (;;) {
          if (!db.isOpen) return deleted; // closed while sweeping: nothing left to do
          const n = changes(sql, ...params, sweepBatchSize);
          deleted += n;
          if (n < sweepBatchSize) break;
          await yieldToEventLoop(); // let requests in between batches
        }
      }
      return deleted;
    },
    close: () =>
      run(() => {
        statements.clear();
        if (db.isOpen) db.close();
      }),
  };
}
