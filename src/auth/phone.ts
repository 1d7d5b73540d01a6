/**
 * The phone number for SMS codes: a new number gets a code and counts only once confirmed.
 * Only a full sign-in may add or change it, only while `sms` is among the factors, only
 * to numbers the SMS policy allows (sms-policy.ts), and with a recent sign-in or fresh
 * proof, as for authenticators (ASVS 7.5.1; issue 12 findings 2 and 3).
 */
import type { Session } from './ports.ts';
import type { AuthContext, ClientInfo } from './context.ts';
import type { IssuedSession } from './sessions.ts';
import { renewedAfterProof } from './sessions.ts';
import { normalizeCode } from '../otp/index.ts';
import { keyedHash, generateNumericCode, safeEqual } from './tokens.ts';
import { normalizePhone } from './normalize.ts';
import { phoneVerificationMessage } from './messages.ts';
import { recordEvent } from './audit.ts';
import { freshOrReauthenticated, isFreshSignIn, reauthenticate } from './reauth.ts';
import { checkSMSNumber, claimSMSSend } from './sms-policy.ts';
import type { Reauthentication } from './reauth.ts';
import { retryAfterSeconds, throttleKey } from './throttle.ts';
import { notify } from './notifications.ts';

const PHONE_CODE_ATTEMPTS = 5;

function phoneCodeHash(ctx: AuthContext, userId: string, phone: string, code: string): string {
  return keyedHash(ctx.keyring.codeKey, `phone:${userId}:${phone}`, code);
}

/** Why a session may not touch the phone number at all. */
export type PhoneRefusal = { status: 'unauthenticated' } | { status: 'sms_disabled' };

export type PhoneStartResult =
  | PhoneRefusal
  | { status: 'sent'; phone: string; expiresIn: number; session?: IssuedSession }
  | { status: 'invalid_request'; message: string }
  | { status: 'phone_not_allowed'; message: string }
  | { status: 'reauth_required'; retryAfter?: number }
  | { status: 'rate_limited'; retryAfter: number }
  | { status: 'delivery_failed' };

/** A level-1 session may not touch the phone (I13), nor anyone while SMS is off. */
function phoneRefusal(ctx: AuthContext, session: Session): PhoneRefusal | null {
  if (session.level !== 2) return { status: 'unauthenticated' };
  return ctx.factors.has('sms') ? null : { status: 'sms_disabled' };
}

/**
 * Sends a code to a new phone number; the number counts for SMS only once confirmed.
 * Adding one needs a sign-in from the last ten minutes or fresh proof; replacing a
 * verified number changes a second factor, so it needs fresh proof always (ASVS 7.5.1).
 */
export async function startPhoneVerification(ctx: AuthContext, session: Session, input: string, client: ClientInfo, proof?: Reauthentication): Promise<PhoneStartResult> {
  const refusal = phoneRefusal(ctx, session);
  if (refusal) return refusal;
  const phone = normalizePhone(input);
  if (!phone.ok) return { status: 'invalid_request', message: phone.reason };
  const allowed = checkSMSNumber(ctx, phone.value);
  if (!allowed.ok) return { status: 'phone_not_allowed', message: allowed.message };
  const user = await ctx.store.getUserById(session.userId);
  const replacing = user?.phoneVerifiedAt != null && user.phone !== phone.value;
  // Proof checked now (not a fresh sign-in standing for it) renews the session id (SECURITY.md item 37).
  const proved = replacing || !isFreshSignIn(ctx, session);
  const reauth = replacing
    ? (proof ? await reauthenticate(ctx, session, proof, client) : { ok: false as const })
    : await freshOrReauthenticated(ctx, session, proof, client);
  if (!reauth.ok) return reauth.retryAfter === undefined ? { status: 'reauth_required' } : { status: 'reauth_required', retryAfter: reauth.retryAfter };
  const now = ctx.now();
  for (const [key, bucket] of [[throttleKey.ipSends(client.ip), ctx.limits.ipSends], [throttleKey.accountSends(session.userId), ctx.limits.accountSends]] as const) {
    const take = await ctx.store.takeToken(key, now, bucket.capacity, bucket.refillMs);
    if (!take.ok) return { status: 'rate_limited', retryAfter: retryAfterSeconds(take.retryAfterMs) };
  }
  if (!(await claimSMSSend(ctx, { userId: session.userId, to: phone.value, client, purpose: 'phone_verification' }))) return { status: 'delivery_failed' };
  const code = generateNumericCode(6);
  await ctx.store.putPhoneVerification({ userId: session.userId, phone: phone.value, codeHash: phoneCodeHash(ctx, session.userId, phone.value, code), expiresAt: now + ctx.codeTTLMs, attempts: 0 });
  try {
    if (!ctx.sender.supports('sms')) throw new Error('No SMS sender');
    await ctx.sender.send(phoneVerificationMessage({ to: phone.value, code, issuer: ctx.issuer, ttlMinutes: Math.round(ctx.codeTTLMs / 60_000) }));
  } catch (error) {
    ctx.onDeliveryError(error, 'sms');
    await ctx.store.deletePhoneVerification(session.userId);
    await recordEvent(ctx, 'delivery_failed', { userId: session.userId, method: 'sms', client, detail: { purpose: 'phone_verification' } });
    return { status: 'delivery_failed' };
  }
  await recordEvent(ctx, 'code_sent', { userId: session.userId, method: 'sms', client, detail: { purpose: 'phone_verification' } });
  return { status: 'sent', phone: phone.value, expiresIn: Math.round(ctx.codeTTLMs / 1000), ...(proved ? await renewedAfterProof(ctx, session) : {}) };
}

export type PhoneConfirmResult = PhoneRefusal | { status: 'ok'; phone: string } | { status: 'invalid_code'; attemptsLeft: number } | { status: 'code_expired' };

/** Confirms the number with its code: five tries, then a new code is needed. */
export async function confirmPhoneVerification(ctx: AuthContext, session: Session, code: string, client: ClientInfo): Promise<PhoneConfirmResult> {
  const refusal = phoneRefusal(ctx, session);
  if (refusal) return refusal;
  const now = ctx.now();
  const pending = await ctx.store.getPhoneVerification(session.userId);
  if (!pending || now >= pending.expiresAt) return { status: 'code_expired' };
  const attempts = await ctx.store.recordPhoneVerificationFailure(session.userId);
  if (attempts === null || attempts > PHONE_CODE_ATTEMPTS) {
    await ctx.store.deletePhoneVerification(session.userId);
    return { status: 'code_expired' };
  }
  const codeHash = phoneCodeHash(ctx, session.userId, pending.phone, normalizeCode(code));
  if (!safeEqual(codeHash, pending.codeHash)) {
    return { status: 'invalid_code', attemptsLeft: PHONE_CODE_ATTEMPTS - attempts };
  }
  // Checked above for the answer; spent here in one step, so of concurrent right codes one verifies.
  if ((await ctx.store.confirmPhone(session.userId, codeHash, now)) === null) return { status: 'code_expired' };
  await recordEvent(ctx, 'phone_verified', { userId: session.userId, method: 'sms', client });
  notify(ctx, session.userId, { type: 'phone_verified', phone: pending.phone }, client);
  return { status: 'ok', phone: pending.phone };
}
