/**
 * The two-step login: `startLogin` checks the password and opens a pending login,
 * `sendLoginCode` sends an email/SMS code, `verifyLogin` checks the second factor and
 * turns the pending login into a session. The pending login lives only in the Store
 * (I3); the client holds a 256-bit id of which the Store keeps a hash.
 */
import type { DeliveryChannel, FactorMethod, PendingLogin, User } from './ports.ts';
import type { AuthContext, ClientInfo } from './context.ts';
import type { IssuedSession } from './sessions.ts';
import { createSession } from './sessions.ts';
import { normalizeUsername } from './normalize.ts';
import { needsRehash, hashPassword, verifyPassword } from './password-hash.ts';
import { generateNumericCode, generateToken, hashToken, keyedHash } from './tokens.ts';
import { accountFactors, defaultChannel, isChannel, loginMethods } from './methods.ts';
import { retryAfterSeconds, throttleKey } from './throttle.ts';
import { recordEvent } from './audit.ts';
import { loginCodeMessage } from './messages.ts';
import { checkTOTPCode, useRecoveryCode } from './second-factor.ts';
import { notify } from './notifications.ts';

export type StartResult =
  | { status: 'otp_required'; pendingLoginId: string; methods: FactorMethod[]; sent?: DeliveryChannel; deliveryFailed?: DeliveryChannel }
  | { status: 'enrollment_required'; session: IssuedSession }
  | { status: 'invalid_credentials' }
  | { status: 'rate_limited'; retryAfter: number };

export type SendResult =
  | { status: 'sent'; channel: DeliveryChannel; expiresIn: number; resendAfter: number }
  | { status: 'login_expired' }
  | { status: 'method_unavailable' }
  | { status: 'delivery_failed' }
  | { status: 'rate_limited'; retryAfter: number };

export type VerifyResult =
  | { status: 'authenticated'; session: IssuedSession; method: FactorMethod; recoveryCodesLeft?: number }
  | { status: 'invalid_code'; attemptsLeft: number; driftSeconds?: number }
  | { status: 'code_expired'; attemptsLeft: number }
  | { status: 'login_expired' }
  | { status: 'method_unavailable' }
  | { status: 'too_many_attempts'; retryAfter: number | null; locked: boolean };

/** Step one: the password. Unknown usernames take the same path and time as wrong passwords (I11). */
export async function startLogin(ctx: AuthContext, username: string, password: string, client: ClientInfo): Promise<StartResult> {
  const now = ctx.now();
  const ipTake = await ctx.store.takeToken(throttleKey.ipPasswords(client.ip), now, ctx.limits.ipPasswords.capacity, ctx.limits.ipPasswords.refillMs);
  if (!ipTake.ok) {
    await recordEvent(ctx, 'throttled', { userId: null, method: 'password', client, detail: { rule: 'address' } });
    return { status: 'rate_limited', retryAfter: retryAfterSeconds(ipTake.retryAfterMs) };
  }
  const normalized = normalizeUsername(username);
  // The per-username counter is keyed on the name, existing or not, so its answers tell nothing.
  const name = normalized.ok ? normalized.value : username.slice(0, 64);
  const claim = await ctx.store.claimAttempt(throttleKey.password(name), now, ctx.limits.password);
  if (!claim.ok) {
    await recordEvent(ctx, 'throttled', { userId: null, method: 'password', client, detail: { rule: 'username' } });
    return { status: 'rate_limited', retryAfter: retryAfterSeconds(claim.retryAfterMs) };
  }
  const user = normalized.ok ? await ctx.store.getUserByUsername(normalized.value) : null;
  const matches = await verifyPassword(user?.passwordHash ?? (await ctx.dummyHash), password);
  if (!user || !matches || user.disabled) {
    await recordEvent(ctx, 'password_refused', { userId: user?.id ?? null, method: 'password', client, detail: { reason: !user ? 'unknown_user' : user.disabled && matches ? 'disabled' : 'wrong_password' } });
    return { status: 'invalid_credentials' };
  }
  await ctx.store.resetAttempts(throttleKey.password(name));
  if (needsRehash(user.passwordHash, ctx.argon2)) {
    await ctx.store.updateUser(user.id, { passwordHash: await hashPassword(password, ctx.argon2) });
  }
  await recordEvent(ctx, 'password_accepted', { userId: user.id, method: 'password', client });

  const methods = loginMethods(ctx, await accountFactors(ctx, user));
  if (methods.length === 0) {
    return { status: 'enrollment_required', session: await createSession(ctx, user.id, 1, client) };
  }
  const pendingLoginId = generateToken();
  const pending: PendingLogin = {
    idHash: hashToken(pendingLoginId),
    userId: user.id,
    methods,
    attempts: 0,
    sends: 0,
    lastSentAt: null,
    codeHash: null,
    codeChannel: null,
    codeExpiresAt: null,
    ip: client.ip,
    userAgent: client.userAgent.slice(0, 256),
    createdAt: now,
    expiresAt: now + ctx.loginTTLMs,
  };
  await ctx.store.createPendingLogin(pending);
  const channel = defaultChannel(user, methods);
  if (channel) {
    const sent = await deliverCode(ctx, pending, user, channel, client);
    if (sent.status === 'sent') return { status: 'otp_required', pendingLoginId, methods, sent: channel };
    if (sent.status === 'delivery_failed') return { status: 'otp_required', pendingLoginId, methods, deliveryFailed: channel };
  }
  return { status: 'otp_required', pendingLoginId, methods };
}

