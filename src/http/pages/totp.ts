/**
 * Adding an authenticator (`/settings/totp`), at level 1 (the account must enroll) or 2.
 * GET only shows a form; the POST creates the enrollment and redirects (303) to
 * `/settings/totp/setup`, which shows the QR code and key once, with no-store. Confirming
 * with a code binds it (SECURITY.md item 10); the first factor's recovery codes are shown
 * the same way, at `/settings/recovery-codes`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createQRCodeSVG } from '../../otp/index.ts';
import { clientOf } from '../client-info.ts';
import { COOKIE, clearCookie } from '../cookies.ts';
import { checkQRCodeSVG, totpEnrollPage, totpRetryPage, totpStartPage } from '../views/totp-pages.ts';
import type { TOTPStartModel } from '../views/totp-pages.ts';
import { driftHint } from '../views/components.ts';
import { flashOf, formField, pageContext, redirect, requireSession, sendHTML, sendSecretHTML, tooManyAttempts, withFlash, unhandled } from './forms.ts';
import { redirectToOneView, takeOneView } from './one-time-view.ts';
import { setSessionCookie } from '../cookies.ts';

export async function totpPages(app: FastifyInstance): Promise<void> {
  const { auth } = app;

  /** The account's name for the header, or null after signing the browser out (the account is gone). */
  async function usernameOf(request: FastifyRequest, reply: FastifyReply): Promise<{ username: string; hasChannel: boolean } | null> {
    const session = request.session;
    const overview = session ? await auth.overview(session) : null;
    if (!overview) {
      clearCookie(reply, COOKIE.session);
      void redirect(reply, '/login');
      return null;
    }
    return { username: overview.user.username, hasChannel: overview.factors.some((f) => f.type === 'email' || f.type === 'sms') };
  }

  async function showStart(request: FastifyRequest, reply: FastifyReply, status: number, extra: Pick<TOTPStartModel, 'error' | 'notice'>): Promise<FastifyReply> {
    const session = requireSession(request, reply, 1);
    if (!session) return reply;
    const account = await usernameOf(request, reply);
    if (!account) return reply;
    const needsReauth = session.level === 2 && !auth.isFreshSignIn(session);
    const model: TOTPStartModel = { level: session.level, canSignInWithEmail: session.level === 1 && account.hasChannel, needsReauth, ...extra };
    return sendHTML(reply, status, totpStartPage(pageContext(request, reply, account.username), model));
  }

  /** The level-1 session was ended (the account gained a factor): sign in again, with it. */
  function signedOut(reply: FastifyReply): FastifyReply {
    clearCookie(reply, COOKIE.session);
    return redirect(reply, withFlash('/login', 'login_expired'));
  }

  app.get('/settings/totp', (request, reply) => showStart(request, reply, 200, { notice: flashOf(request) }));

  app.post('/settings/totp', async (request, reply) => {
    const session = requireSession(request, reply, 1);
    if (!session) return reply;
    const label = formField(request.body, 'label').trim();
    const password = formField(request.body, 'password');
    const result = await auth.beginTOTPEnrollment(session, label === '' ? undefined : label, password === '' ? undefined : { password }, clientOf(request));
    if (result.status === 'reauth_required') {
      return showStart(request, reply, result.retryAfter === undefined ? 401 : 429, {
        error: result.retryAfter === undefined ? 'That password is not right' : tooManyAttempts(reply, result.retryAfter),
      });
    }
    if (result.status === 'too_many_factors') return showStart(request, reply, 409, { error: 'You have the most authenticators allowed. Remove one first.' });
    if (result.status === 'invalid_request') return showStart(request, reply, 400, { error: result.message });
    if (result.status === 'session_ended') return signedOut(reply);
    if (result.session) setSessionCookie(request, reply, result.session);
    const { enrollment } = result;
    // Never the answer to this POST: Back and Reload must not send the password again.
    return redirectToOneView(request, reply, request.session ?? session, {
      kind: 'totp_setup', factorId: enrollment.factorId, secret: enrollment.secret, otpauthURI: enrollment.otpauthURI,
    }, '/settings/totp/setup');
  });

  // The key and QR code, once: a reload finds the handle spent and shows nothing secret.
  app.get('/settings/totp/setup', async (request, reply) => {
    const session = requireSession(request, reply, 1);
    if (!session) return reply;
    const setup = await takeOneView(request, reply, session, 'totp_setup');
    if (!setup) return redirect(reply, withFlash('/settings/totp', 'setup_shown'));
    const account = await usernameOf(request, reply);
    if (!account) return reply;
    const qrSVG = checkQRCodeSVG(await createQRCodeSVG(setup.otpauthURI));
    return sendSecretHTML(reply, totpEnrollPage(pageContext(request, reply, account.username), {
      factorId: setup.factorId, secret: setup.secret, otpauthURI: setup.otpauthURI, qrSVG, accountName: account.username,
    }));
  });

  app.post('/settings/totp/confirm', async (request, reply) => {
    const session = requireSession(request, reply, 1);
    if (!session) return reply;
    const factorId = formField(request.body, 'factor_id');
    const code = formField(request.body, 'code').trim();
    const retry = async (status: number, message: string, hint?: string) => {
      const account = await usernameOf(request, reply);
      if (!account) return reply;
      return sendHTML(reply, status, totpRetryPage(pageContext(request, reply, account.username), { factorId, error: { message, hint } }));
    };
    if (factorId === '') return redirect(reply, '/settings/totp');
    if (code === '') return retry(400, 'Enter the code');
    const endOtherSessions = formField(request.body, 'end_other_sessions') === '1';
    const result = await auth.confirmTOTPEnrollment(session, factorId, code, clientOf(request), { endOtherSessions });
    switch (result.status) {
      case 'ok': {
        // Level 1 → 2: the engine replaced the session (I6); the browser gets the new one.
        if (result.session) setSessionCookie(request, reply, result.session);
        if (!result.recoveryCodes) return redirect(reply, withFlash('/', 'factor_added'));
        return redirectToOneView(request, reply, request.session ?? session, {
          kind: 'recovery_codes', codes: result.recoveryCodes, generatedAt: auth.context.now(), firstFactor: true,
        }, '/settings/recovery-codes');
      }
      case 'invalid_code':
        return retry(401, 'Invalid one-time password', result.driftSeconds === undefined ? undefined : driftHint(result.driftSeconds));
      case 'not_found':
        return redirect(reply, withFlash('/settings/totp', 'enrollment_expired'));
      case 'session_ended':
        return signedOut(reply);
      case 'rate_limited':
        return retry(429, tooManyAttempts(reply, result.retryAfter));
    }
    return unhandled(result);
  });

  await Promise.resolve();
}
