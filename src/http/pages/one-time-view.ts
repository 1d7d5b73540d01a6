/**
 * Post/Redirect/Get for secrets shown once (finding: the QR and recovery-code pages were the
 * answers to the POST with the password, so Back and Reload sent it again). The POST keeps
 * the secret on the server behind a handle in a short-lived cookie and answers 303; the GET
 * shows it once, with no-store. The handle is useless without the session it was made for.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OneTimeSecret, OneTimeSecretKind, Session } from '../../auth/index.ts';
import { ONE_TIME_VIEW_TTL_MS } from '../../auth/index.ts';
import { COOKIE, clearCookie, readCookie, setCookie } from '../cookies.ts';
import { redirect } from './forms.ts';

/** Keeps `secret` for one view by `session` and redirects (303) to the page that shows it. */
export async function redirectToOneView(request: FastifyRequest, reply: FastifyReply, session: Session, secret: OneTimeSecret, location: string): Promise<FastifyReply> {
  const handle = await request.server.auth.holdForOneView(session, secret);
  setCookie(reply, COOKIE.view, handle, Math.round(ONE_TIME_VIEW_TTL_MS / 1000));
  return redirect(reply, location);
}

/** The secret of `kind` kept for this session, once; null when there is none (spent, expired, another session's). */
export async function takeOneView<K extends OneTimeSecretKind>(request: FastifyRequest, reply: FastifyReply, session: Session, kind: K): Promise<Extract<OneTimeSecret, { kind: K }> | null> {
  const handle = readCookie(request, COOKIE.view);
  if (handle === undefined) return null;
  const secret = await request.server.auth.takeOneView(session, handle, kind);
  if (secret) clearCookie(reply, COOKIE.view);
  return secret;
}
