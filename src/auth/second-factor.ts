/** Checking a second factor once: the atomic "accept this step / use this code" lives in the Store. */
import type { FactorMethod, TOTPFactor } from './ports.ts';
import type { AuthContext } from './context.ts';
import { createOTPKey, findTOTPDrift, normalizeCode, verifyTOTP } from '../otp/index.ts';
import { codeKeyFor, open, requireKeys, seal } from './keyring.ts';
import { keyedHash } from './tokens.ts';

const PERIOD_SECONDS = 30;
/** ±20 steps: a code from a clock up to ten minutes off is recognised (and refused). */
const DRIFT_STEPS = 20;

/** The sealing context binds a TOTP secret to its factor and user: a row copied elsewhere will not open. */
export function totpSealContext(factor: Pick<TOTPFactor, 'id' | 'userId'>): string {
  return `totp:${factor.userId}:${factor.id}`;
}

/** Opens a factor's secret; throws KeyUnavailableError when its key is not configured. */
export function openTOTPSecret(ctx: AuthContext, factor: TOTPFactor): Buffer {
  return open(ctx.keyring, factor.keyId, factor.encryptedSecret, totpSealContext(factor));
}

/**
 * Key rotation: a secret sealed under a previous key is sealed again under the current
 * one when it is used, so the previous key can be dropped once `otpgate keys check` shows
 * nothing left under it.
 */
async function resealIfOld(ctx: AuthContext, factor: TOTPFactor, secret: Buffer): Promise<void> {
  if (factor.keyId === ctx.keyring.current.id) return;
  const sealed = seal(ctx.keyring, secret, totpSealContext(factor));
  await ctx.store.resealTOTPFactor(factor.id, factor.keyId, { keyId: sealed.keyId, encryptedSecret: sealed.sealed });
}

/**
 * Throws KeyUnavailableError when a secret that a code for `method` may need was sealed or
 * keyed under a key that is not configured. Called BEFORE an attempt is counted: an
 * operator's missing key must not spend the user's attempts (nor read as a wrong code).
 */
export async function requireSecretKeys(ctx: AuthContext, userId: string, method: FactorMethod, only?: FactorFilter): Promise<void> {
  if (method === 'totp') {
    const factors = filterFactors(await ctx.store.listTOTPFactors(userId), only);
    requireKeys(ctx.keyring, factors.map((f) => f.keyId), 'a TOTP secret');
  } else if (method === 'recovery') {
    const ids = await ctx.store.recoveryCodeKeyIds(userId);
    requireKeys(ctx.keyring, ids.filter((id) => id !== null), 'recovery codes');
  }
}

function filterFactors(all: TOTPFactor[], only: FactorFilter | undefined): TOTPFactor[] {
  return only && 'factorId' in only
    ? all.filter((f) => f.id === only.factorId)
    : all.filter((f) => f.confirmedAt !== null && (only === undefined || f.confirmedAt <= only.confirmedBefore));
}

/** Which factors a code may match: one (unconfirmed) factor, or the confirmed ones bound no later than a time. */
export type FactorFilter = { factorId: string } | { confirmedBefore: number };

export type TOTPMatch = { ok: true; factor: TOTPFactor; step: number } | { ok: false; driftSeconds?: number };

/**
 * Finds the factor and time step a TOTP code belongs to (window ±1 step, RFC 6238 §5.2),
 * counting only steps newer than the factor's last accepted one. Accepts nothing: the
 * caller records the step atomically. `only` limits the search to one (unconfirmed) factor.
 */
export async function matchTOTPCode(ctx: AuthContext, userId: string, input: string, now: number, only?: FactorFilter): Promise<TOTPMatch> {
  const code = normalizeCode(input);
  if (!/^\d{6}$/.test(code)) return { ok: false };
  const factors = filterFactors(await ctx.store.listTOTPFactors(userId), only);
  let driftSeconds: number | undefined;
  for (const factor of factors) {
    const secret = openTOTPSecret(ctx, factor);
    await resealIfOld(ctx, factor, secret);
    const key = createOTPKey(secret);
    const step = verifyTOTP(key, code, now, { periodInSeconds: PERIOD_SECONDS, window: 1, ...(factor.lastStep !== null ? { afterStep: factor.lastStep } : {}) });
    if (step !== null) return { ok: true, factor, step };
    if (driftSeconds === undefined) {
      const offset = findTOTPDrift(key, code, now, { periodInSeconds: PERIOD_SECONDS, maxSteps: DRIFT_STEPS });
      // Only a clock behind is reported: a match ahead is a code that will become valid,
      // and saying so would turn a wrong guess into a useful one.
      if (offset !== null && offset < -1) driftSeconds = offset * PERIOD_SECONDS;
    }
  }
  return driftSeconds === undefined ? { ok: false } : { ok: false, driftSeconds };
}

export type TOTPCheck = { ok: true; factor: TOTPFactor } | { ok: false; driftSeconds?: number };

/** Matches a TOTP code and accepts its step: of concurrent requests with the same code, one wins. */
export async function checkTOTPCode(ctx: AuthContext, userId: string, input: string, now: number, only?: FactorFilter): Promise<TOTPCheck> {
  const match = await matchTOTPCode(ctx, userId, input, now, only);
  if (!match.ok) return match;
  // A replay, or a concurrent request that won, is refused like any wrong code.
  const confirm = only !== undefined && 'factorId' in only;
  if (!(await ctx.store.acceptTOTPStep(match.factor.id, match.step, now, confirm))) return { ok: false };
  return { ok: true, factor: match.factor };
}

/** The keyed hash of a recovery code under the code key of `keyId` (default: the current key). */
export function recoveryCodeHash(ctx: AuthContext, userId: string, canonical: string, keyId: string = ctx.keyring.current.id): string {
  return keyedHash(codeKeyFor(ctx.keyring, keyId, 'recovery codes'), `recovery:${userId}`, canonical);
}

/** The key id the user's unused recovery codes were hashed under (one set, one key); codes stored before key ids were recorded: the current key. */
export async function recoveryCodeKeyId(ctx: AuthContext, userId: string): Promise<string> {
  const ids = await ctx.store.recoveryCodeKeyIds(userId);
  return ids.find((id) => id !== null) ?? ctx.keyring.current.id;
}
