/**
 * Sessions: a 256-bit bearer token held by the client, only its SHA-256 in the Store.
 * Level 1 = password only (may enroll a second factor); level 2 = both factors.
 * Idle and absolute expiry are enforced here, on the server (SP 800-63B §2.2.3).
 */
import type { FactorMethod, Session, SessionWithAccount } from './ports.ts';
import { ENROLLMENT_TTL_MS } from './ports.ts';
import type { AuthContext, ClientInfo } from './context.ts';
import { generateId, generateToken, hashToken } from './tokens.ts';
import { recordEvent } from './audit.ts';
import { freshOrReauthenticated, isFreshSignIn } from './reauth.ts';
import type { Reauthentication, ReauthenticatedResult } from './reauth.ts';

/** last_seen_at is written at most this often, so reads stay reads. */
const TOUCH_INTERVAL_MS = 30_000;

/**
 * How long after its stored last_seen_at a session may stay unused. The stored time can be
 * up to TOUCH_INTERVAL_MS older than the last request, so the limit allows for it: a session
 * never ends earlier than OTPGATE_SESSION_IDLE after its last request (at most 30 s later).
 */
export function idleCutoffMs(ctx: Pick<AuthContext, 'sessionIdleMs'>): number {
  return ctx.sessionIdleMs + TOUCH_INTERVAL_MS;
}

export interface IssuedSession {
  /** The bearer token for the cookie: shown to the client, never stored or logged. */
  token: string;
  session: Session;
}

/** A new session and its token, not yet stored (see createSession, or a Store call that stores it with other rows). */
export function newSession(ctx: AuthContext, userId: string, level: 1 | 2, client: ClientInfo, method: FactorMethod | null = null): IssuedSession {
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
    ...(level === 2 && method !== null ? { method } : {}),
  };
  return { token, session };
}

export async function createSession(ctx: AuthContext, userId: string, level: 1 | 2, client: ClientInfo): Promise<IssuedSession> {
  const issued = newSession(ctx, userId, level, client);
  await ctx.store.createSession(issued.session);
  return issued;
}

/**
 * The live session of a token with its account and groups, in one Store read, or null:
 * unknown, idle too long, past its end, a level-1 one past its ten minutes or made by a
 * factor that no longer counts (these are deleted), or the account gone or disabled.
 */
export async function liveSession(ctx: AuthContext, token: string): Promise<SessionWithAccount | null> {
  if (typeof token !== 'string' || token.length !== 43) return null;
  const tokenHash = hashToken(token);
  const found = await ctx.store.getSessionWithAccount(tokenHash);
  if (found === null) return null;
  const now = ctx.now();
  if (isSessionOver(ctx, found.session, now)) {
    await ctx.store.deleteSession(tokenHash);
    return null;
  }
  // Disabling ends the sessions in its own transaction; this also refuses a disabled flag written any other way.
  if (found.user === null || found.user.disabled) return null;
  if (needsTouch(found.session, now)) await touch(ctx, found.session, now);
  return found;
}

/** The live session for a token, or null (see liveSession). */
export async function validateSession(ctx: AuthContext, token: string): Promise<Session | null> {
  return (await liveSession(ctx, token))?.session ?? null;
}

/**
 * Idle too long, past its absolute end, a level-1 session past its ten minutes, or a full
 * session made by a second factor OTPGATE_FACTORS no longer counts: the caller deletes it.
 */
export function isSessionOver(ctx: Pick<AuthContext, 'sessionIdleMs' | 'factors'>, session: Session, now: number): boolean {
  const levelOneOver = session.level === 1 && now >= session.createdAt + ENROLLMENT_TTL_MS;
  const factorDropped = session.level === 2 && session.method !== undefined && !ctx.factors.has(session.method);
  return levelOneOver || factorDropped || now >= session.expiresAt || now >= session.lastSeenAt + idleCutoffMs(ctx);
}

