/** Small helpers every API route shares: error bodies, the session guard, cookies for sessions. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Reauthentication, Session } from '../../auth/index.ts';
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

export function clearSessionCookie(reply: FastifyReply): void {
  clearCookie(reply, COOKIE.session);
}

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Shared JSON-schema pieces. */
export const schema = {
  code: { type: 'string', minLength: 1, maxLength: 64 },
  password: { type: 'string', minLength: 1, maxLength: 1024 },
  reauth: {
    type: 'object',
    additionalProperties: false,
    properties: { password: { type: 'string', minLength: 1, maxLength: 1024 }, code: { type: 'string', minLength: 1, maxLength: 64 } },
    minProperties: 1,
    maxProperties: 1,
  },
} as const;

/**
 * Re-authentication in a body that may be absent: undefined when there is none,
 * 'invalid' when it is not exactly what `schema.reauth` accepts.
 */
export function optionalProof(body: unknown): Reauthentication | undefined | 'invalid' {
  if (body === undefined || body === null) return undefined;
  if (typeof body !== 'object' || Array.isArray(body)) return 'invalid';
  const entries = Object.entries(body);
  if (entries.length !== 1) return 'invalid';
  const [name, value] = entries[0] ?? [];
  if (typeof value !== 'string' || value.length === 0) return 'invalid';
  if (name === 'password' && value.length <= schema.password.maxLength) return { password: value };
  if (name === 'code' && value.length <= schema.code.maxLength) return { code: value };
  return 'invalid';
}
