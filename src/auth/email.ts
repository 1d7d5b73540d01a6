/**
 * Email addresses as a factor (issue 12, finding 11): an address counts, and receives
 * sign-in codes and notifications, only once proven with a code mailed to it. Until then
 * only verification codes go there, at most VERIFICATIONS_PER_DAY per account. A new
 * address waits in its verification row; the account's proven one stays until it is replaced.
 */
import type { Session } from './ports.ts';
import type { AuthContext, ClientInfo } from './context.ts';
import type { IssuedSession } from './sessions.ts';
import { newSession } from './sessions.ts';
import { normalizeCode } from '../otp/index.ts';
import { normalizeEmail } from './normalize.ts';
import { emailVerificationMessage } from './messages.ts';
import { generateNumericCode, keyedHash, safeEqual } from './tokens.ts';
import { recordEvent } from './audit.ts';
import { freshOrReauthenticated } from './reauth.ts';
import type { Reauthentication } from './reauth.ts';
import { retryAfterSeconds, throttleKey } from './throttle.ts';
import { notify } from './notifications.ts';

const CODE_ATTEMPTS = 5;
/** Verification mails per account: a bucket of 3, one back every 8 hours (3 a day). */
const VERIFICATIONS_PER_DAY = 3;
const VERIFICATION_REFILL_MS = 8 * 3_600_000;

function verificationHash(ctx: AuthContext, userId: string, email: string, code: string): string {
  return keyedHash(ctx.keyring.codeKey, `email-verification:${userId}:${email}`, code);
}

export type EmailSendResult =
  | { status: 'sent'; expiresIn: number }
  | { status: 'rate_limited'; retryAfter: number }
  | { status: 'delivery_failed' }
  | { status: 'nothing_to_verify' };

/** Mails a verification code for `email` (voiding any earlier one), within the per-account and per-address caps. */
export async function sendEmailVerification(ctx: AuthContext, userId: string, email: string, client: ClientInfo): Promise<EmailSendResult> {
  const now = ctx.now();
  const user = await ctx.store.getUserById(userId);
  if (!user) return { status: 'nothing_to_verify' };
  const buckets = [
    [throttleKey.ipSends(client.ip), ctx.limits.ipSends.capacity, ctx.limits.ipSends.refillMs],
    [throttleKey.emailVerifications(userId), VERIFICATIONS_PER_DAY, VERIFICATION_REFILL_MS],
  ] as const;
  for (const [key, capacity, refillMs] of buckets) {
    const take = await ctx.store.takeToken(key, now, capacity, refillMs);
    if (!take.ok) {
      await recordEvent(ctx, 'throttled', { userId, method: 'email', client, detail: { rule: 'email_verification_sends' } });
      return { status: 'rate_limited', retryAfter: retryAfterSeconds(take.retryAfterMs) };
    }
  }
  const code = generateNumericCode(6); // ≈20 bits, CSPRNG
  await ctx.store.putEmailVerification({ userId, email, codeHash: verificationHash(ctx, userId, email, code), expiresAt: now + ctx.codeTTLMs, attempts: 0 });
  const ttlMinutes = Math.round(ctx.codeTTLMs / 60_000);
  try {
    if (!ctx.sender.supports('email')) throw new Error('No email sender');
    await ctx.sender.send(emailVerificationMessage({ to: email, code, issuer: ctx.issuer, ttlMinutes, username: user.username }));
  } catch (error) {
    ctx.onDeliveryError(error, 'email');
    await ctx.store.deleteEmailVerification(userId);
    await recordEvent(ctx, 'delivery_failed', { userId, method: 'email', client, detail: { purpose: 'email_verification' } });
    return { status: 'delivery_failed' };
  }
  await recordEvent(ctx, 'code_sent', { userId, method: 'email', client, detail: { purpose: 'email_verification' } });
  return { status: 'sent', expiresIn: Math.round(ctx.codeTTLMs / 1000) };
}

/** Sends a new code for the address waiting to be verified: the one being changed to, or the unverified one from sign-up. */
export async function resendEmailVerification(ctx: AuthContext, session: Session, client: ClientInfo): Promise<EmailSendResult> {
  const waiting = await ctx.store.getEmailVerification(session.userId);
  const user = await ctx.store.getUserById(session.userId);
  const email = waiting?.email ?? (user && user.email !== null && user.emailVerifiedAt === null ? user.email : null);
  if (email === null) return { status: 'nothing_to_verify' };
  return sendEmailVerification(ctx, session.userId, email, client);
}

