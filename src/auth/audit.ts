/** The audit trail: every authentication event, with who, when, where and how; never a secret. */
import type { AuditEvent, FactorMethod } from './ports.ts';
import type { AuthContext, ClientInfo } from './context.ts';

export const AUDIT_TYPES = [
  'signup', 'password_accepted', 'password_refused', 'code_sent', 'delivery_failed', 'code_refused',
  'login_succeeded', 'throttled', 'locked', 'unlocked', 'factor_added', 'factor_removed', 'recovery_code_used',
  'recovery_codes_generated', 'password_changed', 'session_revoked', 'logout', 'account_disabled',
  'account_enabled', 'second_factors_reset', 'phone_verified',
  'device_revoked', 'password_locked',
  'email_verified', 'email_change_requested',
] as const;
export type AuditType = (typeof AUDIT_TYPES)[number];

/**
 * Refusals: what a flood of refused requests writes. Those of one type, account, address,
 * method and rule within one window share one row with a count (Store.appendAudit).
 */
const COUNTED_TYPES: ReadonlySet<AuditType> = new Set(['password_refused', 'code_refused', 'throttled']);
/** The window of a counted refusal row. */
const REFUSAL_WINDOW_MS = 60 * 60_000;

type EventFields = { userId: string | null; method?: FactorMethod | 'password' | null; client?: ClientInfo | null; detail?: AuditEvent['detail'] };

/** An audit event, for a Store call that writes it together with other rows. */
export function auditEvent(ctx: AuthContext, type: AuditType, fields: EventFields): AuditEvent {
  const event: AuditEvent = {
    at: ctx.now(),
    userId: fields.userId,
    type,
    method: fields.method ?? null,
    ip: fields.client?.ip ?? null,
    userAgent: fields.client?.userAgent ? fields.client.userAgent.slice(0, 256) : null,
    detail: fields.detail ?? null,
  };
  if (COUNTED_TYPES.has(type)) {
    const rule = event.detail?.reason ?? event.detail?.rule ?? null;
    const window = Math.floor(event.at / REFUSAL_WINDOW_MS);
    event.countKey = JSON.stringify([type, event.userId, event.ip, event.method, rule, window]);
  }
  return event;
}

export async function recordEvent(ctx: AuthContext, type: AuditType, fields: EventFields): Promise<void> {
  await ctx.store.appendAudit(auditEvent(ctx, type, fields));
}