export interface PendingLoginView {
  methods: FactorMethod[];
  /** The channel of the live (sent, unexpired) code, if any. */
  sent: DeliveryChannel | null;
  /** Seconds until another code may be sent (0: now). */
  resendAfter: number;
  /** Seconds until the pending login closes. */
  expiresIn: number;
}

/** What the code page shows for a pending login; a read only. Null when it is gone or expired. */
export async function describePendingLogin(ctx: AuthContext, pendingLoginId: string): Promise<PendingLoginView | null> {
  const now = ctx.now();
  const pending = await ctx.store.getPendingLogin(hashToken(pendingLoginId), now);
  if (!pending) return null;
  const live = pending.codeHash !== null && pending.codeExpiresAt !== null && now < pending.codeExpiresAt;
  const cooldownLeft = pending.lastSentAt === null ? 0 : pending.lastSentAt + ctx.limits.resendCooldownMs - now;
  return {
    methods: [...pending.methods],
    sent: live ? pending.codeChannel : null,
    resendAfter: cooldownLeft > 0 ? retryAfterSeconds(cooldownLeft) : 0,
    expiresIn: retryAfterSeconds(pending.expiresAt - now),
  };
}

/** Sends (or re-sends, voiding the previous code) an email/SMS code for a pending login. */
export async function sendLoginCode(ctx: AuthContext, pendingLoginId: string, channel: DeliveryChannel, client: ClientInfo): Promise<SendResult> {
  const pending = await ctx.store.getPendingLogin(hashToken(pendingLoginId), ctx.now());
  if (!pending) return { status: 'login_expired' };
  if (!pending.methods.includes(channel)) return { status: 'method_unavailable' };
  const user = await ctx.store.getUserById(pending.userId);
  if (!user || user.disabled) return { status: 'login_expired' };
  return deliverCode(ctx, pending, user, channel, client);
}

async function deliverCode(ctx: AuthContext, pending: PendingLogin, user: User, channel: DeliveryChannel, client: ClientInfo): Promise<SendResult> {
  const now = ctx.now();
  const { limits } = ctx;
  // Cheap pre-check so a resend inside the cooldown spends no send tokens; the Store re-checks atomically.
  if (pending.lastSentAt !== null && now - pending.lastSentAt < limits.resendCooldownMs) {
    return { status: 'rate_limited', retryAfter: retryAfterSeconds(pending.lastSentAt + limits.resendCooldownMs - now) };
  }
  if (pending.sends >= limits.sendsPerLogin) return { status: 'rate_limited', retryAfter: retryAfterSeconds(pending.expiresAt - now) };
  for (const [key, bucket] of [[throttleKey.ipSends(client.ip), limits.ipSends], [throttleKey.accountSends(user.id), limits.accountSends]] as const) {
    const take = await ctx.store.takeToken(key, now, bucket.capacity, bucket.refillMs);
    if (!take.ok) {
      await recordEvent(ctx, 'throttled', { userId: user.id, method: channel, client, detail: { rule: key.startsWith('ip') ? 'address_sends' : 'account_sends' } });
      return { status: 'rate_limited', retryAfter: retryAfterSeconds(take.retryAfterMs) };
    }
  }
  const code = generateNumericCode(6); // ≈20 bits, CSPRNG (SP 800-63B §3.1.3.2)
  const stored = await ctx.store.setPendingCode(pending.idHash, {
    codeHash: loginCodeHash(ctx, pending.idHash, code),
    channel,
    codeExpiresAt: now + ctx.codeTTLMs,
    now,
    cooldownMs: limits.resendCooldownMs,
    maxSends: limits.sendsPerLogin,
  });
  if (!stored.ok) {
    return stored.reason === 'login_expired' ? { status: 'login_expired' } : { status: 'rate_limited', retryAfter: retryAfterSeconds(stored.retryAfterMs) };
  }
  const to = channel === 'email' ? user.email : user.phone;
  try {
    if (!to || !ctx.sender.supports(channel)) throw new Error(`No ${channel} sender or address`);
    await ctx.sender.send(loginCodeMessage({ channel, to, code, issuer: ctx.issuer, ttlMinutes: Math.round(ctx.codeTTLMs / 60_000), ip: client.ip }));
  } catch (error) {
    ctx.onDeliveryError(error, channel);
    await recordEvent(ctx, 'delivery_failed', { userId: user.id, method: channel, client });
    return { status: 'delivery_failed' };
  }
  await recordEvent(ctx, 'code_sent', { userId: user.id, method: channel, client, detail: { sends: stored.sends } });
  return { status: 'sent', channel, expiresIn: Math.round(ctx.codeTTLMs / 1000), resendAfter: Math.round(limits.resendCooldownMs / 1000) };
}

