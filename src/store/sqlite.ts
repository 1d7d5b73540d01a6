/**
 * The SQLite Store (node:sqlite, the embedded default): one file, WAL journal, foreign keys
 * on, and a 5 s wait for another connection's write lock. Several processes may share the
 * file; every check-and-set is one statement or a `BEGIN IMMEDIATE` transaction, so they
 * stay atomic across them. The coalesced login writes (`beginCodeAttempt`, `completeLogin`,
 * …) run the same steps as the single methods, several in one such transaction.
 *
 * Durability is group commit: no method that wrote resolves before an fdatasync of the WAL
 * that began after its commit has finished (the two claims excepted: ports.ts says why),
 * so an acknowledged write survives a power loss as with synchronous=FULL. The sync runs off the event loop (libuv's pool), and
 * commits made while one is in flight share the next. SQLite itself runs at
 * synchronous=NORMAL: its commit writes the WAL frames (a killed process loses nothing)
 * and it still syncs the WAL before each checkpoint. A database without a WAL file
 * (`:memory:`) keeps synchronous=FULL.
 */
import { chmodSync, closeSync, openSync, statSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import type { SQLInputValue, StatementSync } from 'node:sqlite';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type {
  AttemptClaim, AttemptPolicy, AuditEvent, CodeAttemptResult, CompletionProof, CompletionResult, DeliveryChannel, FactorConfirmation, KeyUsage, NotificationClaim,
  PasswordAttemptResult, PendingCodeResult, PendingLogin, Session, Store, TokenTake,
} from '../auth/ports.ts';
import { ENROLLMENT_TTL_MS } from '../auth/ports.ts';
import { createCheckpointer } from './checkpointer.ts';
import type { CheckpointerOptions } from './checkpointer.ts';
import { groupSync } from './group-sync.ts';
import { SQL, SWEEP_SQL, updateUserStatement } from './queries.ts';
import { decideAttempt, decideTake } from './rules.ts';
import { num, numOrNull, str, strOrNull, toAttemptRow, toBucketRow, toDevice, toEmailVerification, toOneTimeView, toPendingLogin, toPhoneVerification, toSession, toSessionWithAccount, toStoredAuditEvent, toTOTPFactor, toUser } from './rows.ts';
import { SCHEMA_VERSION_SQL, SQLITE_DIALECT, pendingMigrations } from './schema.ts';

export interface SQLiteStoreOptions {
  /** Rows deleted per statement by `sweep` before it yields (default 500). */
  sweepBatchSize?: number;
  /** When and how often the WAL is checkpointed on a thread of its own (checkpointer.ts). */
  checkpoint?: CheckpointerOptions;
}

/** A device unused this long is forgotten (its cookie lasts as long). */
const DEVICE_LIFETIME_MS = 365 * 24 * 3600_000;

// SQLITE_CONSTRAINT_UNIQUE (a PRIMARY KEY clash is SQLITE_CONSTRAINT_PRIMARYKEY, 1555).
const SQLITE_CONSTRAINT_UNIQUE = 2067;

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && 'errcode' in error && error.errcode === SQLITE_CONSTRAINT_UNIQUE;
}

/** A Store, plus what its WAL checkpointer thread has done (for tests and benchmarks). */
export interface SQLiteStore extends Store {
  /** Checkpoints made by the checkpointer thread; 0 while it has not started. */
  walCheckpoints(): number;
}

/** Opens (creating and migrating if needed) the SQLite database at `path`. */
export function openSQLiteStore(path: string, options: SQLiteStoreOptions = {}): Promise<SQLiteStore> {
  return new Promise((resolve) => {
    resolve(createSQLiteStore(path, options));
  });
}


/**
 * Makes the database file owner-only (0600) before SQLite opens it, whatever the umask:
 * SQLite gives the -wal and -shm files the database file's mode. Existing files that
 * group or others could read are tightened.
 */
