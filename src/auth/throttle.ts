/**
 * The guessing bounds (I5), all counted in the Store so every instance shares them:
 *
 * - per pending login: `pendingAttempts` wrong codes, then it closes (password again);
 * - per account, second factors: an exponential delay after `otp.freeAttempts`
 *   consecutive failures (1 s, 2 s, 4 s … capped at 15 min) and a lock at 100
 *   (SP 800-63B §3.2.2) until a recovery code or an operator unlocks it; recovery
 *   codes have their own counter with the same rule;
 * - per username, passwords: exponential delay, capped, never a hard lock (a lock
 *   would let anyone keep the owner out); forgotten after a day without failures. A
 *   browser holding the account's device cookie (set at a completed sign-in) counts
 *   on a counter of its own, so strangers' failures never delay the owner;
 * - per client address: token buckets on password attempts and on code sends.
 */
import type { AttemptPolicy } from './ports.ts';

export interface Limits {
  pendingAttempts: number;
  otp: AttemptPolicy;
  recovery: AttemptPolicy;
  password: AttemptPolicy;
  enrollment: AttemptPolicy;
  resendCooldownMs: number;
  sendsPerLogin: number;
  /** Token bucket per account on code sends: capacity, one token back every refillMs. */
  accountSends: { capacity: number; refillMs: number };
  ipPasswords: { capacity: number; refillMs: number };
  ipSends: { capacity: number; refillMs: number };
  ipSignups: { capacity: number; refillMs: number };
}

const MINUTE = 60_000;

export const DEFAULT_LIMITS: Limits = {
  pendingAttempts: 5,
  otp: { freeAttempts: 5, baseDelayMs: 1000, maxDelayMs: 15 * MINUTE, lockAt: 100, forgetAfterMs: null },
  recovery: { freeAttempts: 5, baseDelayMs: 1000, maxDelayMs: 15 * MINUTE, lockAt: 100, forgetAfterMs: null },
  password: { freeAttempts: 5, baseDelayMs: 1000, maxDelayMs: 5 * MINUTE, lockAt: null, forgetAfterMs: 24 * 60 * MINUTE },
  enrollment: { freeAttempts: 5, baseDelayMs: 1000, maxDelayMs: 5 * MINUTE, lockAt: null, forgetAfterMs: 24 * 60 * MINUTE },
  resendCooldownMs: 30_000,
  sendsPerLogin: 5,
  accountSends: { capacity: 10, refillMs: 6 * MINUTE }, // 10 an hour
  ipPasswords: { capacity: 30, refillMs: 2000 }, // bursts of 30, then 30 a minute
  ipSends: { capacity: 20, refillMs: 30_000 },
  ipSignups: { capacity: 10, refillMs: 60_000 }, // bursts of 10, then one a minute
};

/** The Store keys of each counter: one place, so every caller names them alike. */
export const throttleKey = {
  otp: (userId: string) => `otp:${userId}`,
  recovery: (userId: string) => `recovery:${userId}`,
  password: (username: string) => `password:${username}`,
  /** Password attempts from a browser that completed a sign-in to this account before. */
  knownDevice: (userId: string) => `password-device:${userId}`,
  /** Password re-authentication inside a session (its own counter: a session cannot stall the owner's sign-in). */
  reauth: (userId: string) => `reauth:${userId}`,
  signup: (ip: string) => `ip-signup:${ip}`,
  enrollment: (userId: string) => `enroll:${userId}`,
  accountSends: (userId: string) => `send:${userId}`,
  /** Verification mails to an address not yet proven (a few a day). */
  emailVerifications: (userId: string) => `send-verification:${userId}`,
  ipPasswords: (ip: string) => `ip-password:${ip}`,
  ipSends: (ip: string) => `ip-send:${ip}`,
};

/** Whole seconds to wait, at least 1 (what a Retry-After header carries). */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