export type ChangeEmailResult = EmailSendResult | { status: 'invalid_request'; message: string } | { status: 'reauth_required'; retryAfter?: number };

/**
 * Starts changing the address: a full sign-in plus a recent sign-in or fresh proof, as
 * for adding an authenticator (ASVS 7.5.1). The current address stays until the new one
 * is verified.
 */
export async function changeEmail(ctx: AuthContext, session: Session, input: string, proof: Reauthentication | undefined, client: ClientInfo): Promise<ChangeEmailResult> {
  if (session.level !== 2) return { status: 'reauth_required' };
  const email = normalizeEmail(input);
  if (!email.ok) return { status: 'invalid_request', message: email.reason };
  const reauth = await freshOrReauthenticated(ctx, session, proof, client);
  if (!reauth.ok) return reauth.retryAfter === undefined ? { status: 'reauth_required' } : { status: 'reauth_required', retryAfter: reauth.retryAfter };
  await recordEvent(ctx, 'email_change_requested', { userId: session.userId, method: 'email', client });
  return sendEmailVerification(ctx, session.userId, email.value, client);
}

export type VerifyEmailResult =
  | { status: 'verified'; email: string; session?: IssuedSession }
  | { status: 'invalid_code'; attemptsLeft: number }
  | { status: 'code_expired' }
  | { status: 'rate_limited'; retryAfter: number }
  | { status: 'session_ended' };

/**
 * Checks the mailed code. Where email counts as a factor, the account now has one: every
 * level-1 session of it ends in the same transaction, and a level-1 session verifying it
 * has proven both factors, so it is replaced by a full session (new id, I6).
 */
export async function verifyEmail(ctx: AuthContext, session: Session, code: string, client: ClientInfo): Promise<VerifyEmailResult> {
  const now = ctx.now();
  const waiting = await ctx.store.getEmailVerification(session.userId);
  if (!waiting || now >= waiting.expiresAt) return { status: 'code_expired' };
  const claim = await ctx.store.claimAttempt(throttleKey.enrollment(session.userId), now, ctx.limits.enrollment);
  if (!claim.ok) return { status: 'rate_limited', retryAfter: retryAfterSeconds(claim.retryAfterMs) };
  const attempts = await ctx.store.recordEmailVerificationFailure(session.userId);
  if (attempts === null || attempts > CODE_ATTEMPTS) {
    await ctx.store.deleteEmailVerification(session.userId);
    return { status: 'code_expired' };
  }
  const codeHash = verificationHash(ctx, session.userId, waiting.email, normalizeCode(code));
  if (!safeEqual(codeHash, waiting.codeHash)) {
    await recordEvent(ctx, 'code_refused', { userId: session.userId, method: 'email', client, detail: { reason: 'email_verification' } });
    return { status: 'invalid_code', attemptsLeft: CODE_ATTEMPTS - attempts };
  }
  const before = await ctx.store.getUserById(session.userId);
  const counts = ctx.factors.has('email');
  const replacement = counts && session.level === 1 ? newSession(ctx, session.userId, 2, client, 'email') : null;
  const done = await ctx.store.confirmEmail({
    userId: session.userId, now, current: session, endOtherSessions: false, replaceWith: replacement?.session ?? null,
    email: waiting.email, codeHash, endEnrollment: counts,
  });
  if (!done) {
    if (session.level === 1 && (await ctx.store.getSession(session.tokenHash)) === null) return { status: 'session_ended' };
    return { status: 'code_expired' };
  }
  await ctx.store.resetAttempts(throttleKey.enrollment(session.userId));
  await recordEvent(ctx, 'email_verified', { userId: session.userId, method: 'email', client });
  // The old, verified address hears that the account's mail (a second factor) went elsewhere.
  if (before?.email && before.emailVerifiedAt !== null && before.email !== waiting.email) {
    notify(ctx, session.userId, { type: 'email_changed', email: waiting.email }, client, { to: before.email });
  }
  return replacement ? { status: 'verified', email: waiting.email, session: replacement } : { status: 'verified', email: waiting.email };
}
