/**
 * The HTML pages (API.md "Pages"): server-rendered, working without JavaScript, Post/
 * Redirect/Get. Only urlencoded form bodies are read here (the JSON API reads only JSON).
 * Every POST proves same origin twice (I8): the Origin / Sec-Fetch-Site check, and the
 * anti-CSRF token of the form; either failing answers 403 "This form has expired".
 */
import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isSameOrigin } from '../plugins/same-origin.ts';
import { verifyCSRF } from '../plugins/csrf.ts';
import { errorPage, formExpiredPage } from '../views/error-pages.ts';
import { formField, sendHTML } from './forms.ts';
import { ServerBusyError } from '../../auth/index.ts';
import { staticRoutes } from './static.ts';
import { loginPages } from './login.ts';
import { accountPages } from './account.ts';
import { totpPages } from './totp.ts';
import { unlockPages } from './unlock.ts';
import { emailPages } from './email.ts';

/** Where the "go back" link of the 403 page leads, by the route that refused: always a page of ours. */
const BACK: Record<string, string> = {
  '/signup': '/signup',
  '/login': '/login',
  '/login/otp': '/login/otp',
  '/login/otp/send': '/login/otp',
  '/settings/totp': '/settings/totp',
  '/settings/totp/confirm': '/settings/totp',
  '/settings/phone/confirm': '/settings/phone/confirm',
  '/unlock': '/login',
  '/settings/email/verify': '/settings/email',
  '/settings/email/resend': '/settings/email',
};

export async function pageRoutes(app: FastifyInstance): Promise<void> {
  const brand = () => app.otpgateConfig.issuer;

  function formExpired(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const route = request.routeOptions.url ?? '';
    request.log.info({ statusCode: 403, route }, 'form refused: origin or CSRF token');
    return sendHTML(reply, 403, formExpiredPage(brand(), BACK[route] ?? '/'));
  }

  // Encapsulated: these parsers, hooks and the error handler apply to the pages only.
  app.removeAllContentTypeParsers();
  await app.register(formbody);

  // Before the body is read: a cross-site POST is refused without parsing it.
  app.addHook('onRequest', async (request, reply) => {
    if (request.method === 'POST' && !isSameOrigin(request, app.otpgateConfig)) return formExpired(request, reply);
  });
  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST') return;
    if (!verifyCSRF(request, app.auth.context.keyring.csrfKey, formField(request.body, '_csrf'))) return formExpired(request, reply);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const raw = (error as Partial<FastifyError> | undefined)?.statusCode;
    const status = typeof raw === 'number' && raw >= 400 && raw <= 599 ? raw : 500;
    if (error instanceof ServerBusyError) {
      request.log.warn({ errorCode: error.code }, 'password hashing queue full; answered 503');
      reply.header('retry-after', String(error.retryAfterSeconds));
    } else if (status >= 500) request.log.error({ err: error }, 'request failed');
    // Not the error itself: a parse error may quote the body, which may hold a password.
    else request.log.info({ statusCode: status, errorCode: error.code }, 'request rejected');
    return sendHTML(reply, status, errorPage(brand(), status));
  });

  await app.register(staticRoutes);
  await app.register(loginPages);
  await app.register(accountPages);
  await app.register(totpPages);
  await app.register(unlockPages);
  await app.register(emailPages);
}