function restrictDatabaseFiles(path: string): void {
  if (path === '' || path === ':memory:' || path.startsWith('file:')) return;
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

function createSQLiteStore(path: string, options: SQLiteStoreOptions): SQLiteStore {
  const sweepBatchSize = options.sweepBatchSize ?? 500;
  if (!Number.isInteger(sweepBatchSize) || sweepBatchSize < 1) throw new RangeError('sweepBatchSize must be a positive integer');

  restrictDatabaseFiles(path);
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
  // Any error rolls back; so does an answer that `keep` refuses (a refusal leaves no trace).
  const immediate = <T>(fn: () => T, keep: (result: T) => boolean = () => true): T => {
    db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      db.exec(keep(result) ? 'COMMIT' : 'ROLLBACK');
      return result;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  };

  try {
    db.exec('PRAGMA busy_timeout = 5000'); // first: the others may need to wait for a lock
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = FULL'); // until the WAL file is open for group commit, below
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

  // The migration transaction above created the WAL file (none for `:memory:`).
  let walFd: number | null = null;
  try {
    walFd = openSync(`${path}-wal`, 'r+');
    db.exec('PRAGMA synchronous = NORMAL');
  } catch {
    walFd = null;
  }
  const wal = walFd === null ? null : groupSync(walFd);
  const checkpointer = walFd === null ? null : createCheckpointer(path, walFd, options.checkpoint);
  const totalChanges = db.prepare('SELECT total_changes() AS n');
  const changeCount = (): number => num(totalChanges.get() ?? { n: 0 }, 'n');
  // Methods run one at a time (synchronous SQLite), so a rise since the last look is this
  // method's write; a sweep's deletes between two methods only add one harmless sync.
  let changesSeen = changeCount();

  /** Runs `fn` now; when it changed rows, resolves only once they are on disk (unless `durable` is false: the claims, see ports.ts). */
  const run = <T>(fn: () => T, durable = true): Promise<T> =>
    new Promise<T>((resolve) => {
      if (wal === null) {
        resolve(fn());
        return;
      }
      const result = fn();
      const changed = changeCount();
      if (changed === changesSeen) {
        resolve(result);
        return;
      }
      changesSeen = changed;
      checkpointer?.afterCommit();
      resolve(durable ? wal.sync().then(() => result) : result);
    });
  /** A claim: committed, and made durable by the write the engine always makes next. */
  const claim = <T>(fn: () => T): Promise<T> => run(fn, false);

  // The single steps that the login writes are made of, each without a transaction of its
  // own: a Store method runs one of them (inside `immediate` when it reads and then writes),
  // and a coalesced method runs several inside one `immediate`, so both run the same code.
  const op = {
    acceptTOTPStep: (factorId: string, step: number, now: number, confirm: boolean): boolean =>
      confirm
        ? changes(SQL.acceptTOTPStepAndConfirm, step, now, now, factorId, step) === 1
        : changes(SQL.acceptTOTPStep, step, now, factorId, step) === 1,
    useRecoveryCode: (userId: string, codeHash: string, now: number): boolean => changes(SQL.useRecoveryCode, now, userId, codeHash) === 1,
    /** Used codes go too: the new set is the whole set. */
    replaceRecoveryCodes: (userId: string, codeHashes: readonly string[], now: number, keyId: string | null): void => {
      changes(SQL.deleteUserRecoveryCodes, userId);
      for (const hash of codeHashes) changes(SQL.insertRecoveryCode, userId, hash, now, keyId);
    },
    countRecoveryCodes: (userId: string): number => {
      const row = stmt(SQL.countRecoveryCodes).get(userId);
      return row === undefined ? 0 : num(row, 'n');
    },
    createPendingLogin: (p: PendingLogin): void => {
      stmt(SQL.insertPendingLogin).run(
        p.idHash, p.userId, JSON.stringify(p.methods), p.attempts, p.sends, p.lastSentAt, p.codeHash, p.codeChannel, p.codeExpiresAt, p.ip, p.userAgent, p.createdAt, p.expiresAt,
      );
    },
    claimPendingAttempt: (idHash: string, now: number, maxAttempts: number): number | null => {
      const row = stmt(SQL.claimPendingAttempt).get(idHash, now, maxAttempts);
      return row === undefined ? null : num(row, 'attempts');
    },
    consumePendingCode: (idHash: string, channel: DeliveryChannel, codeHash: string, now: number): 'ok' | 'expired' | 'mismatch' => {
      if (changes(SQL.consumePendingCode, idHash, now, codeHash, channel, now) === 1) return 'ok';
      // Only classifies the refusal: nothing is written.
      const row = stmt(SQL.selectPendingCodeExpiry).get(idHash, now, codeHash, channel);
      return row !== undefined && numOrNull(row, 'code_expires_at') !== null ? 'expired' : 'mismatch';
    },
    consumePendingLogin: (idHash: string, now: number): PendingLogin | null => {
      const row = stmt(SQL.consumePendingLogin).get(idHash, now);
      return row === undefined ? null : toPendingLogin(row);
    },
    deletePendingLogin: (idHash: string): void => {
      changes(SQL.deletePendingLogin, idHash);
    },
    createSession: (s: Session): void => {
      stmt(SQL.insertSession).run(s.tokenHash, s.id, s.userId, s.level, s.ip, s.userAgent, s.createdAt, s.lastSeenAt, s.expiresAt, s.method ?? null);
    },
    /** Reads then writes: only inside `immediate`. */
    claimAttempt: (key: string, now: number, policy: AttemptPolicy): AttemptClaim => {
      const row = stmt(SQL.selectAttempt).get(key);
      const { claim, write } = decideAttempt(row === undefined ? null : toAttemptRow(row), now, policy);
      if (write) stmt(SQL.upsertAttempt).run(key, write.count, write.nextAt, write.forgetAt);
      return claim;
    },
    resetAttempts: (key: string): void => {
      changes(SQL.deleteAttempt, key);
    },
    /** Reads then writes: only inside `immediate`. */
    takeToken: (key: string, now: number, capacity: number, refillMs: number): TokenTake => {
      const row = stmt(SQL.selectBucket).get(key);
      const { take, write } = decideTake(row === undefined ? null : toBucketRow(row), now, capacity, refillMs);
      if (write) stmt(SQL.upsertBucket).run(key, write.tokens, write.refilledAt, write.fullAt);
      return take;
    },
    appendAudit: (e: AuditEvent): void => {
      const detail = e.detail === null ? null : JSON.stringify(e.detail);
      if (e.countKey === undefined) stmt(SQL.insertAudit).run(e.at, e.userId, e.type, e.method, e.ip, e.userAgent, detail);
      else stmt(SQL.upsertCountedAudit).run(e.at, e.userId, e.type, e.method, e.ip, e.userAgent, detail, e.countKey, e.at);
    },
  };

  /** Uses the second-factor proof of `completeLogin` (the pending login `idHash` holds an email/SMS code). */
  const useProof = (proof: CompletionProof, idHash: string, now: number): 'ok' | 'rejected' | 'expired' => {
    switch (proof.kind) {
      case 'totp':
        return op.acceptTOTPStep(proof.factorId, proof.step, now, false) ? 'ok' : 'rejected';
      case 'recovery':
        return op.useRecoveryCode(proof.userId, proof.codeHash, now) ? 'ok' : 'rejected';
      case 'code': {
        const result = op.consumePendingCode(idHash, proof.channel, proof.codeHash, now);
        return result === 'mismatch' ? 'rejected' : result;
      }
    }
  };

  /**
   * The session side of a factor's confirmation, inside its transaction: false (roll back)
   * when the confirming level-1 session is already gone, since a factor confirmed elsewhere
   * ended it. `endEnrollment` ends every level-1 session of the account (I13).
   */
  const checkConfirmingSession = (c: FactorConfirmation): boolean =>
    c.current.level !== 1 || stmt(SQL.selectLevelOneSession).get(c.current.tokenHash) !== undefined;
  const settleSessions = (c: FactorConfirmation, endEnrollment: boolean): void => {
    if (endEnrollment) changes(SQL.deleteUserLevelOneSessions, c.userId);
    if (c.endOtherSessions) changes(SQL.deleteUserSessionsExcept, c.userId, c.current.tokenHash);
    if (c.replaceWith !== null) {
      changes(SQL.deleteSession, c.current.tokenHash);
      op.createSession(c.replaceWith);
    }
  };

  return {
    walCheckpoints: () => checkpointer?.checkpoints ?? 0,
    createUser: (user) =>
      run(() => {
        try {
          const row = stmt(SQL.insertUser).get(user.id, user.username, user.email, user.phone, user.passwordHash, user.createdAt, user.emailVerifiedAt ?? null);
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
          changes(SQL.deleteUserSessions, userId);
          changes(SQL.clearPhoneVerified, userId);
          changes(SQL.deleteUserDevices, userId);
          changes(SQL.bumpCredentialVersion, userId);
          const update = updateUserStatement(userId, { preferredMethod: null });
          if (update) stmt(update.sql).run(...update.params);
        });
      }),
    updateUserAndEndSessions: (id, patch, exceptTokenHash) =>
      run(() =>
        immediate(() => {
          const update = updateUserStatement(id, patch);
          if (update) stmt(update.sql).run(...update.params);
          changes(SQL.deleteUserPendingLogins, id);
          changes(SQL.deleteUserDevices, id);
          changes(SQL.bumpCredentialVersion, id);
          return exceptTokenHash === undefined ? changes(SQL.deleteUserSessions, id) : changes(SQL.deleteUserSessionsExcept, id, exceptTokenHash);
        }),
      ),

    insertTOTPFactor: (f) =>
      run(() => {
        stmt(SQL.insertTOTPFactor).run(f.id, f.userId, f.label, f.encryptedSecret, f.keyId, f.confirmedAt, f.lastStep, f.createdAt, f.lastUsedAt);
      }),
    getTOTPFactor: (userId, factorId) => run(() => { const row = stmt(SQL.selectTOTPFactor).get(userId, factorId); return row === undefined ? null : toTOTPFactor(row); }),
    listTOTPFactors: (userId) => run(() => stmt(SQL.listTOTPFactors).all(userId).map(toTOTPFactor)),
    acceptTOTPStep: (factorId, step, now, confirm) => run(() => op.acceptTOTPStep(factorId, step, now, confirm)),
    deleteTOTPFactor: (userId, factorId) => run(() => changes(SQL.deleteTOTPFactor, userId, factorId) > 0),
    replacePendingTOTPFactor: (f) =>
      run(() =>
        immediate(() => {
          changes(SQL.deleteUnconfirmedTOTPFactors, f.userId);
          stmt(SQL.insertTOTPFactor).run(f.id, f.userId, f.label, f.encryptedSecret, f.keyId, f.confirmedAt, f.lastStep, f.createdAt, f.lastUsedAt);
        }),
      ),
    confirmTOTPFactor: (input) =>
      run(() =>
        immediate(
          (): boolean => {
            if (!checkConfirmingSession(input)) return false;
            if (changes(SQL.confirmPendingTOTPFactor, input.step, input.now, input.now, input.factorId, input.userId, input.createdAfter, input.step) !== 1) return false;
            settleSessions(input, true);
            return true;
          },
          (ok) => ok,
        ),
      ),
    putEmailVerification: (v) =>
      run(() => {
        stmt(SQL.upsertEmailVerification).run(v.userId, v.email, v.codeHash, v.expiresAt, v.attempts);
      }),
    getEmailVerification: (userId) => run(() => { const row = stmt(SQL.selectEmailVerification).get(userId); return row === undefined ? null : toEmailVerification(row); }),
    recordEmailVerificationFailure: (userId) =>
      run(() => { const row = stmt(SQL.recordEmailVerificationFailure).get(userId); return row === undefined ? null : num(row, 'attempts'); }),
    deleteEmailVerification: (userId) =>
      run(() => {
        changes(SQL.deleteEmailVerification, userId);
      }),
    confirmEmail: (input) =>
      run(() =>
        immediate(
          (): boolean => {
            if (!checkConfirmingSession(input)) return false;
            if (changes(SQL.consumeEmailVerification, input.userId, input.email, input.codeHash, input.now) !== 1) return false;
            changes(SQL.setVerifiedEmail, input.email, input.now, input.userId);
            settleSessions(input, input.endEnrollment);
            return true;
          },
          (ok) => ok,
        ),
      ),

    resealTOTPFactor: (factorId, fromKeyId, sealed) => run(() => changes(SQL.resealTOTPFactor, sealed.encryptedSecret, sealed.keyId, factorId, fromKeyId) === 1),
    keyUsage: () =>
      run(() => {
        const usage = new Map<string | null, KeyUsage>();
        const entry = (keyId: string | null): KeyUsage => {
          let u = usage.get(keyId);
          if (!u) usage.set(keyId, (u = { keyId, totpSecrets: 0, recoveryCodes: 0 }));
          return u;
        };
        for (const row of stmt(SQL.totpKeyUsage).all()) entry(strOrNull(row, 'key_id')).totpSecrets = num(row, 'n');
        for (const row of stmt(SQL.recoveryKeyUsage).all()) entry(strOrNull(row, 'key_id')).recoveryCodes = num(row, 'n');
        return [...usage.values()];
      }),

    replaceRecoveryCodes: (userId, codeHashes, now, keyId) =>
      run(() => {
        immediate(() => op.replaceRecoveryCodes(userId, codeHashes, now, keyId ?? null));
      }),
    addFirstRecoveryCodes: (userId, codeHashes, now, keyId) =>
      run(() =>
        immediate(() => {
          if (op.countRecoveryCodes(userId) > 0) return false;
          op.replaceRecoveryCodes(userId, codeHashes, now, keyId ?? null);
          return true;
        }),
      ),
    recoveryCodeKeyIds: (userId) => run(() => stmt(SQL.recoveryCodeKeyIds).all(userId).map((row) => strOrNull(row, 'key_id'))),
    useRecoveryCode: (userId, codeHash, now) => run(() => op.useRecoveryCode(userId, codeHash, now)),
    countRecoveryCodes: (userId) => run(() => op.countRecoveryCodes(userId)),

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
    confirmPhone: (userId, codeHash, now) =>
      run(() =>
        immediate(() => {
          const row = stmt(SQL.consumePhoneVerification).get(userId, codeHash, now);
          if (row === undefined) return null;
          const phone = str(row, 'phone');
          changes(SQL.setVerifiedPhone, phone, now, userId);
          return phone;
        }),
      ),

    createPendingLogin: (p) => run(() => op.createPendingLogin(p)),
    getPendingLogin: (idHash, now) => run(() => { const row = stmt(SQL.selectPendingLogin).get(idHash, now); return row === undefined ? null : toPendingLogin(row); }),
    claimPendingAttempt: (idHash, now, maxAttempts) => run(() => op.claimPendingAttempt(idHash, now, maxAttempts)),
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
    consumePendingCode: (idHash, channel, codeHash, now) => run(() => op.consumePendingCode(idHash, channel, codeHash, now)),
    consumePendingLogin: (idHash, now) => run(() => op.consumePendingLogin(idHash, now)),
    deletePendingLogin: (idHash) => run(() => op.deletePendingLogin(idHash)),

    createSession: (s) => run(() => op.createSession(s)),
    listUserGroups: (userId) => run(() => stmt(SQL.listUserGroups).all(userId).map((row) => String(row.name))),
    getSessionWithAccount: (tokenHash) => run(() => { const row = stmt(SQL.selectSessionWithAccount).get(tokenHash); return row === undefined ? null : toSessionWithAccount(row); }),
    addUserGroup: (userId, group) => run(() => changes(SQL.addUserGroup, userId, group) === 1),
    removeUserGroup: (userId, group) => run(() => changes(SQL.removeUserGroup, userId, group) === 1),
    getSession: (tokenHash) => run(() => { const row = stmt(SQL.selectSession).get(tokenHash); return row === undefined ? null : toSession(row); }),
    touchSession: (tokenHash, now) =>
      run(() => {
        changes(SQL.touchSession, now, tokenHash);
      }),
    deleteSession: (tokenHash) => run(() => changes(SQL.deleteSession, tokenHash) > 0),
    replaceSession: (oldTokenHash, session) =>
      run(() =>
        immediate(() => {
          if (changes(SQL.deleteSession, oldTokenHash) === 0) return false;
          op.createSession(session);
          return true;
        }),
      ),
    deleteSessionById: (userId, id) => run(() => changes(SQL.deleteSessionById, userId, id) > 0),
    deleteUserSessions: (userId, exceptTokenHash) =>
      run(() => (exceptTokenHash === undefined ? changes(SQL.deleteUserSessions, userId) : changes(SQL.deleteUserSessionsExcept, userId, exceptTokenHash))),
    listSessions: (userId) => run(() => stmt(SQL.listSessions).all(userId).map(toSession)),

    putOneTimeView: (v) =>
      run(() => {
        stmt(SQL.insertOneTimeView).run(v.handleHash, v.userId, v.sessionId, v.kind, v.sealed, v.keyId, v.expiresAt);
      }),
    takeOneTimeView: (handleHash, sessionId, kind, now) =>
      run(() => { const row = stmt(SQL.takeOneTimeView).get(handleHash, sessionId, kind, now); return row === undefined ? null : toOneTimeView(row); }),

    createDevice: (d) =>
      run(() => {
        stmt(SQL.insertDevice).run(d.id, d.tokenHash, d.userId, d.ip, d.userAgent, d.createdAt, d.lastUsedAt);
      }),
    getDevice: (tokenHash) => run(() => { const row = stmt(SQL.selectDevice).get(tokenHash); return row === undefined ? null : toDevice(row); }),
    touchDevice: (tokenHash, now) =>
      run(() => {
        changes(SQL.touchDevice, now, tokenHash);
      }),
    listDevices: (userId) => run(() => stmt(SQL.listDevices).all(userId).map(toDevice)),
    deleteDeviceById: (userId, id) => run(() => changes(SQL.deleteDeviceById, userId, id) > 0),

    putPasswordUnlock: (u) =>
      run(() => {
        stmt(SQL.insertPasswordUnlock).run(u.tokenHash, u.userId, u.createdAt, u.expiresAt);
      }),
    consumePasswordUnlock: (tokenHash, now) =>
      run(() => { const row = stmt(SQL.consumePasswordUnlock).get(tokenHash, now); return row === undefined ? null : str(row, 'user_id'); }),
    deletePasswordUnlocks: (userId) =>
      run(() => {
        changes(SQL.deleteUserPasswordUnlocks, userId);
      }),

    claimAttempt: (key, now, policy) => run(() => immediate(() => op.claimAttempt(key, now, policy))),
    resetAttempts: (key) => run(() => op.resetAttempts(key)),
    getAttemptCount: (key, now) =>
      run(() => {
        const row = stmt(SQL.selectAttempt).get(key);
        if (row === undefined) return 0;
        const attempt = toAttemptRow(row);
        return now !== undefined && attempt.forgetAt !== null && attempt.forgetAt <= now ? 0 : attempt.count;
      }),
    takeToken: (key, now, capacity, refillMs) => run(() => immediate(() => op.takeToken(key, now, capacity, refillMs))),

    appendAudit: (e) => run(() => op.appendAudit(e)),
    listAudit: ({ userId, limit }) =>
      run(() => (userId === undefined ? stmt(SQL.listAudit).all(limit) : stmt(SQL.listUserAudit).all(userId, limit)).map(toStoredAuditEvent)),
    lastAuditAt: (userId, type, method) => run(() => { const row = stmt(SQL.lastUserAuditAt).get(userId, type, method); return row === undefined ? null : num(row, 'at'); }),

    beginPasswordAttempt: (input) =>
      claim(() =>
        immediate((): PasswordAttemptResult => {
          const take = op.takeToken(input.ipKey, input.now, input.ipCapacity, input.ipRefillMs);
          if (!take.ok) return { ok: false, rule: 'address', retryAfterMs: take.retryAfterMs };
          // As with the separate calls, a refused name claim keeps the address token taken.
          const claim = op.claimAttempt(input.nameKey, input.now, input.policy);
          return claim.ok ? { ok: true, count: claim.count } : { ok: false, rule: 'username', retryAfterMs: claim.retryAfterMs, ...(claim.locked ? { locked: true } : {}) };
        }),
      ),
    recordPasswordSuccess: ({ resetKey, pending, events, expect, session, rehash }) =>
      run(() =>
        immediate(() => {
          if (expect !== undefined && stmt(SQL.selectUnchangedUser).get(expect.userId, expect.credentialVersion) === undefined) return false;
          op.resetAttempts(resetKey);
          if (pending !== null) op.createPendingLogin(pending);
          if (session) op.createSession(session);
          if (rehash && expect !== undefined) changes(SQL.rehashPassword, rehash, expect.userId, expect.credentialVersion);
          for (const event of events) op.appendAudit(event);
          return true;
        }),
      ),
    beginCodeAttempt: (input) =>
      claim(() =>
        immediate(
          (): CodeAttemptResult => {
            // claimPendingAttempt's statement is the pending login's check (exists, unexpired,
            // attempts < max) and its + 1 at once; a throttled claim below rolls the + 1 back.
            const attempts = op.claimPendingAttempt(input.idHash, input.now, input.maxAttempts);
            if (attempts === null) return { ok: false, reason: 'login_expired' };
            const claim = op.claimAttempt(input.accountKey, input.now, input.policy);
            if (!claim.ok) return { ok: false, reason: 'throttled', locked: claim.locked, retryAfterMs: claim.retryAfterMs, accountCount: claim.count };
            return { ok: true, accountCount: claim.count, attempts };
          },
          (result) => result.ok,
        ),
      ),
    completeLogin: (input) =>
      run(() =>
        immediate(
          (): CompletionResult => {
            const used = useProof(input.proof, input.idHash, input.now);
            if (used !== 'ok') return { ok: false, reason: used };
            const pending = op.consumePendingLogin(input.idHash, input.now);
            if (pending === null) return { ok: false, reason: 'login_expired' };
            for (const key of input.resetKeys) op.resetAttempts(key);
            op.createSession(input.session);
            for (const event of input.events) op.appendAudit(event);
            const recoveryCodesLeft = input.proof.kind === 'recovery' ? op.countRecoveryCodes(input.proof.userId) : null;
            return { ok: true, pending, recoveryCodesLeft };
          },
          (result) => result.ok,
        ),
      ),
    recordCodeFailure: ({ events, closePending }) =>
      run(() =>
        immediate(() => {
          for (const event of events) op.appendAudit(event);
          if (closePending !== null) op.deletePendingLogin(closePending);
        }),
      ),

    claimNotification: (key, now, windowMs) =>
      run(() =>
        immediate((): NotificationClaim => {
          const row = stmt(SQL.selectNotificationWindow).get(key);
          const sentAt = row === undefined ? null : num(row, 'sent_at');
          if (sentAt !== null && now - sentAt < windowMs) {
            changes(SQL.countSuppressedNotification, key);
            return { send: false };
          }
          stmt(SQL.upsertNotificationWindow).run(key, now, 0);
          return { send: true, suppressed: row === undefined ? 0 : num(row, 'suppressed'), since: sentAt };
        }),
      ),

    sweep: async (now, sessionIdleMs, auditRetentionMs) => {
      const batches: [string, SQLInputValue[]][] = [
        [SWEEP_SQL.pendingLogins, [now]],
        [SWEEP_SQL.phoneVerifications, [now]],
        [SWEEP_SQL.emailVerifications, [now]],
        [SWEEP_SQL.pendingTOTPFactors, [now - ENROLLMENT_TTL_MS]],
        [SWEEP_SQL.sessions, [now, now - sessionIdleMs]],
        [SWEEP_SQL.attemptCounters, [now]],
        [SWEEP_SQL.tokenBuckets, [now]],
        ...(auditRetentionMs === undefined ? [] : [[SWEEP_SQL.auditEvents, [now - auditRetentionMs, now - auditRetentionMs]] as [string, SQLInputValue[]]]),
        [SWEEP_SQL.oneTimeViews, [now]],
        [SWEEP_SQL.devices, [now - DEVICE_LIFETIME_MS]],
        [SWEEP_SQL.passwordUnlocks, [now]],
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
    close: async () => {
      await checkpointer?.close();
      await wal?.settled();
      statements.clear();
      if (db.isOpen) db.close();
      if (walFd !== null) {
        closeSync(walFd);
        walFd = null;
      }
    },
  };
}
