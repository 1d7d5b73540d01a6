/**
 * The JSON API (API.md), under /api. Bodies are JSON only (no form parser in this
 * scope, so `text/plain` and form posts get 415), validated by schema with unknown
 * fields refused; every state-changing request proves same origin (I8).
 */
import type { FastifyInstance } from 'fastify';
import { isSameOrigin } from '../plugins/same-origin.ts';
import { sendError } from './reply.ts';
import { loginRoutes } from './login.ts';
import { accountRoutes } from './account.ts';
import { factorRoutes } from './factors.ts';
import { sessionRoutes } from './sessions.ts';
import { deviceRoutes } from './devices.ts';

export async function apiRoutes(app: FastifyInstance): Promise<void> {
  // JSON only: a cross-site form can send text/plain without a preflight (SECURITY.md item 47).
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', async (request, reply) => {
    if (!isSameOrigin(request, app.otpgateConfig)) {
      return sendError(reply, 403, 'forbidden_origin', 'Cross-origin requests are not allowed');
    }
  });
  await app.register(loginRoutes);
  await app.register(accountRoutes);
  await app.register(factorRoutes);
  await app.register(sessionRoutes);
  await app.register(deviceRoutes);
}
