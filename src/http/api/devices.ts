/** The account's devices (browsers that completed a sign-in): list and revoke. */
import type { FastifyInstance } from 'fastify';
import { clientOf } from '../client-info.ts';
import { COOKIE, readCookie } from '../cookies.ts';
import type { Reauthentication } from '../../auth/index.ts';
import { iso, requireSession, schema, sendError } from './reply.ts';

export async function deviceRoutes(app: FastifyInstance): Promise<void> {
  const { auth } = app;

  app.get('/devices', async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const devices = await auth.listDevices(session, readCookie(request, COOKIE.device));
    return reply.send({
      devices: devices.map((d) => ({ id: d.id, created_at: iso(d.createdAt), last_used_at: iso(d.lastUsedAt), ip: d.ip, user_agent: d.userAgent, current: d.current })),
    });
  });

  // As revoking a session: no body within ten minutes of signing in; after that, re-authentication.
  app.delete<{ Params: { id: string }; Body: Reauthentication | null }>('/devices/:id', {
    schema: { params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } }, body: schema.optionalReauth },
  }, async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const result = await auth.revokeDevice(session, request.params.id, clientOf(request), request.body ?? undefined);
    if (result.status === 'ok') return reply.code(204).send();
    if (result.status === 'not_found') return sendError(reply, 404, 'not_found', 'No such device');
    return sendError(reply, 401, 'reauth_required', 'Confirm with your password or a current code to forget a browser', result.retryAfter ? { retry_after: result.retryAfter } : {});
  });
}
