/** Accounts: sign-up, password change, the account overview, and the operator's actions. */
import type { FactorMethod, Session, TOTPFactor, User } from './ports.ts';
import type { AuthContext, ClientInfo } from './context.ts';
import type { IssuedSession } from './sessions.ts';
import { createSession, renewedAfterProof } from './sessions.ts';
import { normalizeEmail, normalizePhone, normalizeUsername } from './normalize.ts';
import { checkNewPassword } from './password-policy.ts';
import type { PasswordCheck } from './password-policy.ts';
import { hashPassword } from './password-hash.ts';
import { generateId } from './tokens.ts';
import { recordEvent } from './audit.ts';
import { reauthenticate } from './reauth.ts';
import { retryAfterSeconds, throttleKey } from './throttle.ts';
import { notify } from './notifications.ts';
import { liftStrangerLock } from './password-lock.ts';
import { sendEmailVerification } from './email.ts';

export interface NewAccount {
  username: string;
  password: string;
  email?: string | null;
  phone?: string | null;
}

export type CreateAccountResult =
  | { status: 'ok'; user: User }
  | { status: 'invalid_request'; message: string }
  | { status: 'weak_password'; message: string }
  | { status: 'username_taken' };

/** Validates and stores a new account (no session: the CLI's path, and sign-up's first half). */
export async function createAccount(ctx: AuthContext, input: NewAccount, client: ClientInfo | null): Promise<CreateAccountResult> {
  const username = normalizeUsername(input.username);
  if (!username.ok) return { status: 'invalid_request', message: username.reason };
  let email: string | null = null;
  if (input.email) {
    const e = normalizeEmail(input.email);
    if (!e.ok) return { status: 'invalid_request', message: e.reason };
    email = e.value;
  }
  let phone: string | null = null;
  if (input.phone) {
    const p = normalizePhone(input.phone);
    if (!p.ok) return { status: 'invalid_request', message: p.reason };
    phone = p.value;
  }
  const policy = await checkPassword(ctx, input.password, username.value);
  if (!policy.ok) return { status: 'weak_password', message: policy.reason };
  if (await ctx.store.getUserByUsername(username.value)) return { status: 'username_taken' };
  const user = await ctx.store.createUser({
    id: generateId(),
    username: username.value,
    email,
    phone,
    passwordHash: await hashPassword(input.password, ctx.argon2),
    createdAt: ctx.now(),
    // The operator vouches for the address (`user add --email`); a self-service one is proven by a code.
    emailVerifiedAt: email !== null && client === null ? ctx.now() : null,
  });
  if (!user) return { status: 'username_taken' };
  await recordEvent(ctx, 'signup', { userId: user.id, client, detail: { via: client ? 'signup' : 'operator' } });
  return { status: 'ok', user };
}

/**
 * The policy for a new password, then the breach corpus when one is configured. A lookup
 * that fails lets the password through (the bundled list was still checked): a service
 * outage must not stop sign-ups.
 */
async function checkPassword(ctx: AuthContext, password: string, username: string): Promise<PasswordCheck> {
  const policy = checkNewPassword(password, { username, serviceName: ctx.issuer });
  if (!policy.ok || !ctx.breachCheck) return policy;
  return (await ctx.breachCheck(password)) === true ? { ok: false, reason: BREACHED } : policy;
}

const BREACHED = 'This password has appeared in a data breach; choose another';

export type SignupResult =
  | Exclude<CreateAccountResult, { status: 'ok' }>
  | { status: 'signup_closed' }
  | { status: 'rate_limited'; retryAfter: number }
  | { status: 'ok'; user: User; session: IssuedSession; emailVerification: 'sent' | 'failed' | null };

/**
 * Self-service sign-up: the account and a password-only (level 1) session that can enroll a
 * factor. A given address is mailed a verification code and counts only once it is entered.
 */
export async function signup(ctx: AuthContext, input: NewAccount, client: ClientInfo): Promise<SignupResult> {
  if (ctx.signup !== 'open') return { status: 'signup_closed' };
  // Each sign-up costs a password hash and may send mail: bounded per address.
  const { ipSignups } = ctx.limits;
  const take = await ctx.store.takeToken(throttleKey.signup(client.ip), ctx.now(), ipSignups.capacity, ipSignups.refillMs);
  if (!take.ok) return { status: 'rate_limited', retryAfter: retryAfterSeconds(take.retryAfterMs) };
  const created = await createAccount(ctx, input, client);
  if (created.status !== 'ok') return created;
  const session = await createSession(ctx, created.user.id, 1, client);
  const email = created.user.email;
  const sent = email === null ? null : await sendEmailVerification(ctx, created.user.id, email, client);
  return { status: 'ok', user: created.user, session, emailVerification: sent === null ? null : sent.status === 'sent' ? 'sent' : 'failed' };
}

export type ChangePasswordResult = { status: 'ok'; revokedSessions: number; session?: IssuedSession } | { status: 'reauth_required'; retryAfter?: number } | { status: 'weak_password'; message: string };