/** last_seen_at is due a write (throttled: at most once per TOUCH_INTERVAL_MS). */
export function needsTouch(session: Session, now: number): boolean {
  return now - session.lastSeenAt >= TOUCH_INTERVAL_MS;
}

export async function touch(ctx: AuthContext, session: Session, now: number): Promise<void> {
  await ctx.store.touchSession(session.tokenHash, now);
  session.lastSeenAt = now;
}

/** Replaces a session by a new one at `level` (I6: a new id at every change of level). */
export async function rotateSession(ctx: AuthContext, old: Session, level: 1 | 2, client: ClientInfo): Promise<IssuedSession> {
  await ctx.store.deleteSession(old.tokenHash);
  return createSession(ctx, old.userId, level, client);
}

/**
 * A new token and id for the same sign-in (I6, ASVS 7.2.4): at re-authentication and at a
 * password change the old token dies at once. Level, start and absolute end are kept, so a
 * renewal neither extends the session nor makes it count as a fresh sign-in. Null when the
 * old session had already ended (logged out, revoked, or renewed by a concurrent request).
 */
export async function renewSession(ctx: AuthContext, old: Session): Promise<IssuedSession | null> {
  const token = generateToken();
  const session: Session = { ...old, tokenHash: hashToken(token), id: generateId(), lastSeenAt: ctx.now() };
  return (await ctx.store.replaceSession(old.tokenHash, session)) ? { token, session } : null;
}

/** `{ session }` with the renewed session, or nothing when it had already ended: to spread into a result. */
export async function renewedAfterProof(ctx: AuthContext, old: Session): Promise<{ session?: IssuedSession }> {
  const issued = await renewSession(ctx, old);
  return issued ? { session: issued } : {};
}

/** Ends the session of this token (logout). */
export async function endSession(ctx: AuthContext, token: string, client: ClientInfo): Promise<void> {
  const session = await ctx.store.getSession(hashToken(token));
  if (session && (await ctx.store.deleteSession(session.tokenHash))) {
    await recordEvent(ctx, 'logout', { userId: session.userId, client });
  }
}

/** Ends a sign-in still waiting for its second factor (logout): the id no longer completes it. */
export async function endPendingLogin(ctx: AuthContext, pendingLoginId: string): Promise<void> {
  if (typeof pendingLoginId !== 'string' || pendingLoginId.length !== 43) return;
  await ctx.store.deletePendingLogin(hashToken(pendingLoginId));
}

export async function listSessions(ctx: AuthContext, current: Session): Promise<Array<Session & { current: boolean }>> {
  const now = ctx.now();
  const sessions = await ctx.store.listSessions(current.userId);
  return sessions
    .filter((s) => now < s.expiresAt && now < s.lastSeenAt + idleCutoffMs(ctx))
    .map((s) => ({ ...s, current: s.tokenHash === current.tokenHash }));
}

/**
 * Ends one of the user's other sessions by its public id. Like any action on the account's
 * security, it needs a sign-in from the last ten minutes or fresh proof (ASVS 7.5.2): a
 * stolen older session cannot sign its owner out everywhere.
 */
export async function revokeSession(ctx: AuthContext, current: Session, id: string, client: ClientInfo, proof?: Reauthentication): Promise<ReauthenticatedResult<{ session?: IssuedSession }>> {
  const proved = !isFreshSignIn(ctx, current);
  const reauth = await freshOrReauthenticated(ctx, current, proof, client);
  if (!reauth.ok) return reauth.retryAfter === undefined ? { status: 'reauth_required' } : { status: 'reauth_required', retryAfter: reauth.retryAfter };
  if (!(await ctx.store.deleteSessionById(current.userId, id))) return { status: 'not_found' };
  await recordEvent(ctx, 'session_revoked', { userId: current.userId, client, detail: { scope: 'one' } });
  // A re-authentication gives this session a new id (SECURITY.md item 37).
  return { status: 'ok', ...(proved ? await renewedAfterProof(ctx, current) : {}) };
}
