/** What every page route shares: reading form fields, answering HTML, session guards, cookies, flash notices. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Session } from '../../auth/index.ts';
import { csrfToken } from '../plugins/csrf.ts';
import type { PageContext } from '../views/layout.ts';
import type { Notice } from '../views/components.ts';

/** A field of a urlencoded form: the string sent, or '' when missing or repeated. Never truncated. */
export function formField(body: unknown, name: string): string {
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, name)) return '';
  const value: unknown = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : '';
}

/** A query parameter, the same way. */
export function queryParam(request: FastifyRequest, name: string): string {
  return formField(request.query, name);
}

/** Longest password the pages pass on (as the API's schema): longer ones are refused, never cut. */
export const PASSWORD_INPUT_MAX = 1024;

export function sendHTML(reply: FastifyReply, status: number, markup: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(markup);
}

/** A page holding a secret shown once (QR/key, recovery codes): never stored by any cache. */
export function sendSecretHTML(reply: FastifyReply, markup: string): FastifyReply {
  void reply.header('cache-control', 'no-store');
  return sendHTML(reply, 200, markup);
}

/** 303 See Other: the browser follows with a GET (Post/Redirect/Get). `location` is always our own path. */
export function redirect(reply: FastifyReply, location: string): FastifyReply {
  return reply.redirect(location, 303);
}

/** The header and form token every page needs. */
export function pageContext(request: FastifyRequest, reply: FastifyReply, username?: string): PageContext {
  const { server } = request;
  return { brand: server.otpgateConfig.issuer, csrf: csrfToken(request, reply, server.auth.context.keyring.csrfKey), username };
}

/**
 * The session at `level` or above, or null after redirecting: no session → /login;
 * password only (level 1) → /settings/totp, the one place it may go.
 */
export function requireSession(request: FastifyRequest, reply: FastifyReply, level: 1 | 2): Session | null {
  const session = request.session;
  if (!session) {
    void redirect(reply, '/login');
    return null;
  }
  if (session.level < level) {
    void redirect(reply, '/settings/totp');
    return null;
  }
  return session;
}

/**
 * Notices carried across a redirect as `?m=KEY`: only a key from this table, never
 * user input or a secret; an unknown key shows nothing.
 */
const FLASH = {
  login_expired: { text: 'Your sign-in timed out — enter your password again.', tone: 'alert' },
  attempts_exhausted: { text: 'Too many wrong codes for this sign-in — enter your password again.', tone: 'alert' },
  logged_out: { text: 'You have logged out.', tone: 'status' },
  delivery_failed: { text: "We couldn't send the code — try another method", tone: 'alert' },
  enrollment_expired: { text: 'That setup has expired — start again.', tone: 'alert' },
  setup_shown: { text: "That key was shown once and can't be shown again — start again for a new one.", tone: 'alert' },
  codes_shown: { text: "Those recovery codes were shown once and can't be shown again. If you didn't save them, generate a new set.", tone: 'alert' },
  factor_added: { text: 'Your authenticator app is set up.', tone: 'status' },
  factor_removed: { text: 'The authenticator was removed.', tone: 'status' },
  recovery_code_used: { text: 'You signed in with a recovery code; it no longer works. Check how many you have left below.', tone: 'status' },
  password_changed: { text: 'Your password was changed. Your other sessions were signed out.', tone: 'status' },
  session_revoked: { text: 'That session was signed out.', tone: 'status' },
  session_not_found: { text: 'That session had already ended.', tone: 'status' },
  device_revoked: { text: 'That browser was forgotten: its next sign-in counts as a new browser.', tone: 'status' },
  device_not_found: { text: 'That browser was already forgotten.', tone: 'status' },
  phone_code_sent: { text: 'We sent a code by SMS.', tone: 'status' },
  phone_code_expired: { text: 'That code has expired — send a new one.', tone: 'alert' },
  phone_verified: { text: 'Your phone number is verified. Codes by SMS can now be used to sign in.', tone: 'status' },
  email_code_sent: { text: 'We sent a new code by email.', tone: 'status' },
  email_verified: { text: 'Your email address is verified.', tone: 'status' },
} as const satisfies Record<string, Notice>;

export type FlashKey = keyof typeof FLASH;

export function withFlash(path: string, key: FlashKey): string {
  return `${path}${path.includes('?') ? '&' : '?'}m=${key}`;
}

export function flashOf(request: FastifyRequest): Notice | undefined {
  const key = queryParam(request, 'm');
  return Object.hasOwn(FLASH, key) ? FLASH[key as FlashKey] : undefined;
}

/** "Too many attempts — try again in N seconds", with Retry-After. */
export function tooManyAttempts(reply: FastifyReply, retryAfter: number): string {
  void reply.header('retry-after', String(retryAfter));
  return `Too many attempts — try again in ${retryAfter} seconds`;
}

/** After a switch over every status of an engine result: a status added later fails to compile. */
export function unhandled(value: never): never {
  throw new TypeError(`Unhandled result ${JSON.stringify(value)}`);
}
