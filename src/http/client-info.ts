/** Who is asking, as the engine records it. */
import type { FastifyRequest } from 'fastify';
import type { ClientInfo } from '../auth/index.ts';

/** The client's address (the socket's, or X-Forwarded-For from a trusted proxy) and user agent. */
export function clientOf(request: FastifyRequest): ClientInfo {
  const agent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof agent === 'string' ? agent.slice(0, 256) : '' };
}
