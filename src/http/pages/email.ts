/**
 * "Check your email" (`/settings/email`): the code that proves an address, at level 1
 * after sign-up (where email counts, it completes the sign-in) or at level 2 after a change.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientOf } from '../client-info.ts';
import { COOKIE, clearCookie, startSession } from '../cookies.ts';
import { emailVerifyPage } from '../views/email-pages.ts';
import type { EmailVerifyModel } from '../views/email-pages.ts';
import { flashOf, formField, pageContext, redirect, requireSession, sendHTML, tooManyAttempts, unhandled, withFlash } from './forms.ts';

export async function emailPages(app: FastifyInstance): Promise<void> {
  const { auth } = app;

  async function show(request: FastifyRequest, reply: FastifyReply, status: number, extra: Pick<EmailVerifyModel, 'error' | 'notice'>): Promise<FastifyReply> {
    const session = requireSession(request, reply, 1);
    if (!session) return reply;
    const overview = await auth.overview(session);
    if (!overview) {
      clearCookie(reply, COOKIE.session);
      return redirect(reply, '/login');
    }
    return sendHTML(reply, status, emailVerifyPage(pageContext(request, reply, overview.user.username), { pending: overview.emailPending, ...extra }));
  }

  app.get('/settings/email', (request, reply) => show(request, reply, 200, { notice: flashOf(request) }));

  app.post('/settings/email/verify', async (request, reply) => {
    const session = requireSession(request, reply, 1);
    if (!session) return reply;
    const code = formField(request.body, 'code').trim();
    if (code === '') return show(request, reply, 400, { error: 'Enter the code' });
    const result = await auth.verifyEmail(session, code, clientOf(request));
    switch (result.status) {
      case 'verified':
        if (result.session) await startSession(request, reply, result.session);
        // Still level 1 (email does not count here): an authenticator is next.
        return redirect(reply, withFlash(result.session || session.level === 2 ? '/' : '/settings/totp', 'email_verified'));
      case 'invalid_code':
        return show(request, reply, 401, { error: 'Invalid one-time password' });
      case 'code_expired':
        return show(request, reply, 410, { error: 'One-time password has expired — send a new code' });
      case 'rate_limited':
        return show(request, reply, 429, { error: tooManyAttempts(reply, result.retryAfter) });
      case 'session_ended':
        clearCookie(reply, COOKIE.session);
        return redirect(reply, withFlash('/login', 'login_expired'));
    }
    return unhandled(result);
  });

  app.post('/settings/email/resend', async (request, reply) => {
    const session = requireSession(request, reply, 1);
    if (!session) return reply;
    const result = await auth.resendEmailVerification(session, clientOf(request));
    switch (result.status) {
      case 'sent':
        return redirect(reply, withFlash('/settings/email', 'email_code_sent'));
      case 'rate_limited':
        return show(request, reply, 429, { error: tooManyAttempts(reply, result.retryAfter) });
      case 'delivery_failed':
        return show(request, reply, 503, { error: "We couldn't send the code — try later" });
      case 'nothing_to_verify':
        return redirect(reply, '/');
    }
    return unhandled(result);
  });

  await Promise.resolve();
}
