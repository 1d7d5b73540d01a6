/**
 * What a secret-key rotation has left to do (`otpgate keys check`): for each key id, how
 * many TOTP secrets it still seals and how many unused recovery codes it keys, and
 * whether that key is configured. A previous key with nothing left may be dropped.
 */
import type { AuthContext } from './context.ts';

export interface KeyReport {
  /** null: recovery codes stored before key ids were recorded (checked with the current key). */
  keyId: string | null;
  /** current: OTPGATE_SECRET_KEY; previous: in OTPGATE_PREVIOUS_SECRET_KEYS; missing: not configured. */
  status: 'current' | 'previous' | 'missing' | 'unrecorded';
  totpSecrets: number;
  recoveryCodes: number;
}

export async function checkKeys(ctx: AuthContext): Promise<KeyReport[]> {
  const usage = await ctx.store.keyUsage();
  const reports = new Map<string | null, KeyReport>();
  for (const id of [ctx.keyring.current.id, ...ctx.keyring.byId.keys()]) {
    if (!reports.has(id)) reports.set(id, { keyId: id, status: statusOf(ctx, id), totpSecrets: 0, recoveryCodes: 0 });
  }
  for (const u of usage) {
    const report = reports.get(u.keyId) ?? { keyId: u.keyId, status: statusOf(ctx, u.keyId), totpSecrets: 0, recoveryCodes: 0 };
    report.totpSecrets += u.totpSecrets;
    report.recoveryCodes += u.recoveryCodes;
    reports.set(u.keyId, report);
  }
  return [...reports.values()];
}

function statusOf(ctx: AuthContext, keyId: string | null): KeyReport['status'] {
  if (keyId === null) return 'unrecorded';
  if (keyId === ctx.keyring.current.id) return 'current';
  return ctx.keyring.byId.has(keyId) ? 'previous' : 'missing';
}
