/** The signed-in account: who am I, password change, phone number, recent activity. */
import type { FastifyInstance } from 'fastify';
import { clientOf } from '../client-info.ts';
import type { FastifyReply } from 'fastify';
import type { EmailSendResult } from '../../auth/index.ts';
import { setSessionCookie, startSession } from '../cookies.ts';
import { endedLevelOne, iso, requireSession, schema, sendError } from './reply.ts';

function sendEmailResult(reply: FastifyReply, result: EmailSendResult): FastifyReply {
  switch (result.status) {
    case 'sent':
      return reply.code(202).send({ status: 'sent', expires_in: result.expiresIn });
    case 'rate_limited':
      return sendError(reply, 429, 'rate_limited', `Too many codes sent — try again in ${result.retryAfter} seconds`, { retry_after: result.retryAfter });
    case 'delivery_failed':
      return sendError(reply, 503, 'delivery_failed', "We couldn't send the code — check the address or try later");
    case 'nothing_to_verify':
      return sendError(reply, 404, 'not_found', 'No email address is waiting to be verified');
  }
}

const SMS_DISABLED = 'SMS codes are not used on this server (sms is not in OTPGATE_FACTORS)';

export async function accountRoutes(app: FastifyInstance): Promise<void> {
  const { auth } = app;

  // Level 1 may read this: it tells an enrolling client where it stands, and nothing more
  // (no address, number or factor list: issue 12, finding 20).
  app.get('/me', async (request, reply) => {
    const session = requireSession(request, reply, 1);
    if (!session) return reply;
    const overview = await auth.overview(session);
    if (!overview) return sendError(reply, 401, 'unauthenticated', 'Sign in first');
    if (overview.level === 1) {
      return reply.send({
        user: { username: overview.user.username },
        level: 1,
        enrollment: { methods: ['totp'], email_verification: overview.emailPending === null ? null : 'pending' },
      });
    }
    return reply.send({
      user: {
        id: overview.user.id, username: overview.user.username, email: overview.user.email, email_verified: overview.user.emailVerified,
        phone: overview.user.phone, phone_verified: overview.user.phoneVerified,
      },
      ...(overview.emailPending !== null && overview.emailPending !== overview.user.email ? { email_pending: overview.emailPending } : {}),
      level: overview.level,
      factors: overview.factors.map((f) => ({ id: f.id, type: f.type, label: f.label, created_at: iso(f.createdAt), last_used_at: iso(f.lastUsedAt) })),
      recovery_codes_left: overview.recoveryCodesLeft,
      second_factors_locked: overview.secondFactorsLocked,
    });
  });

  app.post<{ Body: { current_password: string; new_password: string } }>('/password', {
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['current_password', 'new_password'],
        properties: { current_password: schema.password, new_password: schema.password },
      },
    },
  }, async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const result = await auth.changePassword(session, request.body.current_password, request.body.new_password, clientOf(request));
    if (result.status === 'ok') {
      // This session continues under a new token (SECURITY.md item 37).
      if (result.session) setSessionCookie(request, reply, result.session);
      return reply.send({ status: 'changed', revoked_sessions: result.revokedSessions });
    }
    if (result.status === 'weak_password') return sendError(reply, 400, 'weak_password', result.message);
    return sendError(reply, 401, 'reauth_required', 'The current password is not right', result.retryAfter ? { retry_after: result.retryAfter } : {});
  });

  // Level 2 only, and only while `sms` is a factor. A sign-in older than ten minutes must
  // add `password` or `code`; replacing a verified number always must (re-authentication).
  app.post<{ Body: { phone: string; password?: string; code?: string } }>('/phone', {
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['phone'],
        properties: { phone: { type: 'string', minLength: 1, maxLength: 32 }, password: schema.password, code: schema.code },
      },
    },
  }, async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const { phone, password, code } = request.body;
    const proof = password !== undefined ? { password } : code !== undefined ? { code } : undefined;
    const result = await auth.startPhoneVerification(session, phone, clientOf(request), proof);
    switch (result.status) {
      case 'sent':
        if (result.session) setSessionCookie(request, reply, result.session);
        return reply.code(202).send({ status: 'sent', phone: result.phone, expires_in: result.expiresIn });
      case 'invalid_request':
        return sendError(reply, 400, 'invalid_request', result.message);
      case 'phone_not_allowed':
        return sendError(reply, 400, 'phone_not_allowed', result.message);
      case 'unauthenticated':
        return sendError(reply, 401, 'unauthenticated', 'Complete the second step first');
      case 'sms_disabled':
        return sendError(reply, 403, 'sms_disabled', SMS_DISABLED);
      case 'reauth_required':
        return sendError(reply, 401, 'reauth_required', 'Confirm with your password or a current code to add or replace your phone number', result.retryAfter ? { retry_after: result.retryAfter } : {});
      case 'rate_limited':
        return sendError(reply, 429, 'rate_limited', `Too many codes sent — try again in ${result.retryAfter} seconds`, { retry_after: result.retryAfter });
      case 'delivery_failed':
        return sendError(reply, 503, 'delivery_failed', "We couldn't send the code — check the number or try later");
    }
  });

  app.post<{ Body: { code: string } }>('/phone/verify', {
    schema: { body: { type: 'object', additionalProperties: false, required: ['code'], properties: { code: schema.code } } },
  }, async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const result = await auth.confirmPhoneVerification(session, request.body.code, clientOf(request));
    if (result.status === 'ok') return reply.send({ status: 'verified', phone: result.phone });
    if (result.status === 'unauthenticated') return sendError(reply, 401, 'unauthenticated', 'Complete the second step first');
    if (result.status === 'sms_disabled') return sendError(reply, 403, 'sms_disabled', SMS_DISABLED);
    if (result.status === 'code_expired') return sendError(reply, 410, 'code_expired', 'One-time password has expired');
    return sendError(reply, 401, 'invalid_code', 'Invalid one-time password', { attempts_left: result.attemptsLeft });
  });

  // A new address: level 2 and a recent sign-in or `password`/`code`; it replaces the current
  // one only once verified with the mailed code.
  app.post<{ Body: { email: string; password?: string; code?: string } }>('/email', {
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['email'],
        properties: { email: { type: 'string', minLength: 1, maxLength: 254 }, password: schema.password, code: schema.code },
      },
    },
  }, async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const { email, password, code } = request.body;
    const proof = password !== undefined ? { password } : code !== undefined ? { code } : undefined;
    const result = await auth.changeEmail(session, email, proof, clientOf(request));
    switch (result.status) {
      case 'reauth_required':
        return sendError(reply, 401, 'reauth_required', 'Confirm with your password or a current code to change your email address', result.retryAfter ? { retry_after: result.retryAfter } : {});
      case 'invalid_request':
        return sendError(reply, 400, 'invalid_request', result.message);
      default:
        return sendEmailResult(reply, result);
    }
  });

  // Level 1 (sign-up) or 2 (a change): another code for the address waiting to be verified.
  app.post('/email/resend', async (request, reply) => {
    const session = requireSession(request, reply, 1);
    if (!session) return reply;
    return sendEmailResult(reply, await auth.resendEmailVerification(session, clientOf(request)));
  });

  // Level 1 may verify the address given at sign-up: where email counts, that completes the sign-in.
  app.post<{ Body: { code: string } }>('/email/verify', {
    schema: { body: { type: 'object', additionalProperties: false, required: ['code'], properties: { code: schema.code } } },
  }, async (request, reply) => {
    const session = requireSession(request, reply, 1);
    if (!session) return reply;
    const result = await auth.verifyEmail(session, request.body.code, clientOf(request));
    switch (result.status) {
      case 'verified':
        if (result.session) await startSession(request, reply, result.session);
        return reply.send({ status: 'verified' });
      case 'invalid_code':
        return sendError(reply, 401, 'invalid_code', 'Invalid one-time password', { attempts_left: result.attemptsLeft });
      case 'code_expired':
        return sendError(reply, 410, 'code_expired', 'One-time password has expired');
      case 'rate_limited':
        return sendError(reply, 429, 'rate_limited', `Too many attempts — try again in ${result.retryAfter} seconds`, { retry_after: result.retryAfter });
      case 'session_ended':
        return endedLevelOne(reply);
    }
  });

  app.get('/activity', async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const events = await auth.listAudit({ userId: session.userId, limit: 50 });
    return reply.send({
      // count > 1: a counted refusal, `at` its first and `last_at` its last occurrence.
      events: events.map((e) => ({ at: iso(e.at), type: e.type, method: e.method, ip: e.ip, user_agent: e.userAgent, count: e.count ?? 1, last_at: iso(e.lastAt ?? e.at) })),
    });
  });
}
