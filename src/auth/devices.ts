/**
 * Device tokens (OWASP's device cookies): a browser that completed a sign-in gets a
 * 256-bit random token of its own, kept in the Store only as a SHA-256 with the user,
 * its address, agent and last use. Its password attempts then skip the delay and the
 * lock that strangers' failures put on the username; it grants nothing else. A password
 * change and a 2FA reset revoke every device of the account (in the Store's transaction),
 * the owner revokes one from the account page; a revoked or unknown token is just a
 * stranger's browser.
 */
import type { Device, Session } from './ports.ts';
import type { AuthContext, ClientInfo } from './context.ts';
import { generateId, generateToken, hashToken } from './tokens.ts';
import { recordEvent } from './audit.ts';
import { freshOrReauthenticated } from './reauth.ts';
import type { Reauthentication, ReauthenticatedResult } from './reauth.ts';

/** How long a device stays known without a sign-in from it (the cookie's Max-Age). */
export const DEVICE_LIFETIME_SECONDS = 365 * 24 * 3600;

/** The live device of `userId` that `token` names, or null (none, another account's, or unused too long). */
export async function recognizeDevice(ctx: AuthContext, userId: string, token: string | undefined): Promise<Device | null> {
  if (typeof token !== 'string' || token.length !== 43) return null;
  const device = await ctx.store.getDevice(hashToken(token));
  if (!device || device.userId !== userId) return null;
  return ctx.now() < device.lastUsedAt + DEVICE_LIFETIME_SECONDS * 1000 ? device : null;
}

/** After a completed sign-in: the browser's token, kept when it is a live device of this account, else a new one. */
export async function rememberDevice(ctx: AuthContext, userId: string, client: ClientInfo, token: string | undefined): Promise<string> {
  const now = ctx.now();
  const known = await recognizeDevice(ctx, userId, token);
  if (known && token !== undefined) {
    await ctx.store.touchDevice(known.tokenHash, now);
    return token;
  }
  const fresh = generateToken(); // 256 bits
  await ctx.store.createDevice({
    id: generateId(),
    tokenHash: hashToken(fresh),
    userId,
    ip: client.ip,
    userAgent: client.userAgent.slice(0, 256),
    createdAt: now,
    lastUsedAt: now,
  });
  return fresh;
}

/** The account's devices, newest use first; `current` marks the one whose token this browser holds. */
export async function listDevices(ctx: AuthContext, session: Session, currentToken: string | undefined): Promise<Array<Device & { current: boolean }>> {
  const currentHash = currentToken === undefined ? null : hashToken(currentToken);
  const oldest = ctx.now() - DEVICE_LIFETIME_SECONDS * 1000;
  return (await ctx.store.listDevices(session.userId))
    .filter((d) => d.lastUsedAt > oldest)
    .map((d) => ({ ...d, current: d.tokenHash === currentHash }));
}

/** Forgets one device by its public id; like revoking a session, it needs a recent sign-in or fresh proof. */
export async function revokeDevice(ctx: AuthContext, session: Session, id: string, client: ClientInfo, proof?: Reauthentication): Promise<ReauthenticatedResult<object>> {
  const reauth = await freshOrReauthenticated(ctx, session, proof, client);
  if (!reauth.ok) return reauth.retryAfter === undefined ? { status: 'reauth_required' } : { status: 'reauth_required', retryAfter: reauth.retryAfter };
  if (!(await ctx.store.deleteDeviceById(session.userId, id))) return { status: 'not_found' };
  await recordEvent(ctx, 'device_revoked', { userId: session.userId, client });
  return { status: 'ok' };
}
