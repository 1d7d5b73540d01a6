/** Sign-up, the two login steps and logout. */
import type { FastifyInstance } from 'fastify';
import type { DeliveryChannel, FactorMethod } from '../../auth/index.ts';
import { clientOf } from '../client-info.ts';
import { COOKIE, clearCookie, readCookie, setCookie, startSession } from '../cookies.ts';
import { clearSessionCookie, schema, sendError } from './reply.ts';

interface SignupBody { username: string; password: string; email?: string; phone?: string }
interface LoginBody { username: string; password: string }
interface SendBody { method: DeliveryChannel }
interface VerifyBody { code: string; method: FactorMethod }

const DELIVERY_FAILED = "We couldn't send the code — try another method";

export async function loginRoutes(app: FastifyInstance): Promise<void> {
  const { auth } = app;

  app.post<{ Body: SignupBody }>('/signup', {
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['username', 'password'],
        properties: {
          username: { type: 'string', minLength: 1, maxLength: 256 },
          password: schema.password,
          email: { type: 'string', maxLength: 254 },
          phone: { type: 'string', maxLength: 32 },
        },
      },
    },
  }, async (request, reply) => {
    const { username, password, email, phone } = request.body;
    const result = await auth.signup({ username, password, email: email || null, phone: phone || null }, clientOf(request));
    switch (result.status) {
      case 'ok':
        await startSession(request, reply, result.session);
        return reply.code(201).send({
          user: { id: result.user.id, username: result.user.username },
          ...(result.emailVerification !== null ? { email_verification: result.emailVerification } : {}),
        });
      case 'rate_limited':
        return sendError(reply, 429, 'rate_limited', `Too many sign-ups from this address — try again in ${result.retryAfter} seconds`, { retry_after: result.retryAfter });
      case 'signup_closed':
        return sendError(reply, 403, 'signup_closed', 'Sign-up is closed; ask an administrator for an account');
      case 'username_taken':
        return sendError(reply, 409, 'username_taken', 'That username is taken');
      case 'weak_password':
        return sendError(reply, 400, 'weak_password', result.message);
      case 'invalid_request':
        return sendError(reply, 400, 'invalid_request', result.message);
    }
  });

  app.post<{ Body: LoginBody }>('/login', {
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['username', 'password'],
        properties: { username: { type: 'string', minLength: 1, maxLength: 256 }, password: schema.password },
      },
    },
  }, async (request, reply) => {
    const result = await auth.startLogin(request.body.username, request.body.password, clientOf(request), readCookie(request, COOKIE.device));
    switch (result.status) {
      case 'invalid_credentials':
        return sendError(reply, 401, 'invalid_credentials', 'Invalid username or password');
      case 'rate_limited':
        return sendError(reply, 429, 'rate_limited', `Too many attempts — try again in ${result.retryAfter} seconds`, { retry_after: result.retryAfter });
      case 'enrollment_required':
        await startSession(request, reply, result.session);
        return reply.send({ status: 'enrollment_required' });
      case 'otp_required':
        setCookie(reply, COOKIE.pending, result.pendingLoginId, app.otpgateConfig.loginTTLSeconds);
        return reply.send({
          status: 'otp_required',
          methods: result.methods,
          ...(result.sent ? { sent: result.sent } : {}),
          ...(result.deliveryFailed ? { delivery_failed: result.deliveryFailed, message: DELIVERY_FAILED } : {}),
        });
    }
  });

  app.post<{ Body: SendBody }>('/login/send', {
    schema: {
      body: { type: 'object', additionalProperties: false, required: ['method'], properties: { method: { type: 'string', enum: ['email', 'sms'] } } },
    },
  }, async (request, reply) => {
    const pendingId = readCookie(request, COOKIE.pending);
    if (!pendingId) return sendError(reply, 401, 'login_expired', 'Sign in again');
    const result = await auth.sendLoginCode(pendingId, request.body.method, clientOf(request));
    switch (result.status) {
      case 'sent':
        return reply.code(202).send({ status: 'sent', method: result.channel, expires_in: result.expiresIn, resend_after: result.resendAfter });
      case 'login_expired':
        clearCookie(reply, COOKIE.pending);
        return sendError(reply, 401, 'login_expired', 'Sign in again');
      case 'method_unavailable':
        return sendError(reply, 400, 'method_unavailable', 'That method is not available for this account');
      case 'rate_limited':
        return sendError(reply, 429, 'rate_limited', `Too many codes sent — try again in ${result.retryAfter} seconds`, { retry_after: result.retryAfter });
      case 'delivery_failed':
        return sendError(reply, 503, 'delivery_failed', DELIVERY_FAILED);
    }
  });

  app.post<{ Body: VerifyBody }>('/login/verify', {
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'method'],
        properties: { code: schema.code, method: { type: 'string', enum: ['totp', 'email', 'sms', 'recovery'] } },
      },
    },
  }, async (request, reply) => {
    const pendingId = readCookie(request, COOKIE.pending);
    if (!pendingId) return sendError(reply, 401, 'login_expired', 'Sign in again');
    const result = await auth.verifyLogin(pendingId, request.body.method, request.body.code, clientOf(request), readCookie(request, COOKIE.device));
    switch (result.status) {
      case 'enrollment_required':
        // The code proved a factor that no longer counts: a level-1 session, to enroll one that does.
        await startSession(request, reply, result.session);
        return reply.send({ status: 'enrollment_required' });
      case 'authenticated':
        // I6: whatever session cookie came in is replaced by the new one.
        await startSession(request, reply, result.session, result.deviceToken);
        return reply.send({ status: 'authenticated', ...(result.recoveryCodesLeft !== undefined ? { recovery_codes_left: result.recoveryCodesLeft } : {}) });
      case 'invalid_code':
        if (result.attemptsLeft <= 0) clearCookie(reply, COOKIE.pending);
        return sendError(reply, 401, 'invalid_code', 'Invalid one-time password', {
          attempts_left: result.attemptsLeft,
          ...(result.driftSeconds !== undefined ? { drift_seconds: result.driftSeconds } : {}),
        });
      case 'code_expired':
        return sendError(reply, 410, 'code_expired', 'One-time password has expired', { attempts_left: result.attemptsLeft });
      case 'login_expired':
        clearCookie(reply, COOKIE.pending);
        return sendError(reply, 401, 'login_expired', 'Sign in again');
      case 'method_unavailable':
        return sendError(reply, 400, 'method_unavailable', 'That method is not available for this account');
      case 'too_many_attempts':
        return result.retryAfter === null
          ? sendError(reply, 429, 'too_many_attempts', 'Too many attempts — second factors are locked; use a recovery code or ask an administrator', { locked: true })
          : sendError(reply, 429, 'too_many_attempts', `Too many attempts — try again in ${result.retryAfter} seconds`, { retry_after: result.retryAfter });
    }
  });

  app.post('/logout', async (request, reply) => {
    if (request.sessionToken) await auth.endSession(request.sessionToken, clientOf(request));
    const pendingId = readCookie(request, COOKIE.pending);
    if (pendingId !== undefined) await auth.endPendingLogin(pendingId);
    clearSessionCookie(reply);
    clearCookie(reply, COOKIE.pending);
    return reply.code(204).send();
  });
}
