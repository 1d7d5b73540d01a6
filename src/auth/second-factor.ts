/** Checking a second factor once: the atomic "accept this step / use this code" lives in the Store. */
import type { TOTPFactor } from './ports.ts';
import type { AuthContext } from './context.ts';
import { createOTPKey, findTOTPDrift, normalizeCode, verifyTOTP } from '../otp/index.ts';
import { open } from './keyring.ts';
import { keyedHash } from './tokens.ts';

const PERIOD_SECONDS = 30;
/** ±20 steps: a code from a clock up to ten minutes off is recognised (and refused). */
const DRIFT_STEPS = 20;

/** The sealing context binds a TOTP secret to its factor and user: a row copied elsewhere will not open. */
export function totpSealContext(factor: Pick<TOTPFactor, 'id' | 'userId'>): string {
  return `totp:${factor.userId}:${factor.id}`;
}

export function openTOTPSecret(ctx: AuthContext, factor: TOTPFactor): Buffer {
  return open(ctx.keyring, factor.keyId, factor.encryptedSecret, totpSealContext(factor));
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
  const all = await ctx.store.listTOTPFactors(userId);
  const factors = only && 'factorId' in only
    ? all.filter((f) => f.id === only.factorId)
    : all.filter((f) => f.confirmedAt !== null && (only === undefined || f.confirmedAt <= only.confirmedBefore));
  let driftSeconds: number | undefined;
  for (const factor of factors) {
    const key = createOTPKey(openTOTPSecret(ctx, factor));
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

export function recoveryCodeHash(ctx: AuthContext, userId: string, canonical: string): string {
  return keyedHash(ctx.keyring.codeKey, `recovery:${userId}`, canonical);
}
