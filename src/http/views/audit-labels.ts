/** Readable lines for the audit trail on the account page: a fixed text per event, never raw detail. */
import type { StoredAuditEvent } from '../../auth/index.ts';

const METHOD_NAMES: Record<string, string> = {
  totp: 'an authenticator app',
  email: 'a code by email',
  sms: 'a code by SMS',
  recovery: 'a recovery code',
  password: 'a password',
};

function channelName(method: string | null): string {
  return method === 'sms' ? 'SMS' : method === 'email' ? 'email' : 'message';
}

/** One sentence for an event, from the event type and the few detail fields known to be harmless; a counted refusal says how many. */
export function describeAuditEvent(event: StoredAuditEvent): string {
  const text = describeOne(event);
  const count = event.count ?? 1;
  if (count <= 1) return text;
  const last = new Date(event.lastAt ?? event.at).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return `${text} (${count} times, the last at ${last})`;
}

function describeOne(event: StoredAuditEvent): string {
  const detail = event.detail ?? {};
  const label = typeof detail.label === 'string' ? detail.label : null;
  const method = event.method === null ? null : (METHOD_NAMES[event.method] ?? null);
  switch (event.type) {
    case 'signup': return 'Account created';
    case 'password_accepted': return 'Password accepted';
    case 'password_refused': return detail.reason === 'reauthentication' ? 'Wrong password when confirming a change' : 'Wrong password';
    case 'code_sent': return detail.purpose === 'phone_verification' ? 'Verification code sent by SMS' : detail.purpose === 'email_verification' ? 'Verification code sent by email' : `Sign-in code sent by ${channelName(event.method)}`;
    case 'delivery_failed': return `A code could not be sent by ${channelName(event.method)}`;
    case 'code_refused': return detail.reason === 'code_expired' ? 'Expired code entered' : `Wrong code entered${method ? ` (${method})` : ''}`;
    case 'login_succeeded': return `Signed in${method ? ` with ${method}` : ''}`;
    case 'throttled': return 'Attempts slowed down after repeated failures';
    case 'locked': return 'Second factors locked after too many wrong codes';
    case 'unlocked': return detail.via === 'email_link' ? 'New browsers allowed again (emailed link)' : 'Unlocked by an administrator';
    case 'password_locked': return 'Sign-in from new browsers paused after many wrong passwords';
    case 'device_revoked': return 'A browser was forgotten';
    case 'factor_added': return label ? `Authenticator added: ${label}` : 'Authenticator added';
    case 'factor_removed': return label ? `Authenticator removed: ${label}` : 'Authenticator removed';
    case 'recovery_code_used': return typeof detail.left === 'number' ? `Recovery code used (${detail.left} left)` : 'Recovery code used';
    case 'recovery_codes_generated': return 'New recovery codes generated';
    case 'password_changed': return 'Password changed';
    case 'session_revoked': return 'A session was signed out';
    case 'logout': return 'Logged out';
    case 'account_disabled': return 'Account disabled by an administrator';
    case 'account_enabled': return 'Account enabled by an administrator';
    case 'second_factors_reset': return 'Two-step sign-in reset by an administrator';
    case 'phone_verified': return 'Phone number verified';
    case 'email_verified': return 'Email address verified';
    case 'email_change_requested': return 'Email address change requested';
    default: return 'Other account event';
  }
}