/** The stored form of a login code: keyed and bound to its pending login, so a code from login A fails in B. */
function loginCodeHash(ctx: AuthContext, pendingIdHash: string, code: string): string {
  return keyedHash(ctx.keyring.codeKey, `login-code:${pendingIdHash}`, code);
}

/** Step two: the code. Each attempt is counted before the code is looked at (I4, I5). */
export async function verifyLogin(ctx: AuthContext, pendingLoginId: string, method: FactorMethod, code: string, client: ClientInfo): Promise<VerifyResult> {
  const now = ctx.now();
  const idHash = hashToken(pendingLoginId);
  const pending = await ctx.store.getPendingLogin(idHash, now);
  if (!pending) return { status: 'login_expired' };
  if (!pending.methods.includes(method)) return { status: 'method_unavailable' };
  const userId = pending.userId;

  const accountKey = method === 'recovery' ? throttleKey.recovery(userId) : throttleKey.otp(userId);
  const claim = await ctx.store.claimAttempt(accountKey, now, method === 'recovery' ? ctx.limits.recovery : ctx.limits.otp);
  if (!claim.ok) {
    await recordEvent(ctx, 'throttled', { userId, method, client, detail: { rule: claim.locked ? 'locked' : 'delay' } });
    return { status: 'too_many_attempts', retryAfter: claim.locked ? null : retryAfterSeconds(claim.retryAfterMs), locked: claim.locked };
  }
  const attempt = await ctx.store.claimPendingAttempt(idHash, now, ctx.limits.pendingAttempts);
  if (attempt === null) return { status: 'login_expired' };
  const attemptsLeft = ctx.limits.pendingAttempts - attempt;

  let outcome: { ok: true; recoveryCodesLeft?: number } | { ok: false; reason: 'invalid_code' | 'code_expired'; driftSeconds?: number };
  if (method === 'totp') {
    const checked = await checkTOTPCode(ctx, userId, code, now);
    outcome = checked.ok ? { ok: true } : { ok: false, reason: 'invalid_code', ...(checked.driftSeconds !== undefined ? { driftSeconds: checked.driftSeconds } : {}) };
  } else if (method === 'recovery') {
    const used = await useRecoveryCode(ctx, userId, code, now);
    outcome = used.ok ? { ok: true, recoveryCodesLeft: used.left } : { ok: false, reason: 'invalid_code' };
  } else if (isChannel(method)) {
    const digits = code.replace(/[\s\u00a0-]/g, '');
    const result = /^\d{6}$/.test(digits) ? await ctx.store.consumePendingCode(idHash, method, loginCodeHash(ctx, idHash, digits), now) : 'mismatch';
    outcome = result === 'ok' ? { ok: true } : { ok: false, reason: result === 'expired' ? 'code_expired' : 'invalid_code' };
  } else {
    return { status: 'method_unavailable' };
  }

  if (!outcome.ok) {
    if (attemptsLeft <= 0) await ctx.store.deletePendingLogin(idHash);
    // Once per pending login, at its first failure: the password was right (ASVS 6.3.5).
    if (attempt === 1) notify(ctx, userId, { type: 'second_factor_failed', method }, client);
    await recordEvent(ctx, 'code_refused', { userId, method, client, detail: { reason: outcome.reason, failures: claim.count, ...(outcome.driftSeconds !== undefined ? { drift_seconds: outcome.driftSeconds } : {}) } });
    const policy = method === 'recovery' ? ctx.limits.recovery : ctx.limits.otp;
    if (policy.lockAt !== null && claim.count >= policy.lockAt) {
      await recordEvent(ctx, 'locked', { userId, method, client, detail: { failures: claim.count } });
    }
    if (outcome.reason === 'code_expired') return { status: 'code_expired', attemptsLeft };
    return { status: 'invalid_code', attemptsLeft, ...(outcome.driftSeconds !== undefined ? { driftSeconds: outcome.driftSeconds } : {}) };
  }

  // The code was right: finish only if this request is the one that consumes the pending login.
  const consumed = await ctx.store.consumePendingLogin(idHash, now);
  if (!consumed) return { status: 'login_expired' };
  await Promise.all([ctx.store.resetAttempts(throttleKey.otp(userId)), ctx.store.resetAttempts(throttleKey.recovery(userId))]);
  const session = await createSession(ctx, userId, 2, client);
  await recordEvent(ctx, 'login_succeeded', { userId, method, client });
  if (method === 'recovery') {
    await recordEvent(ctx, 'recovery_code_used', { userId, method, client, detail: { left: outcome.recoveryCodesLeft ?? 0 } });
    notify(ctx, userId, { type: 'recovery_code_used', left: outcome.recoveryCodesLeft ?? 0 }, client);
    return { status: 'authenticated', session, method, recoveryCodesLeft: outcome.recoveryCodesLeft ?? 0 };
  }
  notify(ctx, userId, { type: 'new_sign_in', method }, client);
  return { status: 'authenticated', session, method };
}
