/**
 * The return URL (`rd`, Authelia's name): where a person goes back to after signing in
 * at the gate. Followed only when it is an absolute https URL (http only on loopback)
 * without a user-info part, whose host is OTPGATE_COOKIE_DOMAIN or under it (without a
 * cookie domain: the portal's own host). Everything else — `//evil.com`, `https:evil.com`,
 * `https://evil.com\@example.com`, `https://example.com.evil.com`, encoded tricks — is
 * refused, and the caller goes to `/` (CS Unvalidated Redirects; SECURITY.md item 57).
 *
 * Between the password and the code the checked URL waits in a `__Host-` cookie, so no
 * page or form needs to carry it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { isLoopbackHost } from '../config.ts';
import { COOKIE, clearCookie, setCookie } from './cookies.ts';
import { SECURITY_HEADERS } from './app.ts';

const MAX_LENGTH = 2048;

/** The URL to send the browser to, normalised, or null when `raw` is not a safe return URL. */
export function safeReturnURL(raw: unknown, config: Config): string | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_LENGTH) return null;
  // Browsers read a backslash as a slash and drop tabs and newlines: none may hide a host.
  if (/[\\\s\p{Cc}]/u.test(raw)) return null;
  // Absolute and explicit: "//host" and "https:host" are refused before any parser guesses.
  if (!/^https?:\/\/[^/?#]/i.test(raw)) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  // No user-info, and no percent-escapes in the host: what a reader sees is where it goes.
  const authority = raw.slice(raw.indexOf('//') + 2).split(/[/?#]/)[0] ?? '';
  if (url.username !== '' || url.password !== '' || authority.includes('@') || authority.includes('%')) return null;
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) return null;
  const host = url.hostname.toLowerCase();
  const parent = config.cookieDomain ?? config.publicURL.hostname.toLowerCase();
  if (host !== parent && !host.endsWith(`.${parent}`)) return null;
  return url.href;
}

/** Keeps a checked return URL for the end of the sign-in, or forgets an older one. */
export function rememberReturnURL(request: FastifyRequest, reply: FastifyReply, url: string | null): void {
  if (url !== null) setCookie(reply, COOKIE.returnTo, url, request.server.otpgateConfig.loginTTLSeconds);
  else if (request.cookies[COOKIE.returnTo] !== undefined) clearCookie(reply, COOKIE.returnTo);
}

/** The kept return URL, checked again, and forgotten: null when there is none. */
export function takeReturnURL(request: FastifyRequest, reply: FastifyReply): string | null {
  const raw = request.cookies[COOKIE.returnTo];
  if (raw === undefined) return null;
  clearCookie(reply, COOKIE.returnTo);
  return safeReturnURL(raw, request.server.otpgateConfig);
}

/**
 * The sign-in pages' CSP: a form there may end in a redirect back to an app under the
 * cookie domain, and browsers hold redirects after a form post to `form-action` too.
 * Null without a cookie domain (the default policy stands).
 */
export function signInPolicy(config: Config): string | null {
  const d = config.cookieDomain;
  if (d === undefined) return null;
  return SECURITY_HEADERS['content-security-policy'].replace("form-action 'self'", `form-action 'self' https://${d}:* https://*.${d}:*`);
}
