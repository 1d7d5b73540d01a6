/** The account's sessions: list and revoke. */
import type { FastifyInstance } from 'fastify';
import { clientOf } from '../client-info.ts';
import type { Reauthentication } from '../../auth/index.ts';
import { iso, requireSession, schema, sendError } from './reply.ts';
import { setSessionCookie } from '../cookies.ts';

export async function sessionRoutes(app: FastifyInstance): Promise<void> {
  const { auth } = app;

  app.get('/sessions', async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const sessions = await auth.listSessions(session);
    return reply.send({
      sessions: sessions.map((s) => ({ id: s.id, created_at: iso(s.createdAt), last_seen_at: iso(s.lastSeenAt), ip: s.ip, user_agent: s.userAgent, current: s.current })),
    });
  });

  // No body within ten minutes of signing in; after that, re-authentication.
  app.delete<{ Params: { id: string }; Body: Reauthentication | null }>('/sessions/:id', {
    schema: { params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } }, body: schema.optionalReauth },
  }, async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const proof = request.body ?? undefined;
    const result = await auth.revokeSession(session, request.params.id, clientOf(request), proof);
    if (result.status === 'ok') {
      // A re-authentication renewed this session's id; the client gets the new token.
      if (result.session) setSessionCookie(request, reply, result.session);
      return reply.code(204).send();
    }
    if (result.status === 'not_found') return sendError(reply, 404, 'not_found', 'No such session');
    return sendError(reply, 401, 'reauth_required', 'Confirm with your password or a current code to sign out another session', result.retryAfter ? { retry_after: result.retryAfter } : {});
  });
}
