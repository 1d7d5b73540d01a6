/**
 * Every statement the Store runs, shared by the drivers (lucia v3 style: the SQL here,
 * each driver thin). Placeholders are positional `?`; a driver whose database numbers
 * them (`$1`, PostgreSQL) rewrites them in order — no statement has `?` in a literal.
 *
 * Each statement that guards a secret is one atomic UPDATE/DELETE whose WHERE clause
 * is the check (I4): the caller looks only at how many rows changed or came back.
 */
import type { UserPatch } from '../auth/ports.ts';

const USER = 'id, username, email, phone, phone_verified_at, password_hash, disabled, preferred_method, created_at, credential_version, email_verified_at';
const TOTP = 'id, user_id, label, encrypted_secret, key_id, confirmed_at, last_step, created_at, last_used_at';
const PENDING = 'id_hash, user_id, methods, attempts, sends, last_sent_at, code_hash, code_channel, code_expires_at, ip, user_agent, created_at, expires_at';
const SESSION = 'token_hash, id, user_id, level, ip, user_agent, created_at, last_seen_at, expires_at, method';
const AUDIT = 'id, at, user_id, type, method, ip, user_agent, detail, count, last_at';
const VIEW = 'handle_hash, user_id, session_id, kind, sealed, key_id, expires_at';
const DEVICE = 'id, token_hash, user_id, ip, user_agent, created_at, last_used_at';

