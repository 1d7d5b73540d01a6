/** The account's sessions: list and revoke. */
import type { FastifyInstance } from 'fastify';
import { clientOf } from '../plugins/request-context.ts';
import { iso, requireSession, sendError } from './reply.ts';

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

  app.delete<{ Params: { id: string } }>('/sessions/:id', {
    schema: { params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } } },
  }, async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    if (!(await auth.revokeSession(session, request.params.id, clientOf(request)))) return sendError(reply, 404, 'not_found', 'No such session');
    return reply.code(204).send();
  });
}
