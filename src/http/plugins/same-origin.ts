/**
 * I8: every state-changing request proves it comes from our own origin. Browsers send
 * `Origin` on every cross-site POST/PUT/PATCH/DELETE, and `Sec-Fetch-Site` besides; a
 * request with neither is not from a browser (curl, a mobile app), which cannot carry a
 * victim's cookies into a forged request. The public origin is read on each request
 * (with port 0 it is filled in after listening).
 */
import type { FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isSameOrigin(request: FastifyRequest, config: Config): boolean {
  if (SAFE_METHODS.has(request.method)) return true;
  const origin = request.headers.origin;
  if (origin !== undefined) return origin === config.publicURL.origin;
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin' || site === 'none';
  return true;
}
