/** Authenticators and recovery codes. */
import type { FastifyInstance } from 'fastify';
import type { Reauthentication } from '../../auth/index.ts';
import { createQRCodeSVG } from '../../otp/index.ts';
import { clientOf } from '../client-info.ts';
import { endedLevelOne, iso, requireSession, schema, sendError } from './reply.ts';
import { setSessionCookie } from '../cookies.ts';

export async function factorRoutes(app: FastifyInstance): Promise<void> {
  const { auth } = app;

  // Level 1 may enroll: that is what a password-only session is for. At level 2 a sign-in
  // older than ten minutes must add `password` or `code` (re-authentication).
  app.post<{ Body: { label?: string; password?: string; code?: string } | undefined }>('/factors/totp', {
    schema: {
      body: {
        type: ['object', 'null'],
        additionalProperties: false,
        properties: { label: { type: 'string', maxLength: 64 }, password: schema.password, code: schema.code },
      },
    },
  }, async (request, reply) => {
    const session = requireSession(request, reply, 1);
    if (!session) return reply;
    const body = request.body ?? {};
    const proof = body.password !== undefined ? { password: body.password } : body.code !== undefined ? { code: body.code } : undefined;
    const result = await auth.beginTOTPEnrollment(session, body.label, proof, clientOf(request));
    if (result.status === 'reauth_required') {
      return sendError(reply, 401, 'reauth_required', 'Confirm with your password or a current code to add an authenticator', result.retryAfter ? { retry_after: result.retryAfter } : {});
    }
    if (result.status === 'too_many_factors') return sendError(reply, 409, 'too_many_factors', 'This account has the most authenticators allowed');
    if (result.status === 'invalid_request') return sendError(reply, 400, 'invalid_request', result.message);
    if (result.status === 'session_ended') return endedLevelOne(reply);
    const { enrollment } = result;
    if (result.session) setSessionCookie(request, reply, result.session);
    return reply.code(201).send({
      factor_id: enrollment.factorId,
      secret: enrollment.secret,
      otpauth_uri: enrollment.otpauthURI,
      qr_svg: await createQRCodeSVG(enrollment.otpauthURI),
    });
  });

  // `end_other_sessions: true` also signs out every other session of the account (ASVS 7.4.3).
  app.post<{ Body: { factor_id: string; code: string; end_other_sessions?: boolean } }>('/factors/totp/verify', {
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['factor_id', 'code'],
        properties: { factor_id: { type: 'string', minLength: 1, maxLength: 64 }, code: schema.code, end_other_sessions: { type: 'boolean' } },
      },
    },
  }, async (request, reply) => {
    const session = requireSession(request, reply, 1);
    if (!session) return reply;
    const { factor_id: factorId, code, end_other_sessions: endOtherSessions } = request.body;
    const result = await auth.confirmTOTPEnrollment(session, factorId, code, clientOf(request), { endOtherSessions: endOtherSessions === true });
    switch (result.status) {
      case 'ok':
        if (result.session) setSessionCookie(request, reply, result.session);
        return reply.send({
          factor: { id: result.factor.id, type: 'totp', label: result.factor.label, created_at: iso(result.factor.createdAt), last_used_at: iso(result.factor.lastUsedAt) },
          ...(result.recoveryCodes ? { recovery_codes: result.recoveryCodes } : {}),
        });
      case 'invalid_code':
        return sendError(reply, 401, 'invalid_code', 'Invalid one-time password', result.driftSeconds !== undefined ? { drift_seconds: result.driftSeconds } : {});
      case 'not_found':
        return sendError(reply, 404, 'not_found', 'No such authenticator waiting for confirmation');
      case 'session_ended':
        return endedLevelOne(reply);
      case 'rate_limited':
        return sendError(reply, 429, 'rate_limited', `Too many attempts — try again in ${result.retryAfter} seconds`, { retry_after: result.retryAfter });
    }
  });

  app.delete<{ Params: { id: string }; Body: Reauthentication }>('/factors/:id', {
    schema: { params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } }, body: schema.reauth },
  }, async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const result = await auth.removeTOTPFactor(session, request.params.id, request.body, clientOf(request));
    if (result.status === 'ok') {
      if (result.session) setSessionCookie(request, reply, result.session);
      return reply.code(204).send();
    }
    if (result.status === 'not_found') return sendError(reply, 404, 'not_found', 'No such authenticator');
    return sendError(reply, 401, 'reauth_required', 'Confirm with your password or a current code', result.retryAfter ? { retry_after: result.retryAfter } : {});
  });

  app.post<{ Body: Reauthentication }>('/recovery-codes', { schema: { body: schema.reauth } }, async (request, reply) => {
    const session = requireSession(request, reply, 2);
    if (!session) return reply;
    const result = await auth.regenerateRecoveryCodes(session, request.body, clientOf(request));
    if (result.status === 'ok') {
      if (result.session) setSessionCookie(request, reply, result.session);
      return reply.send({ recovery_codes: result.recoveryCodes });
    }
    if (result.status === 'not_found') return sendError(reply, 404, 'not_found', 'Not found');
    return sendError(reply, 401, 'reauth_required', 'Confirm with your password or a current code', result.retryAfter ? { retry_after: result.retryAfter } : {});
  });
}
