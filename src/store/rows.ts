/**
 * Typed objects from database rows, shared by every driver. A row is a plain record
 * of column values; integers may come back as number, bigint or (pg BIGINT) string.
 * A value of an unexpected type throws: the schema and the code disagree.
 */
import type { AuditEvent, DeliveryChannel, Device, EmailVerification, FactorMethod, OneTimeView, PendingLogin, PhoneVerification, Session, SessionWithAccount, StoredAuditEvent, TOTPFactor, User } from '../auth/ports.ts';
import type { AttemptRow, BucketRow } from './rules.ts';

export type Row = Readonly<Record<string, unknown>>;

const FACTOR_METHODS: readonly string[] = ['totp', 'email', 'sms', 'recovery'] satisfies FactorMethod[];
const CHANNELS: readonly string[] = ['email', 'sms'] satisfies DeliveryChannel[];

function fail(column: string, value: unknown): never {
  throw new TypeError(`Unexpected value in column ${column}: ${typeof value}`);
}

export function num(row: Row, column: string): number {
  const value = row[column];
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return fail(column, value);
}

export function numOrNull(row: Row, column: string): number | null {
  return row[column] === null ? null : num(row, column);
}

export function str(row: Row, column: string): string {
  const value = row[column];
  return typeof value === 'string' ? value : fail(column, value);
}

export function strOrNull(row: Row, column: string): string | null {
  return row[column] === null ? null : str(row, column);
}

function isFactorMethod(value: string): value is FactorMethod {
  return FACTOR_METHODS.includes(value);
}

function isChannel(value: string): value is DeliveryChannel {
  return CHANNELS.includes(value);
}

function method(row: Row, column: string): FactorMethod | null {
  const value = strOrNull(row, column);
  if (value === null) return null;
  return isFactorMethod(value) ? value : fail(column, value);
}

function channel(row: Row, column: string): DeliveryChannel | null {
  const value = strOrNull(row, column);
  if (value === null) return null;
  return isChannel(value) ? value : fail(column, value);
}

function methods(row: Row, column: string): FactorMethod[] {
  const parsed: unknown = JSON.parse(str(row, column));
  if (!Array.isArray(parsed)) return fail(column, parsed);
  return parsed.map((m: unknown) => (typeof m === 'string' && isFactorMethod(m) ? m : fail(column, m)));
}

export function toUser(row: Row): User {
  return {
    id: str(row, 'id'),
    username: str(row, 'username'),
    email: strOrNull(row, 'email'),
    phone: strOrNull(row, 'phone'),
    phoneVerifiedAt: numOrNull(row, 'phone_verified_at'),
    emailVerifiedAt: numOrNull(row, 'email_verified_at'),
    passwordHash: str(row, 'password_hash'),
    disabled: num(row, 'disabled') !== 0,
    preferredMethod: method(row, 'preferred_method'),
    createdAt: num(row, 'created_at'),
    credentialVersion: num(row, 'credential_version'),
  };
}

export function toDevice(row: Row): Device {
  return {
    id: str(row, 'id'),
    tokenHash: str(row, 'token_hash'),
    userId: str(row, 'user_id'),
    ip: str(row, 'ip'),
    userAgent: str(row, 'user_agent'),
    createdAt: num(row, 'created_at'),
    lastUsedAt: num(row, 'last_used_at'),
  };
}

export function toTOTPFactor(row: Row): TOTPFactor {
  return {
    id: str(row, 'id'),
    userId: str(row, 'user_id'),
    label: str(row, 'label'),
    encryptedSecret: str(row, 'encrypted_secret'),
    keyId: str(row, 'key_id'),
    confirmedAt: numOrNull(row, 'confirmed_at'),
    lastStep: numOrNull(row, 'last_step'),
    createdAt: num(row, 'created_at'),
    lastUsedAt: numOrNull(row, 'last_used_at'),
  };
}

export function toPhoneVerification(row: Row): PhoneVerification {
  return {
    userId: str(row, 'user_id'),
    phone: str(row, 'phone'),
    codeHash: str(row, 'code_hash'),
    expiresAt: num(row, 'expires_at'),
    attempts: num(row, 'attempts'),
  };
}

