/**
 * The emailed unlock link of the password lock for strangers (auth/password-lock.ts).
 * Anonymous row of ARCHITECTURE.md's table: it reads nothing of the account. The GET only
 * shows a confirm form (mail scanners follow links); the POST, with the form's CSRF token,
 * spends the single-use link.
 */
import type { FastifyInstance } from 'fastify';
import { clientOf } from '../client-info.ts';
import { unlockConfirmPage, unlockDonePage } from '../views/unlock-pages.ts';
import { formField, pageContext, queryParam, sendHTML, sendSecretHTML } from './forms.ts';

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export async function unlockPages(app: FastifyInstance): Promise<void> {
  const { auth } = app;

  app.get('/unlock', (request, reply) => {
    const token = queryParam(request, 'token');
    if (!TOKEN.test(token)) return sendHTML(reply, 410, unlockDonePage(pageContext(request, reply), false));
    return sendSecretHTML(reply, unlockConfirmPage(pageContext(request, reply), token));
  });

  app.post('/unlock', async (request, reply) => {
    const result = await auth.unlockWithLink(formField(request.body, 'token'), clientOf(request));
    void reply.header('cache-control', 'no-store');
    return sendHTML(reply, result.status === 'ok' ? 200 : 410, unlockDonePage(pageContext(request, reply), result.status === 'ok'));
  });

  await Promise.resolve();
}
