/**
 * Every statement the Store runs, shared by the drivers (lucia v3 style: the SQL here,
 * each driver thin). Placeholders are positional `?`; a driver whose database numbers
 * them (`$1`, PostgreSQL) rewrites them in order — no statement has `?` in a literal.
 *
 * Each statement that guards a secret is one atomic UPDATE/DELETE whose WHERE clause
 * is the check (I4): the caller looks only at how many rows changed or came back.
 */
import type { UserPatch } from '../auth/ports.ts';

const USER = 'id, username, email, phone, phone_verified_at, password_hash, disabled, preferred_method, created_at';
const TOTP = 'id, user_id, label, encrypted_secret, key_id, confirmed_at, last_step, created_at, last_used_at';
const PENDING = 'id_hash, user_id, methods, attempts, sends, last_sent_at, code_hash, code_channel, code_expires_at, ip, user_agent, created_at, expires_at';
const SESSION = 'token_hash, id, user_id, level, ip, user_agent, created_at, last_seen_at, expires_at';
const AUDIT = 'id, at, user_id, type, method, ip, user_agent, detail';

export const SQL = {
  insertUser: `INSERT INTO users (${USER}) VALUES (?, ?, ?, ?, NULL, ?, 0, NULL, ?) RETURNING ${USER}`,
  selectUserById: `SELECT ${USER} FROM users WHERE id = ?`,
  selectUserByUsername: `SELECT ${USER} FROM users WHERE username = ?`,
  listUsers: `SELECT ${USER} FROM users ORDER BY username`,
  clearPhoneVerified: 'UPDATE users SET phone_verified_at = NULL WHERE id = ?',

  insertTOTPFactor: `INSERT INTO totp_factors (${TOTP}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  selectTOTPFactor: `SELECT ${TOTP} FROM totp_factors WHERE user_id = ? AND id = ?`,
  listTOTPFactors: `SELECT ${TOTP} FROM totp_factors WHERE user_id = ? ORDER BY created_at, id`,
  // RFC 6238 §5.2: a step is accepted once, and only when later than the last accepted one.
  acceptTOTPStep: 'UPDATE totp_factors SET last_step = ?, last_used_at = ? WHERE id = ? AND (last_step IS NULL OR last_step < ?)',
  acceptTOTPStepAndConfirm:
    'UPDATE totp_factors SET last_step = ?, last_used_at = ?, confirmed_at = COALESCE(confirmed_at, ?) WHERE id = ? AND (last_step IS NULL OR last_step < ?)',
  deleteTOTPFactor: 'DELETE FROM totp_factors WHERE user_id = ? AND id = ?',
  deleteUserTOTPFactors: 'DELETE FROM totp_factors WHERE user_id = ?',

  deleteUserRecoveryCodes: 'DELETE FROM recovery_codes WHERE user_id = ?',
  insertRecoveryCode: 'INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at) VALUES (?, ?, ?, NULL)',
  useRecoveryCode: 'UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL',
  countRecoveryCodes: 'SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL',

  upsertPhoneVerification: `INSERT INTO phone_verifications (user_id, phone, code_hash, expires_at, attempts) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (user_id) DO UPDATE SET phone = excluded.phone, code_hash = excluded.code_hash, expires_at = excluded.expires_at, attempts = excluded.attempts`,
  selectPhoneVerification: 'SELECT user_id, phone, code_hash, expires_at, attempts FROM phone_verifications WHERE user_id = ?',
  recordPhoneVerificationFailure: 'UPDATE phone_verifications SET attempts = attempts + 1 WHERE user_id = ? RETURNING attempts',
  deletePhoneVerification: 'DELETE FROM phone_verifications WHERE user_id = ?',

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

  insertSession: `INSERT INTO sessions (${SESSION}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  selectSession: `SELECT ${SESSION} FROM sessions WHERE token_hash = ?`,
  touchSession: 'UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?',
  deleteSession: 'DELETE FROM sessions WHERE token_hash = ?',
  deleteSessionById: 'DELETE FROM sessions WHERE user_id = ? AND id = ?',
  deleteUserSessions: 'DELETE FROM sessions WHERE user_id = ?',
  deleteUserSessionsExcept: 'DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?',
  listSessions: `SELECT ${SESSION} FROM sessions WHERE user_id = ? ORDER BY last_seen_at DESC, id`,

  // Read and written back inside one write transaction (see rules.ts).
  selectAttempt: 'SELECT count, next_at, forget_at FROM attempt_counters WHERE key = ?',
  upsertAttempt: `INSERT INTO attempt_counters (key, count, next_at, forget_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET count = excluded.count, next_at = excluded.next_at, forget_at = excluded.forget_at`,
  deleteAttempt: 'DELETE FROM attempt_counters WHERE key = ?',
  selectBucket: 'SELECT tokens, refilled_at, full_at FROM token_buckets WHERE key = ?',
  upsertBucket: `INSERT INTO token_buckets (key, tokens, refilled_at, full_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, refilled_at = excluded.refilled_at, full_at = excluded.full_at`,

  insertAudit: 'INSERT INTO audit_events (at, user_id, type, method, ip, user_agent, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
  listAudit: `SELECT ${AUDIT} FROM audit_events ORDER BY id DESC LIMIT ?`,
  listUserAudit: `SELECT ${AUDIT} FROM audit_events WHERE user_id = ? ORDER BY id DESC LIMIT ?`,
  // Groups (forward-auth gate)
  listUserGroups: 'SELECT name FROM user_groups WHERE user_id = ? ORDER BY name',
  addUserGroup: 'INSERT INTO user_groups (user_id, name) VALUES (?, ?) ON CONFLICT (user_id, name) DO NOTHING',
  removeUserGroup: 'DELETE FROM user_groups WHERE user_id = ? AND name = ?',

  lastUserAuditAt: 'SELECT at FROM audit_events WHERE user_id = ? AND type = ? AND method IS ? ORDER BY id DESC LIMIT 1',
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
  attemptCounters: 'DELETE FROM attempt_counters WHERE key IN (SELECT key FROM attempt_counters WHERE forget_at <= ? LIMIT ?)',
  tokenBuckets: 'DELETE FROM token_buckets WHERE key IN (SELECT key FROM token_buckets WHERE full_at <= ? LIMIT ?)',
} as const;

const USER_COLUMNS = {
  email: 'email',
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
