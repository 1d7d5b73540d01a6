/**
 * The throttle arithmetic, pure and shared by every driver: each driver reads the
 * row, asks these functions, and writes the answer back inside one transaction that
 * holds the row's write lock, so concurrent claims are counted one after another.
 */
import type { AttemptClaim, AttemptPolicy, TokenTake } from '../auth/ports.ts';

export interface AttemptRow {
  count: number;
  nextAt: number;
  forgetAt: number | null;
}

/** What `claimAttempt` answers, and the row to store (null: leave the row as it is). */
export function decideAttempt(row: AttemptRow | null, now: number, policy: AttemptPolicy): { claim: AttemptClaim; write: AttemptRow | null } {
  const live = row !== null && (row.forgetAt === null || now < row.forgetAt) ? row : null;
  const count = live?.count ?? 0;
  if (policy.lockAt !== null && count >= policy.lockAt) {
    return { claim: { ok: false, locked: true, retryAfterMs: 0, count }, write: null };
  }
  if (live !== null && now < live.nextAt) {
    return { claim: { ok: false, locked: false, retryAfterMs: live.nextAt - now, count }, write: null };
  }
  const next = count + 1;
  const delayMs = next >= policy.freeAttempts ? Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (next - policy.freeAttempts)) : 0;
  return {
    claim: { ok: true, count: next },
    // No delay due: nextAt 0, so a concurrent claim whose clock read was a moment earlier is not refused.
    // A count that reaches the lock is kept until reset: waiting never lifts a lock.
    write: { count: next, nextAt: delayMs > 0 ? now + delayMs : 0, forgetAt: policy.forgetAfterMs === null || (policy.lockAt !== null && next >= policy.lockAt) ? null : now + policy.forgetAfterMs },
  };
}

export interface BucketRow {
  tokens: number;
  /** When `tokens` was last exact: refills are counted in whole `refillMs` from here. */
  refilledAt: number;
  /** When the bucket is full again (the sweep deletes it from then on). */
  fullAt: number;
}

/** What `takeToken` answers, and the row to store (null: leave the row as it is). */
export function decideTake(row: BucketRow | null, now: number, capacity: number, refillMs: number): { take: TokenTake; write: BucketRow | null } {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('Bucket capacity must be a positive integer');
  if (!(refillMs > 0)) throw new RangeError('Bucket refill interval must be positive');
  let tokens = capacity;
  let refilledAt = now;
  if (row !== null) {
    const gained = Math.floor(Math.max(0, now - row.refilledAt) / refillMs);
    tokens = Math.min(capacity, row.tokens + gained);
    refilledAt = tokens === capacity ? now : row.refilledAt + gained * refillMs;
  }
  if (tokens < 1) return { take: { ok: false, retryAfterMs: Math.max(1, refilledAt + refillMs - now) }, write: null };
  tokens -= 1;
  return { take: { ok: true }, write: { tokens, refilledAt, fullAt: refilledAt + (capacity - tokens) * refillMs } };
}