/** Changes the password: needs the current one; every other session of the account ends, and this one gets a new id. */
export async function changePassword(ctx: AuthContext, session: Session, currentPassword: string, newPassword: string, client: ClientInfo): Promise<ChangePasswordResult> {
  const reauth = await reauthenticate(ctx, session, { password: currentPassword }, client);
  if (!reauth.ok) return reauth.retryAfter === undefined ? { status: 'reauth_required' } : { status: 'reauth_required', retryAfter: reauth.retryAfter };
  const user = await ctx.store.getUserById(session.userId);
  if (!user) return { status: 'reauth_required' };
  const policy = await checkPassword(ctx, newPassword, user.username);
  if (!policy.ok) return { status: 'weak_password', message: policy.reason };
  const revokedSessions = await ctx.store.updateUserAndEndSessions(user.id, { passwordHash: await hashPassword(newPassword, ctx.argon2) }, session.tokenHash);
  // Strangers' guesses were against the old password: the lock they built up goes with it.
  await liftStrangerLock(ctx, user);
  await recordEvent(ctx, 'password_changed', { userId: user.id, method: 'password', client, detail: { revoked_sessions: revokedSessions } });
  notify(ctx, user.id, { type: 'password_changed', revokedSessions }, client);
  // The session that changed it continues under a new id (SECURITY.md item 37).
  return { status: 'ok', revokedSessions, ...(await renewedAfterProof(ctx, session)) };
}

export interface AccountOverview {
  user: { id: string; username: string; email: string | null; emailVerified: boolean; phone: string | null; phoneVerified: boolean };
  /** An address waiting for its code (a new one, or the unverified one from sign-up). */
  emailPending: string | null;
  level: 1 | 2;
  factors: Array<{ id: string; type: FactorMethod; label: string; createdAt: number; lastUsedAt: number | null }>;
  recoveryCodesLeft: number;
  secondFactorsLocked: boolean;
}

/** What the account page and `GET /api/me` show: never a secret or a hash. */
export async function accountOverview(ctx: AuthContext, session: Session): Promise<AccountOverview | null> {
  const user = await ctx.store.getUserById(session.userId);
  if (!user) return null;
  const [totp, recoveryCodesLeft, otpFailures, emailVerification] = await Promise.all([
    ctx.store.listTOTPFactors(user.id),
    ctx.store.countRecoveryCodes(user.id),
    ctx.store.getAttemptCount(throttleKey.otp(user.id), ctx.now()),
    ctx.store.getEmailVerification(user.id),
  ]);
  // Email and SMS have no row of their own: their last use is the newest sign-in by them.
  const lastSignIn = (method: 'email' | 'sms'): Promise<number | null> => ctx.store.lastAuditAt(user.id, 'login_succeeded', method);
  const factors: AccountOverview['factors'] = totp
    .filter((f: TOTPFactor) => f.confirmedAt !== null)
    .map((f) => ({ id: f.id, type: 'totp' as const, label: f.label, createdAt: f.createdAt, lastUsedAt: f.lastUsedAt }));
  if (user.email && user.emailVerifiedAt !== null && ctx.factors.has('email')) factors.push({ id: 'email', type: 'email', label: user.email, createdAt: user.createdAt, lastUsedAt: await lastSignIn('email') });
  if (user.phone && user.phoneVerifiedAt !== null && ctx.factors.has('sms')) {
    factors.push({ id: 'sms', type: 'sms', label: user.phone, createdAt: user.phoneVerifiedAt, lastUsedAt: await lastSignIn('sms') });
  }
  const lockAt = ctx.limits.otp.lockAt;
  return {
    user: { id: user.id, username: user.username, email: user.email, emailVerified: user.emailVerifiedAt !== null, phone: user.phone, phoneVerified: user.phoneVerifiedAt !== null },
    emailPending: emailVerification?.email ?? (user.email !== null && user.emailVerifiedAt === null ? user.email : null),
    level: session.level,
    factors,
    recoveryCodesLeft,
    secondFactorsLocked: lockAt !== null && otpFailures >= lockAt,
  };
}

/** Operator: disable an account; all its sessions end at once. */
export async function disableAccount(ctx: AuthContext, userId: string): Promise<number> {
  const revoked = await ctx.store.updateUserAndEndSessions(userId, { disabled: true });
  await recordEvent(ctx, 'account_disabled', { userId, detail: { revoked_sessions: revoked } });
  return revoked;
}

export async function enableAccount(ctx: AuthContext, userId: string): Promise<void> {
  await ctx.store.updateUser(userId, { disabled: false });
  await recordEvent(ctx, 'account_enabled', { userId });
}

/** Operator: lift the second-factor lock, the password lock for strangers and the delays (SP 800-63B §3.2.2: rebinding or an administrator). */
export async function unlockAccount(ctx: AuthContext, user: User): Promise<void> {
  await Promise.all([
    ctx.store.resetAttempts(throttleKey.otp(user.id)),
    ctx.store.resetAttempts(throttleKey.recovery(user.id)),
    ctx.store.resetAttempts(throttleKey.knownDevice(user.id)),
    liftStrangerLock(ctx, user), // the username's password counter too
  ]);
  await recordEvent(ctx, 'unlocked', { userId: user.id });
}

/** Operator: remove every second factor; the next login asks to enroll again. Sessions end. */
export async function resetSecondFactors(ctx: AuthContext, user: User): Promise<void> {
  await ctx.store.resetSecondFactors(user.id);
  await unlockAccount(ctx, user);
  await recordEvent(ctx, 'second_factors_reset', { userId: user.id });
}
