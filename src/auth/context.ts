/** What every part of the engine shares: ports, keys, settings and the clock. */
import type { FactorMethod, Sender, Store } from './ports.ts';
import type { Argon2Parameters } from './password-hash.ts';
import { DEFAULT_ARGON2, dummyPasswordHash } from './password-hash.ts';
import type { BreachCheck } from './breach-check.ts';
import type { Keyring } from './keyring.ts';
import { createKeyring } from './keyring.ts';
import type { Limits } from './throttle.ts';
import { DEFAULT_LIMITS } from './throttle.ts';

export interface AuthOptions {
  store: Store;
  sender: Sender;
  /** 32 bytes, held outside the database. */
  secretKey: Uint8Array;
  /** Keys used before a rotation: they still open old TOTP secrets and check old recovery codes. */
  previousSecretKeys?: Uint8Array[];
  /** Audit events older than this are deleted by the sweep (default 365). */
  auditRetentionDays?: number;
  issuer?: string;
  /** The second factors that count (OTPGATE_FACTORS). */
  factors?: FactorMethod[];
  signup?: 'open' | 'closed';
  codeTTLSeconds?: number;
  loginTTLSeconds?: number;
  sessionIdleSeconds?: number;
  sessionMaxSeconds?: number;
  argon2?: Argon2Parameters;
  /** Refuses new passwords found in breach corpora (breach-check.ts); unset: only the bundled common list. */
  breachCheck?: BreachCheck;
  limits?: Partial<Limits>;
  /** Milliseconds since the epoch; tests pass their own. */
  clock?: () => number;
  /** Where delivery failures are reported (never with a code in them). */
  onDeliveryError?: (error: unknown, channel: string) => void;
  /** Country calling codes SMS may go to (OTPGATE_SMS_COUNTRIES); unset: all but the refused ranges. */
  smsCountries?: readonly string[];
  /** Server-wide SMS per clock hour (OTPGATE_SMS_HOURLY_CAP); unset: no cap. */
  smsHourlyCap?: number;
  /** The origin people open (OTPGATE_PUBLIC_URL), for links in mail; read when a link is made. Unset: no unlock link is mailed. */
  publicURL?: URL;
}

export interface AuthContext {
  store: Store;
  sender: Sender;
  keyring: Keyring;
  issuer: string;
  factors: ReadonlySet<FactorMethod>;
  signup: 'open' | 'closed';
  codeTTLMs: number;
  loginTTLMs: number;
  sessionIdleMs: number;
  sessionMaxMs: number;
  auditRetentionMs: number;
  argon2: Argon2Parameters;
  breachCheck: BreachCheck | undefined;
  limits: Limits;
  now: () => number;
  /** A hash of a random password, verified for unknown usernames so time and answer match (I11). */
  dummyHash: Promise<string>;
  onDeliveryError: (error: unknown, channel: string) => void;
  /** See sms-policy.ts; null: every calling code but the refused ranges. */
  smsCountries: ReadonlySet<string> | null;
  /** See sms-policy.ts; null: no cap. */
  smsHourlyCap: number | null;
  /** Security notifications still being sent in the background (see notifications.ts). */
  notifications: Set<Promise<void>>;
  publicURL: URL | null;
  /** Resolves once every notification started so far has been sent or has failed: for tests and graceful shutdown. */
  settle(): Promise<void>;
}

export function createContext(options: AuthOptions): AuthContext {
  const argon2 = options.argon2 ?? DEFAULT_ARGON2;
  const dummyHash = Promise.resolve(dummyPasswordHash(argon2));
  const notifications = new Set<Promise<void>>();
  return {
    store: options.store,
    sender: options.sender,
    keyring: createKeyring(options.secretKey, options.previousSecretKeys),
    issuer: options.issuer ?? 'otpgate',
    factors: new Set(options.factors ?? ['totp', 'email', 'sms', 'recovery']),
    signup: options.signup ?? 'open',
    codeTTLMs: (options.codeTTLSeconds ?? 300) * 1000,
    loginTTLMs: (options.loginTTLSeconds ?? 600) * 1000,
    sessionIdleMs: (options.sessionIdleSeconds ?? 3600) * 1000,
    sessionMaxMs: (options.sessionMaxSeconds ?? 86400) * 1000,
    auditRetentionMs: (options.auditRetentionDays ?? 365) * 86_400_000,
    argon2,
    breachCheck: options.breachCheck,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    now: options.clock ?? Date.now,
    dummyHash,
    onDeliveryError: options.onDeliveryError ?? (() => undefined),
    smsCountries: options.smsCountries ? new Set(options.smsCountries) : null,
    smsHourlyCap: options.smsHourlyCap ?? null,
    publicURL: options.publicURL ?? null,
    notifications,
    async settle(): Promise<void> {
      // Each task catches its own errors; loop for those started while waiting.
      while (notifications.size > 0) await Promise.all(notifications);
    },
  };
}

/** Client facts recorded with every event. */
export interface ClientInfo {
  ip: string;
  userAgent: string;
}
