/**
 * Who a session belongs to, as the forward-auth gate tells the apps behind it
 * (Remote-User, Remote-Groups, Remote-Name, Remote-Email). It runs on every proxied
 * request: one indexed Store read (session, account and groups together), the same checks
 * as validateSession, and no write but the throttled last-seen touch.
 */
import type { Session } from './ports.ts';
import type { AuthContext } from './context.ts';
import { hashToken } from './tokens.ts';
import { isSessionOver, needsTouch, touch } from './sessions.ts';

export interface Identity {
  username: string;
  email: string | null;
  groups: string[];
}

export interface IdentifiedSession {
  session: Session;
  identity: Identity;
}

/**
 * The live session of a session cookie's token and its account, or null: unknown, idle
 * too long, past its end, a level-1 one past its ten minutes (these are deleted, as
 * validateSession does), or the account gone or disabled.
 */
export async function identifyToken(ctx: AuthContext, token: string): Promise<IdentifiedSession | null> {
  if (typeof token !== 'string' || token.length !== 43) return null;
  const tokenHash = hashToken(token);
  const found = await ctx.store.getSessionWithAccount(tokenHash);
  if (found === null) return null;
  const { session, user } = found;
  const now = ctx.now();
  if (isSessionOver(ctx, session, now)) {
    await ctx.store.deleteSession(tokenHash);
    return null;
  }
  // Disabling ends the sessions in its own transaction; this also refuses a disabled flag written any other way.
  if (user === null || user.disabled) return null;
  if (needsTouch(session, now)) await touch(ctx, session, now);
  // Apps may trust Remote-Email: only an address its owner proved with a code is passed on.
  return { session, identity: { username: user.username, email: user.emailVerifiedAt === null ? null : user.email, groups: found.groups } };
}
