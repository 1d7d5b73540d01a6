/**
 * The two-step login: `startLogin` checks the password and opens a pending login,
 * `sendLoginCode` sends an email/SMS code, `verifyLogin` checks the second factor and
 * turns the pending login into a session. The pending login lives only in the Store
 * (I3); the client holds a 256-bit id of which the Store keeps a hash.
 */
import type { CompletionProof, DeliveryChannel, FactorMethod, PendingLogin, User } from './ports.ts';
import type { AuthContext, ClientInfo } from './context.ts';
import type { IssuedSession } from './sessions.ts';
import { newSession } from './sessions.ts';
import { normalizeUsername } from './normalize.ts';
import { needsRehash, hashPassword, verifyPassword } from './password-hash.ts';
import { generateNumericCode, generateToken, hashToken, keyedHash, safeEqual } from './tokens.ts';
import { recognizeDevice, rememberDevice } from './devices.ts';
import { engageStrangerLock } from './password-lock.ts';
import { accountFactors, defaultChannel, enrollmentProofMethods, loginMethods } from './methods.ts';
import { retryAfterSeconds, throttleKey } from './throttle.ts';
import { auditEvent, recordEvent } from './audit.ts';
import { claimSMSSend } from './sms-policy.ts';
import { loginCodeMessage } from './messages.ts';
import { matchTOTPCode, recoveryCodeHash, recoveryCodeKeyId, requireSecretKeys } from './second-factor.ts';
import { canonicalRecoveryCode } from './recovery-codes.ts';
import { normalizeCode } from '../otp/index.ts';
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
  | { status: 'authenticated'; session: IssuedSession; method: FactorMethod; recoveryCodesLeft?: number; deviceToken: string }
  /** The code proved a factor that no longer counts (OTPGATE_FACTORS changed): a level-1 session to enroll one that does. */
  | { status: 'enrollment_required'; session: IssuedSession }
  | { status: 'invalid_code'; attemptsLeft: number; driftSeconds?: number }
  | { status: 'code_expired'; attemptsLeft: number }
  | { status: 'login_expired' }
  | { status: 'method_unavailable' }
  | { status: 'too_many_attempts'; retryAfter: number | null; locked: boolean };

/**
 * Step one: the password. Unknown usernames take the same path and time as wrong
 * passwords (I11). Writes: one transaction to count the attempt, one to open the
 * pending login (plus the code send, when the account's default method is email or SMS).
 * The user, with its credential version, is read before the hash; the write re-checks
 * both, so a disable, password change or 2FA reset landing meanwhile opens nothing.
 */
