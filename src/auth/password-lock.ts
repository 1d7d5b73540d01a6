/**
 * The password lock for strangers (SP 800-63B §3.2.2: at most 100 consecutive failures;
 * SECURITY.md item 33). The per-username password counter locks at `limits.password.lockAt`:
 * from then on browsers that never signed in to the account are refused (`rate_limited`,
 * with the same answer for a name that does not exist, I11), while a browser holding a
 * device token of the account counts on its own counter, which never locks. The lock is
 * lifted by a completed sign-in (login.ts), by `otpgate user unlock`, a password change,
 * or the single-use link mailed to the account's address when the lock engages.
 */
import type { User } from './ports.ts';
import type { AuthContext, ClientInfo } from './context.ts';
import { generateToken, hashToken } from './tokens.ts';
import { recordEvent } from './audit.ts';
import { throttleKey } from './throttle.ts';
import { unlockLinkMessage } from './messages.ts';

/** How long an unlock link works. */
const UNLOCK_LINK_TTL_MS = 7 * 24 * 3600_000;

/**
 * Called once per lock: by the one failure whose claim reached the lock. Mails the account
 * an unlock link in the background, so the answer takes no longer than any other failure.
 */
export async function engageStrangerLock(ctx: AuthContext, user: User | null, client: ClientInfo): Promise<void> {
  await recordEvent(ctx, 'password_locked', { userId: user?.id ?? null, method: 'password', client, detail: { failures: ctx.limits.password.lockAt } });
  if (!user || user.disabled || !user.email || user.emailVerifiedAt === null || !ctx.publicURL || !ctx.sender.supports('email')) return;
  const to = user.email;
  const origin = ctx.publicURL;
  const task = (async () => {
    const token = generateToken(); // 256 bits
    const now = ctx.now();
    await ctx.store.putPasswordUnlock({ tokenHash: hashToken(token), userId: user.id, createdAt: now, expiresAt: now + UNLOCK_LINK_TTL_MS });
    const link = new URL('/unlock', origin);
    link.searchParams.set('token', token);
    await ctx.sender.send(unlockLinkMessage({ to, username: user.username, issuer: ctx.issuer, link: link.href, ttlDays: Math.round(UNLOCK_LINK_TTL_MS / 86_400_000) }));
  })().catch((error: unknown) => {
    try {
      ctx.onDeliveryError(error, 'email');
    } catch {
      // a broken error handler must not become an unhandled rejection
    }
  });
  ctx.notifications.add(task);
  void task.finally(() => ctx.notifications.delete(task));
}

/** Lifts the lock of the account that the link names; the link then no longer works. */
export async function unlockWithLink(ctx: AuthContext, token: string, client: ClientInfo): Promise<{ status: 'ok' } | { status: 'invalid_link' }> {
  if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(token)) return { status: 'invalid_link' };
  const userId = await ctx.store.consumePasswordUnlock(hashToken(token), ctx.now());
  const user = userId === null ? null : await ctx.store.getUserById(userId);
  if (!user) return { status: 'invalid_link' };
  await liftStrangerLock(ctx, user);
  await recordEvent(ctx, 'unlocked', { userId: user.id, client, detail: { via: 'email_link', scope: 'password' } });
  return { status: 'ok' };
}

/** Clears the username's password counter and any unlock link still out. */
export async function liftStrangerLock(ctx: AuthContext, user: User): Promise<void> {
  await ctx.store.resetAttempts(throttleKey.password(user.username));
  await ctx.store.deletePasswordUnlocks(user.id);
}
