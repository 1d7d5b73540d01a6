/** The account security page (`/`) and the changes made from it; every change needs level 2. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Reauthentication, Session } from '../../auth/index.ts';
import { clientOf } from '../client-info.ts';
import { COOKIE, clearCookie, readCookie, setSessionCookie } from '../cookies.ts';
import { accountPage } from '../views/account-page.ts';
import type { AccountModel } from '../views/account-page.ts';
import { phoneConfirmPage } from '../views/phone-pages.ts';
import { recoveryCodesPage } from '../views/recovery-codes-page.ts';
import {
  PASSWORD_INPUT_MAX, flashOf, formField, pageContext, redirect, requireSession, sendHTML, sendSecretHTML, tooManyAttempts, withFlash, unhandled,
} from './forms.ts';
import { redirectToOneView, takeOneView } from './one-time-view.ts';

const REAUTH_REFUSED = 'Your password or code was not accepted';
const SMS_DISABLED = 'SMS codes are not used on this server';

export async function accountPages(app: FastifyInstance): Promise<void> {
  const { auth, otpgateConfig: config } = app;

  async function signedOut(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (request.sessionToken) await auth.endSession(request.sessionToken, clientOf(request));
    clearCookie(reply, COOKIE.session);
    return redirect(reply, '/login');
  }

  async function showAccount(request: FastifyRequest, reply: FastifyReply, session: Session, status: number, extra: Pick<AccountModel, 'notice' | 'error'>): Promise<FastifyReply> {
    const overview = await auth.overview(session);
    if (!overview) return signedOut(request, reply);
    const [sessions, devices, activity] = await Promise.all([
      auth.listSessions(session), auth.listDevices(session, readCookie(request, COOKIE.device)), auth.listAudit({ userId: session.userId, limit: 20 }),
    ]);
    const model: AccountModel = { overview, sessions, devices, activity, smsEnabled: config.factors.includes('sms'), freshSignIn: auth.isFreshSignIn(session), ...extra };
    return sendHTML(reply, status, accountPage(pageContext(request, reply, overview.user.username), model));
  }

  /** The password, or else the authenticator code, from a re-authentication form. */
  function proofOf(body: unknown): Reauthentication | null {
    const password = formField(body, 'password');
    if (password !== '' && password.length <= PASSWORD_INPUT_MAX) return { password };
    const code = formField(body, 'code').trim();
    return code === '' ? null : { code };
  }

  function reauthMessage(reply: FastifyReply, retryAfter: number | undefined): { status: number; message: string } {
    return retryAfter === undefined ? { status: 401, message: REAUTH_REFUSED } : { status: 429, message: tooManyAttempts(reply, retryAfter) };
  }

  app.get('/', async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    return showAccount(request, reply, session, 200, { notice: flashOf(request) });
  });

  app.post('/settings/factors/remove', async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const factorId = formField(request.body, 'factor_id');
    const proof = proofOf(request.body);
    if (!proof) return showAccount(request, reply, session, 400, { error: { section: 'factors', factorId, message: 'Enter your password or a code from your authenticator app' } });
    const result = await auth.removeTOTPFactor(session, factorId, proof, clientOf(request));
    if (result.status === 'ok') {
      if (result.session) setSessionCookie(request, reply, result.session);
      return redirect(reply, withFlash('/', 'factor_removed'));
    }
    if (result.status === 'not_found') return redirect(reply, '/');
    const { status, message } = reauthMessage(reply, result.retryAfter);
    return showAccount(request, reply, session, status, { error: { section: 'factors', factorId, message } });
  });

  app.post('/settings/recovery-codes', async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const proof = proofOf(request.body);
    if (!proof) return showAccount(request, reply, session, 400, { error: { section: 'recovery', message: 'Enter your password or a code from your authenticator app' } });
    const result = await auth.regenerateRecoveryCodes(session, proof, clientOf(request));
    if (result.status === 'ok') {
      if (result.session) setSessionCookie(request, reply, result.session);
      // Never the answer to this POST: Back and Reload must not send the password again.
      return redirectToOneView(request, reply, request.session ?? session, {
        kind: 'recovery_codes', codes: result.recoveryCodes, generatedAt: auth.context.now(), firstFactor: false,
      }, '/settings/recovery-codes');
    }
    if (result.status === 'not_found') return redirect(reply, '/');
    const { status, message } = reauthMessage(reply, result.retryAfter);
    return showAccount(request, reply, session, status, { error: { section: 'recovery', message } });
  });

  // New recovery codes, once (after regenerating them, or after the first authenticator).
  app.get('/settings/recovery-codes', async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const shown = await takeOneView(request, reply, session, 'recovery_codes');
    if (!shown) return redirect(reply, `${withFlash('/', 'codes_shown')}#recovery`);
    const overview = await auth.overview(session);
    if (!overview) return signedOut(request, reply);
    return sendSecretHTML(reply, recoveryCodesPage(pageContext(request, reply, overview.user.username), {
      codes: shown.codes, accountName: overview.user.username, generatedAt: shown.generatedAt, firstFactor: shown.firstFactor,
    }));
  });

  app.post('/settings/password', async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const current = formField(request.body, 'current_password');
    const next = formField(request.body, 'new_password');
    const refuse = (status: number, message: string) => showAccount(request, reply, session, status, { error: { section: 'password', message } });
    if (current === '' || next === '') return refuse(400, 'Enter your current password and a new one');
    if (current.length > PASSWORD_INPUT_MAX || next.length > PASSWORD_INPUT_MAX) return refuse(400, 'Password is too long');
    const result = await auth.changePassword(session, current, next, clientOf(request));
    switch (result.status) {
      case 'ok':
        // This browser continues under a new session id (SECURITY.md item 37).
        if (result.session) setSessionCookie(request, reply, result.session);
        return redirect(reply, withFlash('/', 'password_changed'));
      case 'weak_password':
        return refuse(400, result.message);
      case 'reauth_required':
        return result.retryAfter === undefined ? refuse(401, 'Current password is incorrect') : refuse(429, tooManyAttempts(reply, result.retryAfter));
    }
    return unhandled(result);
  });

  app.post('/settings/sessions/revoke', async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const id = formField(request.body, 'session_id');
    if (id === session.id) {
      // Revoking this very session is logging out.
      if (request.sessionToken) await auth.endSession(request.sessionToken, clientOf(request));
      clearCookie(reply, COOKIE.session);
      return redirect(reply, withFlash('/login', 'logged_out'));
    }
    if (id === '') return redirect(reply, withFlash('/', 'session_not_found'));
    const result = await auth.revokeSession(session, id, clientOf(request), proofOf(request.body) ?? undefined);
    if (result.status === 'reauth_required') {
      const { status, message } = reauthMessage(reply, result.retryAfter);
      return showAccount(request, reply, session, status, { error: { section: 'sessions', message } });
    }
    if (result.status === 'ok' && result.session) setSessionCookie(request, reply, result.session);
    return redirect(reply, withFlash('/', result.status === 'ok' ? 'session_revoked' : 'session_not_found'));
  });

  app.post('/settings/devices/revoke', async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const id = formField(request.body, 'device_id');
    if (id === '') return redirect(reply, withFlash('/', 'device_not_found'));
    const result = await auth.revokeDevice(session, id, clientOf(request), proofOf(request.body) ?? undefined);
    if (result.status === 'reauth_required') {
      const { status, message } = reauthMessage(reply, result.retryAfter);
      return showAccount(request, reply, session, status, { error: { section: 'devices', message } });
    }
    return redirect(reply, `${withFlash('/', result.status === 'ok' ? 'device_revoked' : 'device_not_found')}#devices`);
  });

  app.post('/settings/phone', async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const refuse = (status: number, message: string) => showAccount(request, reply, session, status, { error: { section: 'phone', message } });
    const phone = formField(request.body, 'phone');
    if (phone.trim() === '') return refuse(400, 'Enter a mobile number');
    const result = await auth.startPhoneVerification(session, phone, clientOf(request), proofOf(request.body) ?? undefined);
    switch (result.status) {
      case 'sent':
        if (result.session) setSessionCookie(request, reply, result.session);
        return redirect(reply, withFlash('/settings/phone/confirm', 'phone_code_sent'));
      case 'invalid_request':
      case 'phone_not_allowed':
        return refuse(400, result.message);
      case 'unauthenticated':
        return refuse(401, 'Complete the second step first');
      case 'sms_disabled':
        return refuse(403, SMS_DISABLED);
      case 'reauth_required': {
        const { status, message } = reauthMessage(reply, result.retryAfter);
        return refuse(status, message);
      }
      case 'rate_limited':
        return refuse(429, tooManyAttempts(reply, result.retryAfter));
      case 'delivery_failed':
        return refuse(503, "We couldn't send the code — check the number or try again later");
    }
    return unhandled(result);
  });

  app.get('/settings/phone/confirm', async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const overview = await auth.overview(session);
    if (!overview) return signedOut(request, reply);
    return sendHTML(reply, 200, phoneConfirmPage(pageContext(request, reply, overview.user.username), { notice: flashOf(request) }));
  });

  app.post('/settings/phone/confirm', async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const code = formField(request.body, 'code').trim();
    const refuse = async (status: number, error: string) => {
      const overview = await auth.overview(session);
      if (!overview) return signedOut(request, reply);
      return sendHTML(reply, status, phoneConfirmPage(pageContext(request, reply, overview.user.username), { error }));
    };
    if (code === '') return refuse(400, 'Enter the code');
    const result = await auth.confirmPhoneVerification(session, code, clientOf(request));
    switch (result.status) {
      case 'ok':
        return redirect(reply, `${withFlash('/', 'phone_verified')}#phone`);
      case 'invalid_code':
        return refuse(401, 'Invalid one-time password');
      case 'code_expired':
        return redirect(reply, `${withFlash('/', 'phone_code_expired')}#phone`);
      case 'unauthenticated':
        return refuse(401, 'Complete the second step first');
      case 'sms_disabled':
        return refuse(403, SMS_DISABLED);
    }
    return unhandled(result);
  });

  await Promise.resolve();
}
