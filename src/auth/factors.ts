/**
 * Managing second factors from a signed-in session: authenticators (TOTP) and recovery
 * codes (the phone number for SMS is in phone.ts). Binding, removing and regenerating need a correct
 * code or fresh re-authentication (SECURITY.md items 10, 24, 42).
 */
import type { Session, TOTPFactor } from './ports.ts';
import { ENROLLMENT_TTL_MS } from './ports.ts';
import type { AuthContext, ClientInfo } from './context.ts';
import type { IssuedSession } from './sessions.ts';
import { newSession, renewedAfterProof } from './sessions.ts';
import { canCompleteSignIn } from './methods.ts';
import { createKeyURI, encodeBase32, generateSecret } from '../otp/index.ts';
import { seal } from './keyring.ts';
import { generateId } from './tokens.ts';
import { matchTOTPCode, recoveryCodeHash, requireSecretKeys, totpSealContext } from './second-factor.ts';
import { canonicalRecoveryCode, generateRecoveryCodes } from './recovery-codes.ts';
import { recordEvent } from './audit.ts';
import { freshOrReauthenticated, isFreshSignIn, reauthenticate } from './reauth.ts';
import type { Reauthentication, ReauthenticatedResult } from './reauth.ts';
import { retryAfterSeconds, throttleKey } from './throttle.ts';
import { notify } from './notifications.ts';

const MAX_TOTP_FACTORS = 10;
const LABEL_MAX = 64;

export interface TOTPEnrollment {
  factorId: string;
  /** Base32, shown once for manual entry; never readable again. */
  secret: string;
  otpauthURI: string;
}

export type EnrollResult =
  | { status: 'ok'; enrollment: TOTPEnrollment; session?: IssuedSession }
  | { status: 'too_many_factors' }
  | { status: 'invalid_request'; message: string }
  | { status: 'reauth_required'; retryAfter?: number }
  | { status: 'session_ended' };


/**
 * Creates an unconfirmed authenticator: it counts only after a correct code (SECURITY.md
 * item 10). Adding a factor to a fully signed-in account needs a sign-in from the last
 * ten minutes or fresh proof (ASVS 7.5.1): a stolen older session cannot bind its own
 * authenticator. A password-only session enrolls only the account's FIRST factor: once
 * the account has one, that session is ended instead (issue 12, finding 1). An account
 * has one pending enrollment at a time, replaced by each start and void after ten
 * minutes, so starts never fill the authenticator limit (finding 16).
 */
export async function beginTOTPEnrollment(ctx: AuthContext, session: Session, label = 'Authenticator', proof?: Reauthentication, client?: ClientInfo): Promise<EnrollResult> {
  // Fresh proof given here renews the session's id (SECURITY.md item 37).
  const proved = session.level === 2 && !isFreshSignIn(ctx, session);
  if (session.level === 2) {
    const reauth = await freshOrReauthenticated(ctx, session, proof, client);
    if (!reauth.ok) return reauth.retryAfter === undefined ? { status: 'reauth_required' } : { status: 'reauth_required', retryAfter: reauth.retryAfter };
  }
  const cleanLabel = label.normalize('NFKC').replace(/\p{Cc}/gu, '').trim().slice(0, LABEL_MAX) || 'Authenticator';
  const user = await ctx.store.getUserById(session.userId);
  if (!user) return { status: 'invalid_request', message: 'No such account' };
  if (session.level === 1 && (await canCompleteSignIn(ctx, user))) return endLevelOne(ctx, session);
  const now = ctx.now();
  const existing = await ctx.store.listTOTPFactors(user.id);
  if (existing.filter((f) => f.confirmedAt !== null).length >= MAX_TOTP_FACTORS) return { status: 'too_many_factors' };
  const secret = generateSecret(20); // 160 bits (RFC 4226 §4 R6)
  const factor: TOTPFactor = {
    id: generateId(),
    userId: user.id,
    label: cleanLabel,
    encryptedSecret: '',
    keyId: '',
    confirmedAt: null,
    lastStep: null,
    createdAt: now,
    lastUsedAt: null,
  };
  const sealed = seal(ctx.keyring, secret, totpSealContext(factor));
  factor.encryptedSecret = sealed.sealed;
  factor.keyId = sealed.keyId;
  await ctx.store.replacePendingTOTPFactor(factor);
  return {
    status: 'ok',
    enrollment: {
      factorId: factor.id,
      secret: encodeBase32(secret, { padding: false }),
      otpauthURI: createKeyURI({ issuer: ctx.issuer, accountName: user.username, secret }),
    },
    ...(proved ? await renewedAfterProof(ctx, session) : {}),
  };
}

/** A level-1 session that outlived its purpose: ended on the server, never used again. */
async function endLevelOne(ctx: AuthContext, session: Session): Promise<{ status: 'session_ended' }> {
  await ctx.store.deleteSession(session.tokenHash);
  return { status: 'session_ended' };
}

export type ConfirmResult =
  | { status: 'ok'; factor: TOTPFactor; recoveryCodes?: string[]; session?: IssuedSession }
  | { status: 'invalid_code'; driftSeconds?: number }
  | { status: 'not_found' }
  | { status: 'session_ended' }
  | { status: 'rate_limited'; retryAfter: number };

/**
 * Confirms an authenticator with a code from it. The first second factor of an account
 * also issues recovery codes; a password-only session becomes a full one (new id, I6).
 * In the same Store transaction every level-1 session of the account ends, and with
 * `endOtherSessions` every other session too (SECURITY.md item 41).
 */
