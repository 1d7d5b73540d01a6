/**
 * Anti-CSRF tokens for HTML forms (ASVS 3.5.1), on top of the same-origin check: a
 * random secret in an HttpOnly `__Host-` cookie, and in each form an HMAC of it under a
 * server key. A cookie planted by a sibling subdomain is impossible (`__Host-`), and a
 * token cannot be made without the server key.
 */
import { createHmac } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { COOKIE, readCookie, setCookie } from '../cookies.ts';
import { generateToken, safeEqual } from '../../auth/tokens.ts';

const CSRF_COOKIE_SECONDS = 7 * 24 * 3600;

function tokenFor(key: Uint8Array, secret: string): string {
  return createHmac('sha256', key).update('csrf\0').update(secret).digest('base64url');
}

/** The token to put in forms, setting the cookie when the browser has none yet. */
export function csrfToken(request: FastifyRequest, reply: FastifyReply, key: Uint8Array): string {
  let secret = readCookie(request, COOKIE.csrf);
  if (!secret) {
    secret = generateToken();
    setCookie(reply, COOKIE.csrf, secret, CSRF_COOKIE_SECONDS);
    // Seen by later reads in this request (one page may render several forms).
    request.cookies[COOKIE.csrf] = secret;
  }
  return tokenFor(key, secret);
}

/** True when the form's token matches the browser's CSRF cookie. */
export function verifyCSRF(request: FastifyRequest, key: Uint8Array, token: unknown): boolean {
  const secret = readCookie(request, COOKIE.csrf);
  return typeof token === 'string' && secret !== undefined && safeEqual(token, tokenFor(key, secret));
}
