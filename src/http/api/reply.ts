/** Small helpers every API route shares: error bodies, the session guard, cookies for sessions. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Session } from '../../auth/index.ts';
import { COOKIE, clearCookie } from '../cookies.ts';

/** `{error, message, …extra}` with the status; 429s also carry Retry-After. */
export function sendError(reply: FastifyReply, status: number, error: string, message: string, extra: Record<string, unknown> = {}): FastifyReply {
  if (typeof extra.retry_after === 'number') void reply.header('retry-after', String(extra.retry_after));
  return reply.code(status).send({ error, message, ...extra });
}

/**
 * The request's session at `level` or above, or null after answering 401. A level-1
 * (password-only) session reaches only the enrollment routes (SECURITY.md item 11).
 */
export function requireSession(request: FastifyRequest, reply: FastifyReply, level: 1 | 2): Session | null {
  const session = request.session;
  if (!session || session.level < level) {
    void sendError(reply, 401, 'unauthenticated', session ? 'Complete the second step first' : 'Sign in first');
    return null;
  }
  return session;
}

/** 401 for a level-1 session the engine just ended (the account gained a factor): the cookie goes too. */
export function endedLevelOne(reply: FastifyReply): FastifyReply {
  clearCookie(reply, COOKIE.session);
  return sendError(reply, 401, 'unauthenticated', 'Sign in again');
}

export function clearSessionCookie(reply: FastifyReply): void {
  clearCookie(reply, COOKIE.session);
}

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const password = { type: 'string', minLength: 1, maxLength: 1024 } as const;
const code = { type: 'string', minLength: 1, maxLength: 64 } as const;
/** Re-authentication: exactly one of `{password}` and `{code}`. */
const reauth = { type: 'object', additionalProperties: false, properties: { password, code }, minProperties: 1, maxProperties: 1 } as const;

/** Shared JSON-schema pieces. */
export const schema = {
  code,
  password,
  reauth,
  /** The same, for a route where the body may be left out (it is then null). */
  optionalReauth: { ...reauth, type: ['object', 'null'] },
} as const;
