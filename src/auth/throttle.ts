/**
 * The guessing bounds (I5), all counted in the Store so every instance shares them:
 *
 * - per pending login: `pendingAttempts` wrong codes, then it closes (password again);
 * - per account, second factors: an exponential delay after `otp.freeAttempts`
 *   consecutive failures (1 s, 2 s, 4 s … capped at 15 min) and a lock at 100
 *   (SP 800-63B §3.2.2) until a recovery code or an operator unlocks it; recovery
 *   codes have their own counter with the same rule;
 * - per username, passwords: exponential delay, capped, forgotten after a day without
 *   failures; at 100 consecutive failures (SP 800-63B §3.2.2) browsers that never
 *   signed in to the account are refused until a sign-in from a known browser, the
 *   mailed unlock link or `otpgate user unlock` (password-lock.ts). A browser holding a
 *   device cookie of the account (devices.ts) counts on a counter of its own that never
 *   locks, so strangers' failures never delay or lock out the owner;
 * - re-authentication inside a session: a counter per session, never the account's;
 * - per client address: token buckets on password attempts, code sends and sign-ups;
 *   an IPv6 client counts by its /64 (one subscriber's allocation), IPv4 by its address.
 */
import { isIPv4, isIPv6 } from 'node:net';
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
  password: { freeAttempts: 5, baseDelayMs: 1000, maxDelayMs: 5 * MINUTE, lockAt: 100, forgetAfterMs: 24 * 60 * MINUTE },
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
  /** Re-authentication inside one session (by its public id): a stolen session cannot stall or lock the owner's sign-in. */
  reauth: (sessionId: string) => `reauth:${sessionId}`,
  signup: (ip: string) => `ip-signup:${addressKey(ip)}`,
  enrollment: (userId: string) => `enroll:${userId}`,
  accountSends: (userId: string) => `send:${userId}`,
  /** Verification mails to an address not yet proven (a few a day). */
  emailVerifications: (userId: string) => `send-verification:${userId}`,
  ipPasswords: (ip: string) => `ip-password:${addressKey(ip)}`,
  ipSends: (ip: string) => `ip-send:${addressKey(ip)}`,
};

/**
 * The part of a client address that per-address limits count: an IPv6 address's /64 (a
 * single host is routinely given a whole /64, so counting full addresses limits nothing),
 * an IPv4 address (also written IPv4-mapped, `::ffff:192.0.2.1`) whole. Anything else is
 * kept as it is.
 */
export function addressKey(ip: string): string {
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return ip;
  const groups = expandIPv6(ip);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function expandIPv6(ip: string): number[] {
  let text = ip.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...(tail === undefined ? [] : zeros), ...right].map((g) => parseInt(g, 16));
}

/** Whole seconds to wait, at least 1 (what a Retry-After header carries). */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