export function toEmailVerification(row: Row): EmailVerification {
  return {
    userId: str(row, 'user_id'),
    email: str(row, 'email'),
    codeHash: str(row, 'code_hash'),
    expiresAt: num(row, 'expires_at'),
    attempts: num(row, 'attempts'),
  };
}

export function toPendingLogin(row: Row): PendingLogin {
  return {
    idHash: str(row, 'id_hash'),
    userId: str(row, 'user_id'),
    methods: methods(row, 'methods'),
    attempts: num(row, 'attempts'),
    sends: num(row, 'sends'),
    lastSentAt: numOrNull(row, 'last_sent_at'),
    codeHash: strOrNull(row, 'code_hash'),
    codeChannel: channel(row, 'code_channel'),
    codeExpiresAt: numOrNull(row, 'code_expires_at'),
    ip: str(row, 'ip'),
    userAgent: str(row, 'user_agent'),
    createdAt: num(row, 'created_at'),
    expiresAt: num(row, 'expires_at'),
  };
}

export function toSession(row: Row): Session {
  const level = num(row, 'level');
  const method = toMethodOrNull(strOrNull(row, 'method'));
  return {
    tokenHash: str(row, 'token_hash'),
    id: str(row, 'id'),
    userId: str(row, 'user_id'),
    level: level === 1 || level === 2 ? level : fail('level', level),
    ip: str(row, 'ip'),
    userAgent: str(row, 'user_agent'),
    createdAt: num(row, 'created_at'),
    lastSeenAt: num(row, 'last_seen_at'),
    expiresAt: num(row, 'expires_at'),
    ...(method === null ? {} : { method }),
  };
}

function toMethodOrNull(value: string | null): FactorMethod | null {
  if (value === null) return null;
  return isFactorMethod(value) ? value : fail('method', value);
}

/** A row of SQL.selectSessionWithAccount. */
export function toSessionWithAccount(row: Row): SessionWithAccount {
  const username = strOrNull(row, 'username');
  const groups: unknown = JSON.parse(str(row, 'groups'));
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) return fail('groups', groups);
  return {
    session: toSession(row),
    user: username === null ? null : { username, email: strOrNull(row, 'email'), emailVerifiedAt: numOrNull(row, 'email_verified_at'), disabled: num(row, 'disabled') !== 0 },
    groups,
  };
}

function auditDetail(row: Row, column: string): AuditEvent['detail'] {
  const text = strOrNull(row, column);
  if (text === null) return null;
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail(column, parsed);
  const detail: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') detail[key] = value;
    else fail(column, value);
  }
  return detail;
}

export function toOneTimeView(row: Row): OneTimeView {
  return {
    handleHash: str(row, 'handle_hash'),
    userId: str(row, 'user_id'),
    sessionId: str(row, 'session_id'),
    kind: str(row, 'kind'),
    sealed: str(row, 'sealed'),
    keyId: str(row, 'key_id'),
    expiresAt: num(row, 'expires_at'),
  };
}

export function toStoredAuditEvent(row: Row): StoredAuditEvent {
  const m = strOrNull(row, 'method');
  return {
    id: num(row, 'id'),
    at: num(row, 'at'),
    userId: strOrNull(row, 'user_id'),
    type: str(row, 'type'),
    method: m === null || m === 'password' ? m : method(row, 'method'),
    ip: strOrNull(row, 'ip'),
    userAgent: strOrNull(row, 'user_agent'),
    detail: auditDetail(row, 'detail'),
    // Only a counted refusal (last_at set) says how many events it stands for.
    ...countOf(row),
  };
}

function countOf(row: Row): { count: number; lastAt: number } | Record<string, never> {
  const lastAt = numOrNull(row, 'last_at');
  return lastAt === null ? {} : { count: num(row, 'count'), lastAt };
}

export function toAttemptRow(row: Row): AttemptRow {
  return { count: num(row, 'count'), nextAt: num(row, 'next_at'), forgetAt: numOrNull(row, 'forget_at') };
}

export function toBucketRow(row: Row): BucketRow {
  return { tokens: num(row, 'tokens'), refilledAt: num(row, 'refilled_at'), fullAt: num(row, 'full_at') };
}
