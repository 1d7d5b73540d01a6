/**
 * The cookies (I7): `__Host-` prefixed, so the browser insists on Secure, Path=/ and no
 * Domain; HttpOnly; SameSite=Lax. Each holds a 256-bit random value; the server keeps
 * only its hash.
 *
 *   __Host-otpgate-session  the session token (Max-Age = OTPGATE_SESSION_MAX)
 *   __Host-otpgate-pending  the pending login between password and code (OTPGATE_LOGIN_TTL)
 *   __Host-otpgate-csrf     the anti-CSRF secret that form tokens are derived from
 *   __Host-otpgate-device   set at a completed sign-in: a random token of this browser
 *                           (auth/devices.ts); its password attempts skip the delay and
 *                           the lock strangers' failures put on the username (1 year)
 *   __Host-otpgate-view     the single-use handle of a secret to show once (authenticator
 *                           key, recovery codes) on the page a POST redirects to (10 min)
 *   __Host-otpgate-return   the checked `rd` return URL between the sign-in steps (OTPGATE_LOGIN_TTL)
 *
 * With OTPGATE_COOKIE_DOMAIN the session cookie is `__Secure-otpgate-session;
 * Domain=…` instead, so the apps behind the forward-auth gate on sibling subdomains see
 * it (a `__Host-` cookie cannot carry a Domain). The others stay `__Host-`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { Config } from '../config.ts';
import type { IssuedSession } from '../auth/index.ts';
import { DEVICE_LIFETIME_SECONDS } from '../auth/index.ts';
import { clientOf } from './client-info.ts';

export const COOKIE = {
  session: '__Host-otpgate-session',
  pending: '__Host-otpgate-pending',
  csrf: '__Host-otpgate-csrf',
  device: '__Host-otpgate-device',
  view: '__Host-otpgate-view',
  returnTo: '__Host-otpgate-return',
} as const;

/** The session cookie's name when OTPGATE_COOKIE_DOMAIN is set. */
const DOMAIN_SESSION_COOKIE = '__Secure-otpgate-session';


export type CookieName = (typeof COOKIE)[keyof typeof COOKIE];

const BASE = { path: '/', secure: true, httpOnly: true, sameSite: 'lax' } as const;

/** The name and attributes `name` is really sent with: the session cookie may cover a parent domain. */
function actual(config: Config, name: CookieName): { name: string; options: CookieSerializeOptions } {
  if (name !== COOKIE.session || config.cookieDomain === undefined) return { name, options: BASE };
  return { name: DOMAIN_SESSION_COOKIE, options: { ...BASE, domain: config.cookieDomain } };
}

export function setCookie(reply: FastifyReply, name: CookieName, value: string, maxAgeSeconds: number): void {
  const cookie = actual(reply.server.otpgateConfig, name);
  void reply.setCookie(cookie.name, value, { ...cookie.options, maxAge: maxAgeSeconds });
}

export function clearCookie(reply: FastifyReply, name: CookieName): void {
  const cookie = actual(reply.server.otpgateConfig, name);
  void reply.clearCookie(cookie.name, cookie.options);
}

export function readCookie(request: FastifyRequest, name: CookieName): string | undefined {
  const value = request.cookies[actual(request.server.otpgateConfig, name).name];
  // Every value we set is 43 base64url characters; anything else is not ours.
  return typeof value === 'string' && /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
}

/** Sets the session cookie for a new session and makes it the request's own. */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, issued: IssuedSession): void {
  setCookie(reply, COOKIE.session, issued.token, request.server.otpgateConfig.sessionMaxSeconds);
  request.session = issued.session;
  request.sessionToken = issued.token;
}

/** A new session replaces whatever session and pending login the browser held (I6). */
export async function startSession(request: FastifyRequest, reply: FastifyReply, issued: IssuedSession, deviceToken?: string): Promise<void> {
  if (request.sessionToken) await request.server.auth.endSession(request.sessionToken, clientOf(request));
  if (request.cookies[COOKIE.pending] !== undefined) clearCookie(reply, COOKIE.pending);
  setSessionCookie(request, reply, issued);
  if (deviceToken) setCookie(reply, COOKIE.device, deviceToken, DEVICE_LIFETIME_SECONDS);
}
