/**
 * Who a session belongs to, as the forward-auth gate tells the apps behind it
 * (Remote-User, Remote-Groups, Remote-Name, Remote-Email), and the operator's group
 * changes. Two indexed point reads per lookup, no writes: it runs on every proxied request.
 */
import type { Session } from './ports.ts';
import type { AuthContext } from './context.ts';
import { ENROLLMENT_TTL_MS } from './ports.ts';

export interface Identity {
  username: string;
  email: string | null;
  groups: string[];
}

/** The identity of a live session's account; null when the account is gone or disabled, or the session is a level-1 one past its ten minutes. */
export async function identify(ctx: AuthContext, session: Session): Promise<Identity | null> {
  if (session.level === 1 && ctx.now() - session.createdAt >= ENROLLMENT_TTL_MS) return null;
  const [user, groups] = await Promise.all([ctx.store.getUserById(session.userId), ctx.store.listUserGroups(session.userId)]);
  if (user === null || user.disabled) return null;
  // Apps may trust Remote-Email: only an address its owner proved with a code is passed on.
  return { username: user.username, email: user.emailVerifiedAt === null ? null : user.email, groups };
}