export const SQL = {
  insertUser: `INSERT INTO users (${USER}) VALUES (?, ?, ?, ?, NULL, ?, 0, NULL, ?, 0, ?) RETURNING ${USER}`,
  selectUserById: `SELECT ${USER} FROM users WHERE id = ?`,
  selectUserByUsername: `SELECT ${USER} FROM users WHERE username = ?`,
  listUsers: `SELECT ${USER} FROM users ORDER BY username`,
  clearPhoneVerified: 'UPDATE users SET phone_verified_at = NULL WHERE id = ?',
  bumpCredentialVersion: 'UPDATE users SET credential_version = credential_version + 1 WHERE id = ?',
  /** The check of a sign-in's write: the account is enabled and its credentials unchanged since it was read. */
  selectUnchangedUser: 'SELECT 1 AS ok FROM users WHERE id = ? AND disabled = 0 AND credential_version = ?',
  rehashPassword: 'UPDATE users SET password_hash = ? WHERE id = ? AND credential_version = ?',

  insertTOTPFactor: `INSERT INTO totp_factors (${TOTP}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  selectTOTPFactor: `SELECT ${TOTP} FROM totp_factors WHERE user_id = ? AND id = ?`,
  listTOTPFactors: `SELECT ${TOTP} FROM totp_factors WHERE user_id = ? ORDER BY created_at, id`,
  // RFC 6238 §5.2: a step is accepted once, and only when later than the last accepted one.
  acceptTOTPStep: 'UPDATE totp_factors SET last_step = ?, last_used_at = ? WHERE id = ? AND (last_step IS NULL OR last_step < ?)',
  acceptTOTPStepAndConfirm:
    'UPDATE totp_factors SET last_step = ?, last_used_at = ?, confirmed_at = COALESCE(confirmed_at, ?) WHERE id = ? AND (last_step IS NULL OR last_step < ?)',
  // Compare-and-set on the old key id: of concurrent re-seals, one writes (both would be valid).
  resealTOTPFactor: 'UPDATE totp_factors SET encrypted_secret = ?, key_id = ? WHERE id = ? AND key_id = ?',
  deleteTOTPFactor: 'DELETE FROM totp_factors WHERE user_id = ? AND id = ?',
  deleteUserTOTPFactors: 'DELETE FROM totp_factors WHERE user_id = ?',

  deleteUserRecoveryCodes: 'DELETE FROM recovery_codes WHERE user_id = ?',
  deleteUnconfirmedTOTPFactors: 'DELETE FROM totp_factors WHERE user_id = ? AND confirmed_at IS NULL',
  /** Params: step, now, now, factor id, user id, created after, step. */
  confirmPendingTOTPFactor: `UPDATE totp_factors SET last_step = ?, last_used_at = ?, confirmed_at = ?
    WHERE id = ? AND user_id = ? AND confirmed_at IS NULL AND created_at > ? AND (last_step IS NULL OR last_step < ?)`,

  insertRecoveryCode: 'INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at, key_id) VALUES (?, ?, ?, NULL, ?)',
  recoveryCodeKeyIds: 'SELECT DISTINCT key_id FROM recovery_codes WHERE user_id = ? AND used_at IS NULL',
  useRecoveryCode: 'UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL',
  countRecoveryCodes: 'SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL',

  upsertPhoneVerification: `INSERT INTO phone_verifications (user_id, phone, code_hash, expires_at, attempts) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (user_id) DO UPDATE SET phone = excluded.phone, code_hash = excluded.code_hash, expires_at = excluded.expires_at, attempts = excluded.attempts`,
  selectPhoneVerification: 'SELECT user_id, phone, code_hash, expires_at, attempts FROM phone_verifications WHERE user_id = ?',
  recordPhoneVerificationFailure: 'UPDATE phone_verifications SET attempts = attempts + 1 WHERE user_id = ? RETURNING attempts',
  deletePhoneVerification: 'DELETE FROM phone_verifications WHERE user_id = ?',
  // Spent by the one request that deletes it: the DELETE is the check (I4).
  consumePhoneVerification: 'DELETE FROM phone_verifications WHERE user_id = ? AND code_hash = ? AND expires_at > ? RETURNING phone',
  setVerifiedPhone: 'UPDATE users SET phone = ?, phone_verified_at = ? WHERE id = ?',

  upsertEmailVerification: `INSERT INTO email_verifications (user_id, email, code_hash, expires_at, attempts) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, code_hash = excluded.code_hash, expires_at = excluded.expires_at, attempts = excluded.attempts`,
  selectEmailVerification: 'SELECT user_id, email, code_hash, expires_at, attempts FROM email_verifications WHERE user_id = ?',
  recordEmailVerificationFailure: 'UPDATE email_verifications SET attempts = attempts + 1 WHERE user_id = ? RETURNING attempts',
  deleteEmailVerification: 'DELETE FROM email_verifications WHERE user_id = ?',
  consumeEmailVerification: 'DELETE FROM email_verifications WHERE user_id = ? AND email = ? AND code_hash = ? AND expires_at > ?',
  setVerifiedEmail: 'UPDATE users SET email = ?, email_verified_at = ? WHERE id = ?',

  insertPendingLogin: `INSERT INTO pending_logins (${PENDING}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  selectPendingLogin: `SELECT ${PENDING} FROM pending_logins WHERE id_hash = ? AND expires_at > ?`,
  claimPendingAttempt: 'UPDATE pending_logins SET attempts = attempts + 1 WHERE id_hash = ? AND expires_at > ? AND attempts < ? RETURNING attempts',
  /** Params: code hash, channel, code expiry, now, id hash, now, now - cooldown, max sends. */
  setPendingCode: `UPDATE pending_logins SET code_hash = ?, code_channel = ?, code_expires_at = ?, sends = sends + 1, last_sent_at = ?
    WHERE id_hash = ? AND expires_at > ? AND (last_sent_at IS NULL OR last_sent_at <= ?) AND sends < ? RETURNING sends`,
  selectPendingSendState: 'SELECT sends, last_sent_at, expires_at FROM pending_logins WHERE id_hash = ? AND expires_at > ?',
  consumePendingCode: `UPDATE pending_logins SET code_hash = NULL, code_channel = NULL, code_expires_at = NULL
    WHERE id_hash = ? AND expires_at > ? AND code_hash = ? AND code_channel = ? AND code_expires_at > ?`,
  selectPendingCodeExpiry: 'SELECT code_expires_at FROM pending_logins WHERE id_hash = ? AND expires_at > ? AND code_hash = ? AND code_channel = ?',
  consumePendingLogin: `DELETE FROM pending_logins WHERE id_hash = ? AND expires_at > ? RETURNING ${PENDING}`,
  deletePendingLogin: 'DELETE FROM pending_logins WHERE id_hash = ?',
  deleteUserPendingLogins: 'DELETE FROM pending_logins WHERE user_id = ?',

  insertSession: `INSERT INTO sessions (${SESSION}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  selectSession: `SELECT ${SESSION} FROM sessions WHERE token_hash = ?`,
  touchSession: 'UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?',
  deleteSession: 'DELETE FROM sessions WHERE token_hash = ?',
  deleteSessionById: 'DELETE FROM sessions WHERE user_id = ? AND id = ?',
  deleteUserSessions: 'DELETE FROM sessions WHERE user_id = ?',
  deleteUserSessionsExcept: 'DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?',
  selectLevelOneSession: 'SELECT token_hash FROM sessions WHERE token_hash = ? AND level = 1',
  deleteUserLevelOneSessions: 'DELETE FROM sessions WHERE user_id = ? AND level = 1',
  listSessions: `SELECT ${SESSION} FROM sessions WHERE user_id = ? ORDER BY last_seen_at DESC, id`,

  insertOneTimeView: `INSERT INTO one_time_views (${VIEW}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  // Spent by the one read that finds it: the DELETE is the check (I4).
  takeOneTimeView: `DELETE FROM one_time_views WHERE handle_hash = ? AND session_id = ? AND kind = ? AND expires_at > ? RETURNING ${VIEW}`,

  insertDevice: `INSERT INTO devices (${DEVICE}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  selectDevice: `SELECT ${DEVICE} FROM devices WHERE token_hash = ?`,
  touchDevice: 'UPDATE devices SET last_used_at = ? WHERE token_hash = ?',
  listDevices: `SELECT ${DEVICE} FROM devices WHERE user_id = ? ORDER BY last_used_at DESC, id`,
  deleteDeviceById: 'DELETE FROM devices WHERE user_id = ? AND id = ?',
  deleteUserDevices: 'DELETE FROM devices WHERE user_id = ?',

  insertPasswordUnlock: 'INSERT INTO password_unlocks (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)',
  consumePasswordUnlock: 'DELETE FROM password_unlocks WHERE token_hash = ? AND expires_at > ? RETURNING user_id',
  deleteUserPasswordUnlocks: 'DELETE FROM password_unlocks WHERE user_id = ?',

  // Read and written back inside one write transaction (see rules.ts).
  selectAttempt: 'SELECT count, next_at, forget_at FROM attempt_counters WHERE key = ?',
  upsertAttempt: `INSERT INTO attempt_counters (key, count, next_at, forget_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET count = excluded.count, next_at = excluded.next_at, forget_at = excluded.forget_at`,
  deleteAttempt: 'DELETE FROM attempt_counters WHERE key = ?',
  selectBucket: 'SELECT tokens, refilled_at, full_at FROM token_buckets WHERE key = ?',
  upsertBucket: `INSERT INTO token_buckets (key, tokens, refilled_at, full_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, refilled_at = excluded.refilled_at, full_at = excluded.full_at`,

  insertAudit: 'INSERT INTO audit_events (at, user_id, type, method, ip, user_agent, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
  // A counted refusal: the first of its bucket inserts, the rest add one and move last_at.
  upsertCountedAudit: `INSERT INTO audit_events (at, user_id, type, method, ip, user_agent, detail, bucket, count, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
    ON CONFLICT (bucket) DO UPDATE SET count = audit_events.count + 1, last_at = excluded.last_at, user_agent = excluded.user_agent, detail = excluded.detail`,
  listAudit: `SELECT ${AUDIT} FROM audit_events ORDER BY id DESC LIMIT ?`,
  listUserAudit: `SELECT ${AUDIT} FROM audit_events WHERE user_id = ? ORDER BY id DESC LIMIT ?`,
  // Groups (forward-auth gate)
  listUserGroups: 'SELECT name FROM user_groups WHERE user_id = ? ORDER BY name',
  /** The gate's read: session, account and groups (a JSON array, in name order) in one statement. */
  selectSessionWithAccount: `SELECT ${SESSION.split(', ').map((c) => `s.${c}`).join(', ')},
      u.username, u.email, u.email_verified_at, u.disabled,
      (SELECT json_group_array(g.name ORDER BY g.name) FROM user_groups g WHERE g.user_id = s.user_id) AS groups
    FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`,
  addUserGroup: 'INSERT INTO user_groups (user_id, name) VALUES (?, ?) ON CONFLICT (user_id, name) DO NOTHING',
  removeUserGroup: 'DELETE FROM user_groups WHERE user_id = ? AND name = ?',

  lastUserAuditAt: 'SELECT at FROM audit_events WHERE user_id = ? AND type = ? AND method IS ? ORDER BY id DESC LIMIT 1',

  // Which secret key each stored secret or code hash depends on (`otpgate keys check`).
  totpKeyUsage: 'SELECT key_id, COUNT(*) AS n FROM totp_factors GROUP BY key_id',
  recoveryKeyUsage: 'SELECT key_id, COUNT(*) AS n FROM recovery_codes WHERE used_at IS NULL GROUP BY key_id',

  selectNotificationWindow: 'SELECT sent_at, suppressed FROM notification_windows WHERE key = ?',
  upsertNotificationWindow: `INSERT INTO notification_windows (key, sent_at, suppressed) VALUES (?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET sent_at = excluded.sent_at, suppressed = excluded.suppressed`,
  countSuppressedNotification: 'UPDATE notification_windows SET suppressed = suppressed + 1 WHERE key = ?',
} as const;

/**
 * The sweep, one bounded batch per statement (params: cutoff, batch size; sessions:
 * now, now - idle, batch size). A driver repeats each until a batch comes back short,
 * yielding in between, so a large backlog never holds the write lock for long.
 */
export const SWEEP_SQL = {
  pendingLogins: 'DELETE FROM pending_logins WHERE id_hash IN (SELECT id_hash FROM pending_logins WHERE expires_at <= ? LIMIT ?)',
  phoneVerifications: 'DELETE FROM phone_verifications WHERE user_id IN (SELECT user_id FROM phone_verifications WHERE expires_at <= ? LIMIT ?)',
  sessions: 'DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions WHERE expires_at <= ? OR last_seen_at <= ? LIMIT ?)',
  emailVerifications: 'DELETE FROM email_verifications WHERE user_id IN (SELECT user_id FROM email_verifications WHERE expires_at <= ? LIMIT ?)',
  /** Params: created-at cutoff (now - ENROLLMENT_TTL_MS), batch size. */
  pendingTOTPFactors: 'DELETE FROM totp_factors WHERE id IN (SELECT id FROM totp_factors WHERE confirmed_at IS NULL AND created_at <= ? LIMIT ?)',
  attemptCounters: 'DELETE FROM attempt_counters WHERE key IN (SELECT key FROM attempt_counters WHERE forget_at <= ? LIMIT ?)',
  tokenBuckets: 'DELETE FROM token_buckets WHERE key IN (SELECT key FROM token_buckets WHERE full_at <= ? LIMIT ?)',
  /** Params: the retention cutoff (twice), batch size. */
  auditEvents: 'DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at <= ? AND (last_at IS NULL OR last_at <= ?) LIMIT ?)',
  oneTimeViews: 'DELETE FROM one_time_views WHERE handle_hash IN (SELECT handle_hash FROM one_time_views WHERE expires_at <= ? LIMIT ?)',
  /** Params: the oldest last use kept (now - a device's lifetime), batch size. */
  devices: 'DELETE FROM devices WHERE id IN (SELECT id FROM devices WHERE last_used_at <= ? LIMIT ?)',
  passwordUnlocks: 'DELETE FROM password_unlocks WHERE token_hash IN (SELECT token_hash FROM password_unlocks WHERE expires_at <= ? LIMIT ?)',
} as const;

const USER_COLUMNS = {
  email: 'email',
  emailVerifiedAt: 'email_verified_at',
  phone: 'phone',
  phoneVerifiedAt: 'phone_verified_at',
  passwordHash: 'password_hash',
  disabled: 'disabled',
  preferredMethod: 'preferred_method',
} as const satisfies Record<keyof UserPatch, string>;

/** The UPDATE for the fields present in `patch`, and its params; null when there is nothing to set. */
export function updateUserStatement(id: string, patch: UserPatch): { sql: string; params: (string | number | null)[] } | null {
  const sets: string[] = [];
  const params: (string | number | null)[] = [];
  for (const key of Object.keys(USER_COLUMNS) as (keyof UserPatch)[]) {
    const value = patch[key];
    if (value === undefined) continue;
    sets.push(`${USER_COLUMNS[key]} = ?`);
    params.push(typeof value === 'boolean' ? (value ? 1 : 0) : value);
  }
  if (sets.length === 0) return null;
  params.push(id);
  return { sql: `UPDATE users SET ${sets.join(', ')} WHERE id = ?`, params };
}
