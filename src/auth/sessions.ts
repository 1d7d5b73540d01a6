/**
 * Sessions: a 256-bit bearer token held by the client, only its SHA-256 in the Store.
 * Level 1 = password only (may enroll a second factor); level 2 = both factors.
 * Idle and absolute expiry are enforced here, on the server (SP 800-63B §2.2.3).
 */
import type { Session } from './ports.ts';
import { ENROLLMENT_TTL_MS } from './ports.ts';
import type { AuthContext, ClientInfo } from './context.ts';
import { generateId, generateToken, hashToken } from './tokens.ts';
import { recordEvent } from './audit.ts';
import { freshOrReauthenticated } from './reauth.ts';
import type { Reauthentication, ReauthenticatedResult } from './reauth.ts';

/** last_seen_at is written at most this often, so reads stay reads. */
const TOUCH_INTERVAL_MS = 30_000;

export interface IssuedSession {
  /** The bearer token for the cookie: shown to the client, never stored or logged. */
  token: string;
  session: Session;
}

/** A new session and its token, not yet stored (see createSession, or a Store call that stores it with other rows). */
export function newSession(ctx: AuthContext, userId: string, level: 1 | 2, client: ClientInfo): IssuedSession {
  const now = ctx.now();
  const token = generateToken();
  const session: Session = {
    tokenHash: hashToken(token),
    id: generateId(),
    userId,
    level,
    ip: client.ip,
    userAgent: client.userAgent.slice(0, 256),
    createdAt: now,
    lastSeenAt: now,
    // Level 1 may only enroll, and only briefly (issue 12, finding 1).
    expiresAt: now + (level === 1 ? Math.min(ENROLLMENT_TTL_MS, ctx.sessionMaxMs) : ctx.sessionMaxMs),
  };
  return { token, session };
}

export async function createSession(ctx: AuthContext, userId: string, level: 1 | 2, client: ClientInfo): Promise<IssuedSession> {
  const issued = newSession(ctx, userId, level, client);
  await ctx.store.createSession(issued.session);
  return issued;
}

/** The live session for a token, or null (unknown, idle too long, past its end, or the account disabled). */
export async function validateSession(ctx: AuthContext, token: string): Promise<Session | null> {
  if (typeof token !== 'string' || token.length !== 43) return null;
  const tokenHash = hashToken(token);
  const session = await ctx.store.getSession(tokenHash);
  if (!session) return null;
  const now = ctx.now();
  const levelOneOver = session.level === 1 && now >= session.createdAt + ENROLLMENT_TTL_MS;
  if (levelOneOver || now >= session.expiresAt || now >= session.lastSeenAt + ctx.sessionIdleMs) {
    await ctx.store.deleteSession(tokenHash);
    return null;
  }
  if (now - session.lastSeenAt >= TOUCH_INTERVAL_MS) {
    await ctx.store.touchSession(tokenHash, now);
    session.lastSeenAt = now;
  }
  return session;
}

/** Replaces a session by a new one at `level` (I6: a new id at every change of level). */
export async function rotateSession(ctx: AuthContext, old: Session, level: 1 | 2, client: ClientInfo): Promise<IssuedSession> {
  await ctx.store.deleteSession(old.tokenHash);
  return createSession(ctx, old.userId, level, client);
}

/** Ends the session of this token (logout). */
export async function endSession(ctx: AuthContext, token: string, client: ClientInfo): Promise<void> {
  const session = await ctx.store.getSession(hashToken(token));
  if (session && (await ctx.store.deleteSession(session.tokenHash))) {
    await recordEvent(ctx, 'logout', { userId: session.userId, client });
  }
}

export async function listSessions(ctx: AuthContext, current: Session): Promise<Array<Session & { current: boolean }>> {
  const now = ctx.now();
  const sessions = await ctx.store.listSessions(current.userId);
  return sessions
    .filter((s) => now < s.expiresAt && now < s.lastSeenAt + ctx.sessionIdleMs)
    .map((s) => ({ ...s, current: s.tokenHash === current.tokenHash }));
}

/**
 * Ends one of the user's other sessions by its public id. Like any action on the account's
 * security, it needs a sign-in from the last ten minutes or fresh proof (ASVS 7.5.2): a
 * stolen older session cannot sign its owner out everywhere.
 */
export async function revokeSession(ctx: AuthContext, current: Session, id: string, client: ClientInfo, proof?: Reauthentication): Promise<ReauthenticatedResult<object>> {
  const reauth = await freshOrReauthenticated(ctx, current, proof, client);
  if (!reauth.ok) return reauth.retryAfter === undefined ? { status: 'reauth_required' } : { status: 'reauth_required', retryAfter: reauth.retryAfter };
  if (!(await ctx.store.deleteSessionById(current.userId, id))) return { status: 'not_found' };
  await recordEvent(ctx, 'session_revoked', { userId: current.userId, client, detail: { scope: 'one' } });
  return { status: 'ok' };
}
