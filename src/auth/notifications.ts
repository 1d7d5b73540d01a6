/**
 * Security notifications by email (ASVS 6.3.5, 6.3.7; SECURITY.md items 22, 30, 34):
 * a sign-in from a new browser or address, a right password followed by a wrong code,
 * an authenticator added or removed, a recovery code used, new recovery codes, a
 * password change, a phone number confirmed, the email address moved (told to the old one).
 *
 * Best effort and in the background: `notify` returns at once, so a slow or failing
 * mail server never delays or fails the request that caused it. Failures go to
 * `ctx.onDeliveryError`. `ctx.settle()` waits for those in flight (tests, shutdown).
 * Only accounts with an email address get them; none holds a code, a password or a
 * secret, only what happened, when, from where, and what to do.
 *
 * At most one mail per kind per account per NOTIFY_WINDOW_MS, counted in the Store so
 * every instance shares the window: a burst of failed sign-ins is one mail, and the next
 * mail of that kind says how many were held back since the last one.
 */
import type { FactorMethod, OutgoingMessage, User } from './ports.ts';
import type { AuthContext, ClientInfo } from './context.ts';

export type SecurityEvent =
  | { type: 'new_sign_in'; method: FactorMethod }
  | { type: 'second_factor_failed'; method: FactorMethod }
  | { type: 'authenticator_added'; label: string }
  | { type: 'authenticator_removed'; label: string }
  | { type: 'recovery_code_used'; left: number }
  | { type: 'recovery_codes_regenerated' }
  | { type: 'password_changed'; revokedSessions: number }
  | { type: 'phone_verified'; phone: string }
  /** Sent to the old address (`notify`'s `to`): the account's mail now goes elsewhere. */
  | { type: 'email_changed'; email: string };

/** At most this many recovery codes left, the notification asks for a new set. */
export const FEW_RECOVERY_CODES = 3;
/** One mail per event kind per account within this window. */
export const NOTIFY_WINDOW_MS = 10 * 60_000;
/** Recent audit events searched for an earlier sign-in from the same browser and address. */
const FAMILIAR_LOOKBACK = 200;

/** Starts sending a notification about `event` and returns at once; never throws. */
export function notify(ctx: AuthContext, userId: string, event: SecurityEvent, client: ClientInfo, options: { to?: string } = {}): void {
  const at = ctx.now();
  const task = deliver(ctx, userId, event, client, at, options.to).catch((error: unknown) => {
    try {
      ctx.onDeliveryError(error, 'email');
    } catch {
      // a broken error handler must not become an unhandled rejection
    }
  });
  ctx.notifications.add(task);
  void task.finally(() => ctx.notifications.delete(task));
}

async function deliver(ctx: AuthContext, userId: string, event: SecurityEvent, client: ClientInfo, at: number, to?: string): Promise<void> {
  const user = await ctx.store.getUserById(userId);
  if (!user || !ctx.sender.supports('email')) return;
  // Only a verified address gets mail beyond its verification code (issue 12, finding 11);
  // `to` is an address the caller knows was verified (the old one, when the email moves).
  const address = to ?? (user.emailVerifiedAt === null ? null : user.email);
  if (!address) return;
  if (event.type === 'new_sign_in' && (await isFamiliarClient(ctx, user, client))) return;
  const claim = await ctx.store.claimNotification(`${user.id}:${event.type}`, at, NOTIFY_WINDOW_MS);
  if (!claim.send) return;
  const heldBack = claim.suppressed > 0 && claim.since !== null ? { suppressed: { count: claim.suppressed, since: claim.since } } : {};
  await ctx.sender.send(notificationMessage(event, { to: address, username: user.username, issuer: ctx.issuer, at, client, ...heldBack }));
}

/**
 * True when the account signed in before from this exact address and browser. The
 * sign-in being notified is already in the audit trail, so one match is itself.
 */
async function isFamiliarClient(ctx: AuthContext, user: User, client: ClientInfo): Promise<boolean> {
  const events = await ctx.store.listAudit({ userId: user.id, limit: FAMILIAR_LOOKBACK });
  const userAgent = client.userAgent.slice(0, 256);
  const matches = events.filter((e) => e.type === 'login_succeeded' && e.ip === client.ip && (e.userAgent ?? '') === userAgent);
  return matches.length >= 2;
}

const METHOD_NAMES: Record<FactorMethod, string> = {
  totp: 'a code from an authenticator app',
  email: 'a code sent by email',
  sms: 'a code sent by SMS',
  recovery: 'a recovery code',
};

export interface NotificationContext {
  to: string;
  username: string;
  issuer: string;
  /** When it happened, milliseconds since the epoch. */
  at: number;
  client: ClientInfo;
  /** Events of the same kind held back since the last mail about one (`since`, ms since the epoch). */
  suppressed?: { count: number; since: number };
}

/** What the held-back events were, in the plural, per kind. */
const HELD_BACK: Record<SecurityEvent['type'], string> = {
  new_sign_in: 'sign-ins from a new browser or address',
  second_factor_failed: 'failed sign-ins (right password, wrong code)',
  authenticator_added: 'authenticators added',
  authenticator_removed: 'authenticators removed',
  recovery_code_used: 'recovery codes used',
  recovery_codes_regenerated: 'new sets of recovery codes',
  password_changed: 'password changes',
  phone_verified: 'phone numbers confirmed',
  email_changed: 'email address changes',
};