export async function confirmTOTPEnrollment(ctx: AuthContext, session: Session, factorId: string, code: string, client: ClientInfo, options: { endOtherSessions?: boolean } = {}): Promise<ConfirmResult> {
  const now = ctx.now();
  const factor = await ctx.store.getTOTPFactor(session.userId, factorId);
  if (!factor || factor.confirmedAt !== null || now - factor.createdAt >= ENROLLMENT_TTL_MS) return { status: 'not_found' };
  if (session.level === 1) {
    const user = await ctx.store.getUserById(session.userId);
    if (!user || (await canCompleteSignIn(ctx, user))) return endLevelOne(ctx, session);
  }
  await requireSecretKeys(ctx, session.userId, 'totp', { factorId }); // a missing key spends no attempt
  const claim = await ctx.store.claimAttempt(throttleKey.enrollment(session.userId), now, ctx.limits.enrollment);
  if (!claim.ok) return { status: 'rate_limited', retryAfter: retryAfterSeconds(claim.retryAfterMs) };
  const match = await matchTOTPCode(ctx, session.userId, code, now, { factorId });
  if (!match.ok) return match.driftSeconds === undefined ? { status: 'invalid_code' } : { status: 'invalid_code', driftSeconds: match.driftSeconds };
  const replacement = session.level === 1 ? newSession(ctx, session.userId, 2, client, 'totp') : null;
  const confirmed = await ctx.store.confirmTOTPFactor({
    userId: session.userId,
    now,
    current: session,
    endOtherSessions: options.endOtherSessions === true,
    replaceWith: replacement?.session ?? null,
    factorId,
    step: match.step,
    createdAfter: now - ENROLLMENT_TTL_MS,
  });
  if (!confirmed) {
    // Either the level-1 session was ended by a factor confirmed elsewhere, or the code lost a race.
    if (session.level === 1 && (await ctx.store.getSession(session.tokenHash)) === null) return { status: 'session_ended' };
    return { status: 'invalid_code' };
  }
  await ctx.store.resetAttempts(throttleKey.enrollment(session.userId));
  await recordEvent(ctx, 'factor_added', { userId: session.userId, method: 'totp', client, detail: { label: factor.label, ended_other_sessions: options.endOtherSessions === true } });
  notify(ctx, session.userId, { type: 'authenticator_added', label: factor.label }, client);
  const result: ConfirmResult = { status: 'ok', factor: { ...factor, confirmedAt: now } };
  // The first second factor brings recovery codes; of concurrent confirmations, one issues them.
  const first = await issueRecoveryCodes(ctx, session.userId, client, { onlyIfNone: true });
  if (first) result.recoveryCodes = first;
  if (replacement) result.session = replacement;
  return result;
}


/** Removes an authenticator after re-authentication. */
export async function removeTOTPFactor(ctx: AuthContext, session: Session, factorId: string, proof: Reauthentication, client: ClientInfo): Promise<ReauthenticatedResult<{ session?: IssuedSession }>> {
  const factor = await ctx.store.getTOTPFactor(session.userId, factorId);
  if (!factor) return { status: 'not_found' };
  const reauth = await reauthenticate(ctx, session, proof, client);
  if (!reauth.ok) return reauth.retryAfter === undefined ? { status: 'reauth_required' } : { status: 'reauth_required', retryAfter: reauth.retryAfter };
  if (!(await ctx.store.deleteTOTPFactor(session.userId, factorId))) return { status: 'not_found' };
  await recordEvent(ctx, 'factor_removed', { userId: session.userId, method: 'totp', client, detail: { label: factor.label } });
  notify(ctx, session.userId, { type: 'authenticator_removed', label: factor.label }, client);
  return { status: 'ok', ...(await renewedAfterProof(ctx, session)) };
}

/**
 * Issues a fresh set of recovery codes, voiding the old; the plaintext exists only in the
 * return value. With `onlyIfNone`, nothing happens (null) while an unused code is left.
 */
async function issueRecoveryCodes(ctx: AuthContext, userId: string, client: ClientInfo): Promise<string[]>;
async function issueRecoveryCodes(ctx: AuthContext, userId: string, client: ClientInfo, options: { onlyIfNone: true }): Promise<string[] | null>;
async function issueRecoveryCodes(ctx: AuthContext, userId: string, client: ClientInfo, options?: { onlyIfNone: true }): Promise<string[] | null> {
  const codes = generateRecoveryCodes();
  const keyId = ctx.keyring.current.id;
  const hashes = codes.map((c) => recoveryCodeHash(ctx, userId, canonicalRecoveryCode(c) ?? c, keyId));
  if (options?.onlyIfNone) {
    if (!(await ctx.store.addFirstRecoveryCodes(userId, hashes, ctx.now(), keyId))) return null;
  } else {
    await ctx.store.replaceRecoveryCodes(userId, hashes, ctx.now(), keyId);
  }
  await recordEvent(ctx, 'recovery_codes_generated', { userId, method: 'recovery', client, detail: { count: codes.length } });
  return codes;
}

/** Regenerates recovery codes after re-authentication (SECURITY.md item 24). */
export async function regenerateRecoveryCodes(ctx: AuthContext, session: Session, proof: Reauthentication, client: ClientInfo): Promise<ReauthenticatedResult<{ recoveryCodes: string[]; session?: IssuedSession }>> {
  const reauth = await reauthenticate(ctx, session, proof, client);
  if (!reauth.ok) return reauth.retryAfter === undefined ? { status: 'reauth_required' } : { status: 'reauth_required', retryAfter: reauth.retryAfter };
  const recoveryCodes = await issueRecoveryCodes(ctx, session.userId, client);
  notify(ctx, session.userId, { type: 'recovery_codes_regenerated' }, client);
  return { status: 'ok', recoveryCodes, ...(await renewedAfterProof(ctx, session)) };
}