export async function startLogin(ctx: AuthContext, username: string, password: string, client: ClientInfo, deviceToken?: string): Promise<StartResult> {
  const now = ctx.now();
  const normalized = normalizeUsername(username, { forLookup: true });
  const user = normalized.ok ? await ctx.store.getUserByUsername(normalized.value) : null;
  // The per-username counter is keyed on the name, existing or not, so its answers tell
  // nothing; a browser that signed in to this account before counts on its own counter,
  // which never locks (password-lock.ts).
  const name = normalized.ok ? normalized.value : username.slice(0, 64);
  // Looked up for unknown names too, so a presented cookie costs the same either way.
  const device = await recognizeDevice(ctx, user?.id ?? '', deviceToken);
  const knownDevice = user !== null && device !== null;
  const nameKey = knownDevice ? throttleKey.knownDevice(user.id) : throttleKey.password(name);
  const policy = knownDevice ? { ...ctx.limits.password, lockAt: null } : ctx.limits.password;
  const { ipPasswords } = ctx.limits;
  const attempt = await ctx.store.beginPasswordAttempt({
    now, ipKey: throttleKey.ipPasswords(client.ip), ipCapacity: ipPasswords.capacity, ipRefillMs: ipPasswords.refillMs, nameKey, policy,
  });
  if (!attempt.ok) {
    const locked = attempt.locked === true;
    await recordEvent(ctx, 'throttled', { userId: null, method: 'password', client, detail: { rule: locked ? 'locked' : attempt.rule } });
    // A lock answers like the longest delay: waiting is what a stranger can do, and it says no more.
    return { status: 'rate_limited', retryAfter: retryAfterSeconds(locked ? policy.maxDelayMs : attempt.retryAfterMs) };
  }
  const matches = await verifyPassword(user?.passwordHash ?? (await ctx.dummyHash), password);
  if (!user || !matches || user.disabled) {
    await recordEvent(ctx, 'password_refused', { userId: user?.id ?? null, method: 'password', client, detail: { reason: !user ? 'unknown_user' : user.disabled && matches ? 'disabled' : 'wrong_password' } });
    // Exactly one failure reaches the lock (the claims are counted one after another).
    if (policy.lockAt !== null && attempt.count === policy.lockAt) await engageStrangerLock(ctx, user, client);
    return { status: 'invalid_credentials' };
  }
  const rehash = needsRehash(user.passwordHash, ctx.argon2) ? await hashPassword(password, ctx.argon2) : null;
  const expect = { userId: user.id, credentialVersion: user.credentialVersion };
  const accepted = auditEvent(ctx, 'password_accepted', { userId: user.id, method: 'password', client });
  let methods = loginMethods(ctx, await accountFactors(ctx, user));
  // An account whose only factor no longer counts proves it still holds it before it may
  // enroll another: the password alone never opens enrollment for it (issue 12, finding 4).
  if (methods.length === 0) methods = enrollmentProofMethods(ctx, user);
  if (methods.length === 0) {
    const issued = newSession(ctx, user.id, 1, client);
    if (!(await ctx.store.recordPasswordSuccess({ resetKey: nameKey, pending: null, session: issued.session, events: [accepted], expect, rehash }))) return changedMeanwhile(ctx, user, client);
    return { status: 'enrollment_required', session: issued };
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
  if (!(await ctx.store.recordPasswordSuccess({ resetKey: nameKey, pending, events: [accepted], expect, rehash }))) return changedMeanwhile(ctx, user, client);
  const channel = defaultChannel(user, methods);
  if (channel) {
    const sent = await deliverCode(ctx, pending, user, channel, client);
    if (sent.status === 'sent') return { status: 'otp_required', pendingLoginId, methods, sent: channel };
    if (sent.status === 'delivery_failed') return { status: 'otp_required', pendingLoginId, methods, deliveryFailed: channel };
  }
  return { status: 'otp_required', pendingLoginId, methods };
}

/** The account was disabled, or its password or factors changed, while the password was checked. */
async function changedMeanwhile(ctx: AuthContext, user: User, client: ClientInfo): Promise<StartResult> {
  await recordEvent(ctx, 'password_refused', { userId: user.id, method: 'password', client, detail: { reason: 'account_changed' } });
  return { status: 'invalid_credentials' };
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
  // Every SMS passes the number policy and the server-wide hourly cap (sms-policy.ts).
  if (channel === 'sms' && user.phone) {
    if (!(await claimSMSSend(ctx, { userId: user.id, to: user.phone, client, purpose: 'login' }))) return { status: 'delivery_failed' };
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
  // Sign-in codes go only to a proven address (issue 12, finding 11).
  const to = channel === 'email' ? (user.emailVerifiedAt !== null ? user.email : null) : user.phone;
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
function loginCodeHash(ctx: AuthContext, pendingIdHash: string, code: string, codeKey: Buffer = ctx.keyring.codeKey): string {
  return keyedHash(codeKey, `login-code:${pendingIdHash}`, code);
}

/**
 * The hash to present for a typed login code. A code sent just before a key rotation was
 * hashed under the previous key: when the typed code's hash under one of the configured
 * keys equals the stored one (constant-time), that hash is used; else the current key's.
 */
function typedLoginCodeHash(ctx: AuthContext, pending: PendingLogin, code: string): string {
  const current = loginCodeHash(ctx, pending.idHash, code);
  if (pending.codeHash === null || safeEqual(current, pending.codeHash)) return current;
  for (const key of ctx.keyring.byId.values()) {
    const hash = loginCodeHash(ctx, pending.idHash, code, key.codeKey);
    if (safeEqual(hash, pending.codeHash)) return hash;
  }
  return current;
}

/**
 * Step two: the code. The attempt is counted (per pending login and per account) in
 * one transaction before the code is looked at (I5); a right code is then used and the
 * login finished in one more, all or nothing (I4): of concurrent requests with the same
 * code, one gets the session.
 */
export async function verifyLogin(ctx: AuthContext, pendingLoginId: string, method: FactorMethod, code: string, client: ClientInfo, deviceToken?: string): Promise<VerifyResult> {
  const now = ctx.now();
  const idHash = hashToken(pendingLoginId);
  const pending = await ctx.store.getPendingLogin(idHash, now);
  if (!pending) return { status: 'login_expired' };
  if (!pending.methods.includes(method)) return { status: 'method_unavailable' };
  // An account disabled (or a password changed) after the password step ends its pending
  // logins in the same transaction (Store.updateUserAndEndSessions): none finishes. A
  // disabled flag written any other way is refused here too.
  const userId = pending.userId;
  const user = await ctx.store.getUserById(userId);
  if (!user || user.disabled) return { status: 'login_expired' };

  // A secret no configured key opens is the operator's to fix: 503, and no attempt spent.
  await requireSecretKeys(ctx, userId, method);
  const policy = method === 'recovery' ? ctx.limits.recovery : ctx.limits.otp;
  const accountKey = method === 'recovery' ? throttleKey.recovery(userId) : throttleKey.otp(userId);
  const begun = await ctx.store.beginCodeAttempt({ idHash, now, maxAttempts: ctx.limits.pendingAttempts, accountKey, policy });
  if (!begun.ok) {
    if (begun.reason === 'login_expired') return { status: 'login_expired' };
    await recordEvent(ctx, 'throttled', { userId, method, client, detail: { rule: begun.locked ? 'locked' : 'delay' } });
    return { status: 'too_many_attempts', retryAfter: begun.locked ? null : retryAfterSeconds(begun.retryAfterMs), locked: begun.locked };
  }
  const attemptsLeft = ctx.limits.pendingAttempts - begun.attempts;

  let failure: { reason: 'invalid_code' | 'code_expired'; driftSeconds?: number } = { reason: 'invalid_code' };
  const proof = await findProof(ctx, pending, method, code, now);
  if (proof.ok) {
    // A method that is not among OTPGATE_FACTORS (offered only as proof before enrollment) gives level 1.
    const level = ctx.factors.has(method) ? 2 : 1;
    const issued = newSession(ctx, userId, level, client, method);
    const done = await ctx.store.completeLogin({
      idHash,
      now,
      proof: proof.proof,
      // A completed sign-in also lifts the password lock for strangers (password-lock.ts).
      resetKeys: [throttleKey.otp(userId), throttleKey.recovery(userId), throttleKey.password(user.username)],
      session: issued.session,
      events: [auditEvent(ctx, 'login_succeeded', { userId, method, client })],
    });
    if (done.ok) {
      if (level === 1) return { status: 'enrollment_required', session: issued };
      const device = await rememberDevice(ctx, userId, client, deviceToken);
      if (method === 'recovery') {
        const left = done.recoveryCodesLeft ?? 0;
        await recordEvent(ctx, 'recovery_code_used', { userId, method, client, detail: { left } });
        notify(ctx, userId, { type: 'recovery_code_used', left }, client);
        return { status: 'authenticated', session: issued, method, recoveryCodesLeft: left, deviceToken: device };
      }
      notify(ctx, userId, { type: 'new_sign_in', method }, client);
      return { status: 'authenticated', session: issued, method, deviceToken: device };
    }
    // A right-looking code can still lose: replayed, raced, or the login finished elsewhere.
    if (done.reason === 'login_expired') return { status: 'login_expired' };
    failure = { reason: done.reason === 'expired' ? 'code_expired' : 'invalid_code' };
  } else if (proof.driftSeconds !== undefined) {
    failure = { reason: 'invalid_code', driftSeconds: proof.driftSeconds };
  }

  // Once per pending login, at its first failure: the password was right (ASVS 6.3.5).
  if (begun.attempts === 1) notify(ctx, userId, { type: 'second_factor_failed', method }, client);
  const events = [auditEvent(ctx, 'code_refused', { userId, method, client, detail: { reason: failure.reason, failures: begun.accountCount, ...(failure.driftSeconds !== undefined ? { drift_seconds: failure.driftSeconds } : {}) } })];
  if (policy.lockAt !== null && begun.accountCount >= policy.lockAt) {
    events.push(auditEvent(ctx, 'locked', { userId, method, client, detail: { failures: begun.accountCount } }));
  }
  await ctx.store.recordCodeFailure({ events, closePending: attemptsLeft <= 0 ? idHash : null });
  if (failure.reason === 'code_expired') return { status: 'code_expired', attemptsLeft };
  return { status: 'invalid_code', attemptsLeft, ...(failure.driftSeconds !== undefined ? { driftSeconds: failure.driftSeconds } : {}) };
}

/** What the Store must check and use to finish the login, or why there is nothing to try. */
async function findProof(ctx: AuthContext, pending: PendingLogin, method: FactorMethod, code: string, now: number): Promise<{ ok: true; proof: CompletionProof } | { ok: false; driftSeconds?: number }> {
  if (method === 'totp') {
    const match = await matchTOTPCode(ctx, pending.userId, code, now);
    return match.ok ? { ok: true, proof: { kind: 'totp', factorId: match.factor.id, step: match.step } } : match;
  }
  if (method === 'recovery') {
    const canonical = canonicalRecoveryCode(code);
    if (!canonical) return { ok: false };
    // Recovery codes keep the key id they were hashed under: a rotation does not void them.
    const keyId = await recoveryCodeKeyId(ctx, pending.userId);
    return { ok: true, proof: { kind: 'recovery', userId: pending.userId, codeHash: recoveryCodeHash(ctx, pending.userId, canonical, keyId) } };
  }
  const digits = normalizeCode(code);
  // Keyed hashes are compared in the Store: without the key, timing says nothing about the code.
  return /^\d{6}$/.test(digits) ? { ok: true, proof: { kind: 'code', channel: method, codeHash: typedLoginCodeHash(ctx, pending, digits) } } : { ok: false };
}