/** The email for `event`: what happened, when (UTC), from which address and browser, and what to do if it was not you. */
export function notificationMessage(event: SecurityEvent, c: NotificationContext): OutgoingMessage {
  const account = `your ${c.issuer} account "${c.username}"`;
  const notYou = `Wasn't you? Someone knows your password: change it now, then check your authenticators and sessions on your account page.`;
  let subject: string;
  let lines: string[];
  switch (event.type) {
    case 'new_sign_in':
      subject = `New sign-in to your ${c.issuer} account`;
      lines = [`Someone signed in to ${account} with ${METHOD_NAMES[event.method]}, from a browser or address not seen before.`, '', ...where(c), '', 'If this was you, there is nothing to do.', notYou];
      break;
    case 'second_factor_failed':
      subject = `Failed sign-in to your ${c.issuer} account`;
      lines = [`Someone entered the right password for ${account}, then a one-time code that was not accepted.`, '', ...where(c), '', 'If this was you (a mistyped or late code), there is nothing to do.', notYou];
      break;
    case 'authenticator_added':
      subject = `Authenticator added to your ${c.issuer} account`;
      lines = [`An authenticator app named "${clean(event.label, 64)}" was added to ${account}. Its codes now sign you in.`, '', ...where(c), '', `Wasn't you? Remove it on your account page and change your password now.`];
      break;
    case 'authenticator_removed':
      subject = `Authenticator removed from your ${c.issuer} account`;
      lines = [`The authenticator app named "${clean(event.label, 64)}" was removed from ${account}. Its codes no longer sign you in.`, '', ...where(c), '', notYou];
      break;
    case 'recovery_code_used': {
      subject = `Recovery code used on your ${c.issuer} account`;
      const left = event.left === 1 ? '1 recovery code is left' : `${event.left} recovery codes are left`;
      const few = event.left === 0
        ? ['No recovery codes are left: generate a new set on your account page now.']
        : event.left <= FEW_RECOVERY_CODES ? ['Few are left: generate a new set on your account page (the old codes then stop working).'] : [];
      lines = [`A recovery code was used to sign in to ${account}. Each code works once; ${left}.`, ...few, '', ...where(c), '', notYou];
      break;
    }
    case 'recovery_codes_regenerated':
      subject = `New recovery codes for your ${c.issuer} account`;
      lines = [`A new set of recovery codes was generated for ${account}. The previous codes no longer work.`, '', ...where(c), '', notYou];
      break;
    case 'password_changed': {
      subject = `Your ${c.issuer} password was changed`;
      const revoked = event.revokedSessions === 0 ? '' : event.revokedSessions === 1 ? ' 1 other session was signed out.' : ` ${event.revokedSessions} other sessions were signed out.`;
      lines = [`The password of ${account} was changed.${revoked}`, '', ...where(c), '', `Wasn't you? Someone else may control your account: sign in with your second factor or a recovery code and change the password, or ask your administrator to lock the account.`];
      break;
    }
    case 'phone_verified':
      subject = `Phone number confirmed on your ${c.issuer} account`;
      lines = [`The phone number ${maskPhone(event.phone)} was confirmed for ${account}. Sign-in codes can now be sent to it by SMS.`, '', ...where(c), '', notYou];
      break;
    case 'email_changed':
      subject = `The email address of your ${c.issuer} account was changed`;
      lines = [`The email address of ${account} is now ${maskEmail(event.email)}. Codes and notices no longer come to this address.`, '', ...where(c), '', notYou];
      break;
  }
  if (c.suppressed !== undefined && c.suppressed.count > 0) {
    lines.unshift(
      `${c.suppressed.count} more ${HELD_BACK[event.type]} since ${utc(c.suppressed.since)}, besides this one: we send at most one such email every ${NOTIFY_WINDOW_MS / 60_000} minutes.`,
      '',
    );
  }
  return { channel: 'email', to: c.to, kind: 'notification', subject, text: lines.join('\n') };
}

/** `th***@example.test`: enough for the owner to recognise, not a full address for a reader of the old mailbox. */
function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return at < 0 ? '***' : `${clean(email.slice(0, Math.min(2, at)), 2)}***${clean(email.slice(at), 254)}`;
}

function where(c: NotificationContext): string[] {
  return [
    `When: ${utc(c.at)}`,
    `Address: ${clean(c.client.ip, 64)}`,
    `Browser: ${clean(c.client.userAgent, 200) || 'unknown'}`,
  ];
}

function utc(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** One line of text a client chose (user agent, label): no control characters, bounded length. */
function clean(value: string, max: number): string {
  const line = value.replace(/[\p{Cc}\p{Zl}\p{Zp}\u200b-\u200f\u202a-\u202e\u2066-\u2069]+/gu, ' ').replace(/\s+/g, ' ').trim();
  return [...line].length > max ? `${[...line].slice(0, max - 1).join('')}…` : line;
}

/** `+1 ••• ••• 0123`-like: the country code and last four digits only. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/^\+/, '');
  const tail = digits.slice(-4);
  return `+${digits.slice(0, Math.min(2, digits.length - 4))}${'•'.repeat(Math.max(0, digits.length - 6))}${tail}`;
}
