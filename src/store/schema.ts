/**
 * The database schema as versioned migrations, shared by every SQL driver.
 *
 * Each migration is applied once, in order, inside one transaction at open; the
 * version reached is the single row of `schema_version`. A database whose version is
 * newer than `SCHEMA_VERSION` is refused (an older otpgate must not write to it).
 *
 * Portable on purpose: TEXT ids and hashes, BIGINT milliseconds since the epoch,
 * INTEGER 0/1 flags, JSON as TEXT. The only dialect difference is the audit table's
 * generated key, taken from `Dialect`.
 */

export interface Dialect {
  /** Column definition of a generated, never reused, increasing integer primary key. */
  identityPrimaryKey: string;
}

export const SQLITE_DIALECT: Dialect = { identityPrimaryKey: 'INTEGER PRIMARY KEY AUTOINCREMENT' };
export const POSTGRES_DIALECT: Dialect = { identityPrimaryKey: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY' };

export interface Migration {
  version: number;
  description: string;
  statements: (dialect: Dialect) => string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'accounts, factors, pending logins, sessions, throttles, audit',
    statements: (d) => [
      `CREATE TABLE users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        email TEXT,
        phone TEXT,
        phone_verified_at BIGINT,
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        preferred_method TEXT,
        created_at BIGINT NOT NULL
      )`,
      `CREATE TABLE totp_factors (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        encrypted_secret TEXT NOT NULL,
        key_id TEXT NOT NULL,
        confirmed_at BIGINT,
        last_step BIGINT,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT
      )`,
      'CREATE INDEX totp_factors_user_id ON totp_factors (user_id)',
      `CREATE TABLE recovery_codes (
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        code_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        used_at BIGINT,
        PRIMARY KEY (user_id, code_hash)
      )`,
      `CREATE TABLE phone_verifications (
        user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        phone TEXT NOT NULL,
        code_hash TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0
      )`,
      'CREATE INDEX phone_verifications_expires_at ON phone_verifications (expires_at)',
      `CREATE TABLE pending_logins (
        id_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        methods TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        sends INTEGER NOT NULL DEFAULT 0,
        last_sent_at BIGINT,
        code_hash TEXT,
        code_channel TEXT,
        code_expires_at BIGINT,
        ip TEXT NOT NULL,
        user_agent TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      )`,
      'CREATE INDEX pending_logins_user_id ON pending_logins (user_id)',
      'CREATE INDEX pending_logins_expires_at ON pending_logins (expires_at)',
      `CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        level INTEGER NOT NULL,
        ip TEXT NOT NULL,
        user_agent TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      )`,
      'CREATE INDEX sessions_user_id ON sessions (user_id)',
      'CREATE INDEX sessions_expires_at ON sessions (expires_at)',
      'CREATE INDEX sessions_last_seen_at ON sessions (last_seen_at)',
      `CREATE TABLE attempt_counters (
        key TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        next_at BIGINT NOT NULL,
        forget_at BIGINT
      )`,
      'CREATE INDEX attempt_counters_forget_at ON attempt_counters (forget_at)',
      `CREATE TABLE token_buckets (
        key TEXT PRIMARY KEY,
        tokens INTEGER NOT NULL,
        refilled_at BIGINT NOT NULL,
        full_at BIGINT NOT NULL
      )`,
      'CREATE INDEX token_buckets_full_at ON token_buckets (full_at)',
      `CREATE TABLE audit_events (
        id ${d.identityPrimaryKey},
        at BIGINT NOT NULL,
        user_id TEXT,
        type TEXT NOT NULL,
        method TEXT,
        ip TEXT,
        user_agent TEXT,
        detail TEXT
      )`,
      'CREATE INDEX audit_events_user_id ON audit_events (user_id, id)',
    ],
  },
  {
    version: 2,
    description: 'email verification; level-1 sessions end 10 minutes after they began',
    statements: () => [
      'ALTER TABLE users ADD COLUMN email_verified_at BIGINT',
      // An address already proven by a sign-in with an emailed code, or given by the
      // operator (`user add --email`), stays a factor; any other must be verified first.
      `UPDATE users SET email_verified_at = (
        SELECT MIN(a.at) FROM audit_events a WHERE a.user_id = users.id
          AND ((a.type = 'login_succeeded' AND a.method = 'email') OR (a.type = 'signup' AND a.detail LIKE '%"via":"operator"%'))
      ) WHERE email IS NOT NULL`,
      `CREATE TABLE email_verifications (
        user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        email TEXT NOT NULL,
        code_hash TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0
      )`,
      'CREATE INDEX email_verifications_expires_at ON email_verifications (expires_at)',
      'UPDATE sessions SET expires_at = created_at + 600000 WHERE level = 1 AND expires_at > created_at + 600000',
    ],
  },
  {
    version: 3,
    description: 'one-time views: secrets shown once by a GET after the POST that made them',
    statements: () => [
      `CREATE TABLE one_time_views (
        handle_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        session_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        sealed TEXT NOT NULL,
        key_id TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      )`,
      'CREATE INDEX one_time_views_expires_at ON one_time_views (expires_at)',
    ],
  },
  {
    version: 4,
    description: 'device tokens, unlock links for the password lock, per-user credential version',
    statements: () => [
      // Bumped by a password change, a disable and a 2FA reset: a sign-in begun before it opens nothing.
      'ALTER TABLE users ADD COLUMN credential_version INTEGER NOT NULL DEFAULT 0',
      `CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        ip TEXT NOT NULL,
        user_agent TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT NOT NULL
      )`,
      'CREATE INDEX devices_user_id ON devices (user_id)',
      'CREATE INDEX devices_last_used_at ON devices (last_used_at)',
      `CREATE TABLE password_unlocks (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      )`,
      'CREATE INDEX password_unlocks_user_id ON password_unlocks (user_id)',
      'CREATE INDEX password_unlocks_expires_at ON password_unlocks (expires_at)',
    ],
  },
  {
    version: 5,
    description: 'recovery code key ids, counted refusals and audit retention, notification windows',
    statements: () => [
      // The id of the secret key whose code key hashed the code (NULL: hashed before this
      // version, under the key that was current then).
      'ALTER TABLE recovery_codes ADD COLUMN key_id TEXT',
      // Refusals of one kind from one place within one window share a row (`bucket`), counted.
      'ALTER TABLE audit_events ADD COLUMN bucket TEXT',
      'ALTER TABLE audit_events ADD COLUMN count INTEGER NOT NULL DEFAULT 1',
      'ALTER TABLE audit_events ADD COLUMN last_at BIGINT',
      'CREATE UNIQUE INDEX audit_events_bucket ON audit_events (bucket)',
      'CREATE INDEX audit_events_at ON audit_events (at)',
      `CREATE TABLE notification_windows (
        key TEXT PRIMARY KEY,
        sent_at BIGINT NOT NULL,
        suppressed INTEGER NOT NULL DEFAULT 0
      )`,
      'CREATE INDEX notification_windows_sent_at ON notification_windows (sent_at)',
    ],
  },
  // Version 6 was left out: versions need only be unique and increasing.
  {
    version: 7,
    description: 'groups per user, for the forward-auth gate (Remote-Groups, group: subjects)',
    statements: () => [
      `CREATE TABLE user_groups (
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        PRIMARY KEY (user_id, name)
      )`,
    ],
  },
  {
    version: 8,
    description: 'the second factor that made each full session',
    statements: () => [
      // NULL: a level-1 session, or one made before this version (its factor is not known).
      'ALTER TABLE sessions ADD COLUMN method TEXT',
    ],
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION: number = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

export const SCHEMA_VERSION_SQL = {
  create: 'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)',
  select: 'SELECT MAX(version) AS version FROM schema_version',
  insert: 'INSERT INTO schema_version (version) VALUES (?)',
  update: 'UPDATE schema_version SET version = ?',
} as const;

/** The migrations to apply to a database at `current`; throws when it is newer than this code. */
export function pendingMigrations(current: number): Migration[] {
  if (current > SCHEMA_VERSION) {
    throw new Error(`The database schema is at version ${current}, newer than version ${SCHEMA_VERSION} that this otpgate knows; upgrade otpgate to open it.`);
  }
  return MIGRATIONS.filter((m) => m.version > current).sort((a, b) => a.version - b.version);
}
