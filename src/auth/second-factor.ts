/** Checking a second factor once: the atomic "accept this step / use this code" lives in the Store. */
import type { TOTPFactor } from './ports.ts';
import type { AuthContext } from './context.ts';
import { createOTPKey, findTOTPDrift, normalizeCode, verifyTOTP } from '../otp/index.ts';
import { open } from './keyring.ts';
import { keyedHash } from './tokens.ts';
import { canonicalRecoveryCode } from './recovery-codes.ts';

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

export type TOTPCheck = { ok: true; factor: TOTPFactor } | { ok: false; driftSeconds?: number };

/**
 * Accepts a TOTP code for one of the user's factors (window ±1 step, RFC 6238 §5.2),
 * only if its step is newer than the last accepted one: of concurrent requests with
 * the same code, one wins. `factorId` limits the check to one (unconfirmed) factor.
 */
export async function checkTOTPCode(ctx: AuthContext, userId: string, input: string, now: number, only?: { factorId: string; confirm: true }): Promise<TOTPCheck> {
  const code = normalizeCode(input);
  if (!/^\d{6}$/.test(code)) return { ok: false };
  const all = await ctx.store.listTOTPFactors(userId);
  const factors = only ? all.filter((f) => f.id === only.factorId) : all.filter((f) => f.confirmedAt !== null);
  let driftSeconds: number | undefined;
  for (const factor of factors) {
    const key = createOTPKey(openTOTPSecret(ctx, factor));
    const step = verifyTOTP(key, code, now, { periodInSeconds: PERIOD_SECONDS, window: 1, ...(factor.lastStep !== null ? { afterStep: factor.lastStep } : {}) });
    if (step !== null) {
      if (await ctx.store.acceptTOTPStep(factor.id, step, now, only?.confirm ?? false)) return { ok: true, factor };
      continue; // a replay, or a concurrent request won: refused like any wrong code
    }
    if (driftSeconds === undefined) {
      const offset = findTOTPDrift(key, code, now, { periodInSeconds: PERIOD_SECONDS, maxSteps: DRIFT_STEPS });
      if (offset !== null && Math.abs(offset) > 1) driftSeconds = offset * PERIOD_SECONDS;
    }
  }
  return driftSeconds === undefined ? { ok: false } : { ok: false, driftSeconds };
}

export function recoveryCodeHash(ctx: AuthContext, userId: string, canonical: string): string {
  return keyedHash(ctx.keyring.codeKey, `recovery:${userId}`, canonical);
}

/** Uses a recovery code once; reports how many are left. */
export async function useRecoveryCode(ctx: AuthContext, userId: string, input: string, now: number): Promise<{ ok: true; left: number } | { ok: false }> {
  const canonical = canonicalRecoveryCode(input);
  if (!canonical) return { ok: false };
  if (!(await ctx.store.useRecoveryCode(userId, recoveryCodeHash(ctx, userId, canonical), now))) return { ok: false };
  return { ok: true, left: await ctx.store.countRecoveryCodes(userId) };
}
