/** Who is asking, as the engine records it. */
import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { ClientInfo } from '../auth/index.ts';

/** The client's address (the socket's, or X-Forwarded-For from a trusted proxy) and user agent. */
export function clientOf(request: FastifyRequest): ClientInfo {
  const agent = request.headers['user-agent'];
  return { ip: clientAddress(request), userAgent: typeof agent === 'string' ? agent.slice(0, 256) : '' };
}

/**
 * The forwarded address when it is an IP address; otherwise the socket's. A trusted
 * proxy passes on whatever the client wrote in X-Forwarded-For, and text that is not an
 * address must reach neither the audit, the limits nor an email.
 */
export function clientAddress(request: Pick<FastifyRequest, 'ip' | 'socket'>): string {
  return isIP(request.ip) !== 0 ? request.ip : (request.socket.remoteAddress ?? '');
}
