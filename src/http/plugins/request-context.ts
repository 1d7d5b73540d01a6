/**
 * Gives every request its client facts and, when its cookie is valid, its session.
 * Registered once at the root (not encapsulated) so API and pages share it.
 */
import fp from 'fastify-plugin';
import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Auth, Session } from '../../auth/index.ts';
import type { Config } from '../../config.ts';
import { COOKIE, readCookie } from '../cookies.ts';

declare module 'fastify' {
  interface FastifyInstance {
    auth: Auth;
    otpgateConfig: Config;
  }
  interface FastifyRequest {
    /** The live session of the session cookie, or null. */
    session: Session | null;
    /** The raw session token (for rotation and logout); never logged. */
    sessionToken: string | null;
  }
  interface FastifyContextConfig {
    /** The route reads the session cookie itself (the forward-auth gate: one Store read for session, account and groups); request.session stays null. */
    ownSession?: boolean;
  }
}

async function requestContext(app: FastifyInstance, options: { auth: Auth; config: Config }): Promise<void> {
  await app.register(cookie);
  app.decorate('auth', options.auth);
  app.decorate('otpgateConfig', options.config);
  app.decorateRequest('session', null);
  app.decorateRequest('sessionToken', null);
  app.addHook('preHandler', async (request: FastifyRequest, _reply: FastifyReply) => {
    if (request.routeOptions.config.ownSession === true) return;
    const token = readCookie(request, COOKIE.session);
    if (!token) return;
    const session = await options.auth.validateSession(token);
    if (session) {
      request.session = session;
      request.sessionToken = token;
    }
  });
}

export default fp(requestContext, { name: 'otpgate-request-context' });
