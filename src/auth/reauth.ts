/**
 * Fresh proof of the account holder before a sensitive change or action (ASVS 7.5.1,
 * 7.5.2): the password, or a code from an authenticator bound before the session began.
 */
import type { Session } from './ports.ts';
import type { AuthContext, ClientInfo } from './context.ts';
import { verifyPassword } from './password-hash.ts';
import { checkTOTPCode, requireSecretKeys } from './second-factor.ts';
import { recordEvent } from './audit.ts';
import { retryAfterSeconds, throttleKey } from './throttle.ts';

/** A full sign-in this recent counts as fresh proof (as "sudo mode" does elsewhere). */
export const FRESH_SIGN_IN_MS = 10 * 60_000;

export type ReauthenticatedResult<T> = ({ status: 'ok' } & T) | { status: 'reauth_required'; retryAfter?: number } | { status: 'not_found' };

export type Reauthentication = { password: string } | { code: string };

/**
 * Checks fresh proof of the account holder: the password, or a code from a confirmed
 * authenticator (which is then used up). Failures count on a counter of this session
 * only (exponential delay, no lock), never on the account's sign-in counters: a stolen
 * older session cannot delay or lock the owner's sign-in.
 */
export async function reauthenticate(ctx: AuthContext, session: Session, proof: Reauthentication, client: ClientInfo): Promise<{ ok: true } | { ok: false; retryAfter?: number }> {
  const now = ctx.now();
  const user = await ctx.store.getUserById(session.userId);
  if (!user || user.disabled) return { ok: false };
  const isPassword = 'password' in proof && typeof proof.password === 'string';
  const isCode = 'code' in proof && typeof proof.code === 'string';
  if (!isPassword && !isCode) return { ok: false };
  // A key that no longer opens the authenticator answers 503 before anything is counted.
  if (isCode) await requireSecretKeys(ctx, user.id, 'totp', { confirmedBefore: session.createdAt });
  const key = throttleKey.reauth(session.id);
  const claim = await ctx.store.claimAttempt(key, now, { ...ctx.limits.otp, lockAt: null, forgetAfterMs: ctx.sessionMaxMs });
  if (!claim.ok) return { ok: false, retryAfter: retryAfterSeconds(claim.retryAfterMs) };
  if ('password' in proof && typeof proof.password === 'string') {
    if (await verifyPassword(user.passwordHash, proof.password)) {
      await ctx.store.resetAttempts(key);
      return { ok: true };
    }
    await recordEvent(ctx, 'password_refused', { userId: user.id, method: 'password', client, detail: { reason: 'reauthentication' } });
    return { ok: false };
  }
  if ('code' in proof && typeof proof.code === 'string') {
    // Only an authenticator bound before this session began proves the holder: one added
    // with a stolen session must not vouch for itself.
    if ((await checkTOTPCode(ctx, user.id, proof.code, now, { confirmedBefore: session.createdAt })).ok) {
      await ctx.store.resetAttempts(key);
      return { ok: true };
    }
    await recordEvent(ctx, 'code_refused', { userId: user.id, method: 'totp', client, detail: { reason: 'reauthentication' } });
  }
  return { ok: false };
}

/** True while the session's full sign-in is recent enough to stand for re-authentication. */
export function isFreshSignIn(ctx: AuthContext, session: Session): boolean {
  return ctx.now() - session.createdAt <= FRESH_SIGN_IN_MS;
}

/**
 * Passes a session whose full sign-in is under FRESH_SIGN_IN_MS old; an older one needs
 * `proof`, checked (and counted) as by `reauthenticate`.
 */
export async function freshOrReauthenticated(ctx: AuthContext, session: Session, proof: Reauthentication | undefined, client: ClientInfo | undefined): Promise<{ ok: true } | { ok: false; retryAfter?: number }> {
  if (isFreshSignIn(ctx, session)) return { ok: true };
  return proof && client ? reauthenticate(ctx, session, proof, client) : { ok: false };
}
