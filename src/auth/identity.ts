/**
 * Who a session belongs to, as the forward-auth gate tells the apps behind it
 * (Remote-User, Remote-Groups, Remote-Name, Remote-Email). It runs on every proxied
 * request: liveSession's one Store read and checks, and no write but the throttled
 * last-seen touch.
 */
import type { Session } from './ports.ts';
import type { AuthContext } from './context.ts';
import { liveSession } from './sessions.ts';

export interface Identity {
  username: string;
  email: string | null;
  groups: string[];
}

export interface IdentifiedSession {
  session: Session;
  identity: Identity;
}

/** The live session of a session cookie's token and who it belongs to, or null (see liveSession). */
export async function identifyToken(ctx: AuthContext, token: string): Promise<IdentifiedSession | null> {
  const found = await liveSession(ctx, token);
  if (found === null || found.user === null) return null;
  const { session, user } = found;
  // Apps may trust Remote-Email: only an address its owner proved with a code is passed on.
  return { session, identity: { username: user.username, email: user.emailVerifiedAt === null ? null : user.email, groups: found.groups } };
}
