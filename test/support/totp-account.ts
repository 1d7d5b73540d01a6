/** An account with a confirmed authenticator, made through the engine, and full sign-ins to it. */
import assert from 'node:assert/strict';
import type { ClientInfo, VerifyResult } from '../../src/auth/index.ts';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';
import type { makeEngine } from './engine.ts';
import { client as defaultClient } from './engine.ts';

type Engine = Awaited<ReturnType<typeof makeEngine>>;

/** Creates `username` and enrolls an authenticator from its level-1 session; the clock moves on one step. */
export async function totpAccount(e: Engine, username: string, password: string) {
  const created = await e.auth.createAccount({ username, password });
  if (created.status !== 'ok') return assert.fail(JSON.stringify(created));
  const start = await e.auth.startLogin(username, password, defaultClient);
  if (start.status !== 'enrollment_required') return assert.fail(JSON.stringify(start));
  const enrolled = await e.auth.beginTOTPEnrollment(start.session.session, 'Phone');
  if (enrolled.status !== 'ok') return assert.fail(JSON.stringify(enrolled));
  const secret = decodeBase32(enrolled.enrollment.secret);
  const confirmed = await e.auth.confirmTOTPEnrollment(start.session.session, enrolled.enrollment.factorId, generateTOTP(secret, e.now()), defaultClient);
  if (confirmed.status !== 'ok') return assert.fail(JSON.stringify(confirmed));
  e.advance(30_000);
  return { user: created.user, secret, session: confirmed.session };
}

/** Password then a fresh TOTP code; the clock moves on one step so the next code is new. */
export async function signIn(e: Engine, username: string, password: string, secret: Uint8Array, who: ClientInfo = defaultClient, deviceToken?: string) {
  const started = await e.auth.startLogin(username, password, who, deviceToken);
  if (started.status !== 'otp_required') return assert.fail(JSON.stringify(started));
  const verified: VerifyResult = await e.auth.verifyLogin(started.pendingLoginId, 'totp', generateTOTP(secret, e.now()), who, deviceToken);
  e.advance(30_000);
  if (verified.status !== 'authenticated') return assert.fail(JSON.stringify(verified));
  return verified;
}
