/**
 * The two ports of the login engine: the Store (all state, shared by every server
 * instance) and the Sender (email and SMS delivery).
 *
 * Every method that guards a secret is one atomic step in the Store: a one-time
 * record is consumed, a TOTP step is accepted only when greater than the last, an
 * attempt is counted before the code is looked at. The engine never reads a row in
 * JavaScript and writes it back.
 *
 * Times are milliseconds since the Unix epoch (UTC), always passed in by the caller.
 * Bearer secrets (session tokens, pending-login ids, codes) reach the Store only as
 * hashes.
 */

export type FactorMethod = 'totp' | 'email' | 'sms' | 'recovery';
export type DeliveryChannel = 'email' | 'sms';

export interface User {
  id: string;
  /** Normalised (NFKC, case-folded): the unique key. */
  username: string;
  email: string | null;
  phone: string | null;
  phoneVerifiedAt: number | null;
  /** PHC string, e.g. `$argon2id$v=19$m=19456,t=2,p=1$…`. */
  passwordHash: string;
  disabled: boolean;
  preferredMethod: FactorMethod | null;
  createdAt: number;
}

export interface NewUser {
  id: string;
  username: string;
  email: string | null;
  phone: string | null;
  passwordHash: string;
  createdAt: number;
}

export type UserPatch = Partial<Pick<User, 'email' | 'phone' | 'phoneVerifiedAt' | 'passwordHash' | 'disabled' | 'preferredMethod'>>;

export interface TOTPFactor {
  id: string;
  userId: string;
  label: string;
  /** AES-256-GCM sealed secret (see auth/secret-box.ts), with the id of the key that sealed it. */
  encryptedSecret: string;
  keyId: string;
  confirmedAt: number | null;
  /** The last accepted time step: only greater steps are accepted again (RFC 6238 §5.2). */
  lastStep: number | null;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface PendingLogin {
  /** SHA-256 of the id held by the client; the id itself is never stored. */
  idHash: string;
  userId: string;
  methods: FactorMethod[];
  /** Wrong codes entered in this pending login. */
  attempts: number;
  sends: number;
  lastSentAt: number | null;
  /** The live email/SMS code, if one was sent: a keyed hash, its channel and expiry. */
  codeHash: string | null;
  codeChannel: DeliveryChannel | null;
  codeExpiresAt: number | null;
  ip: string;
  userAgent: string;
  createdAt: number;
  expiresAt: number;
}

export interface Session {
  /** SHA-256 of the bearer token. */
  tokenHash: string;
  /** A public handle for listing and revoking; not a credential. */
  id: string;
  userId: string;
  /** 1: password only (may enroll a factor); 2: password and second factor. */
  level: 1 | 2;
  ip: string;
  userAgent: string;
  createdAt: number;
  lastSeenAt: number;
  /** Absolute end: createdAt + the maximum session length. */
  expiresAt: number;
}

export interface AuditEvent {
  at: number;
  userId: string | null;
  type: string;
  method: FactorMethod | 'password' | null;
  ip: string | null;
  userAgent: string | null;
  /** Non-secret detail (reason, counts, labels). */
  detail: Record<string, string | number | boolean | null> | null;
}

export interface StoredAuditEvent extends AuditEvent {
  id: number;
}

/** A counter of consecutive failures with an exponential delay and an optional lock. */
export interface AttemptPolicy {
  /** Failures allowed before any delay. */
  freeAttempts: number;
  /** The delay after the first failure beyond freeAttempts; doubles each time. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Refuse every claim once the count reaches this (null: never lock). */
  lockAt: number | null;
  /** Forget the count this long after the last claim (null: keep it until reset). */
  forgetAfterMs: number | null;
}

export type AttemptClaim =
  | { ok: true; count: number }
  | { ok: false; locked: boolean; retryAfterMs: number; count: number };

export type TokenTake = { ok: true } | { ok: false; retryAfterMs: number };

export interface PendingCodeUpdate {
  codeHash: string;
  channel: DeliveryChannel;
  codeExpiresAt: number;
  now: number;
  /** Refuse when the last send was less than this long ago. */
  cooldownMs: number;
  maxSends: number;
}

export type PendingCodeResult =
  | { ok: true; sends: number }
  | { ok: false; reason: 'login_expired' }
  | { ok: false; reason: 'rate_limited'; retryAfterMs: number };

export interface PhoneVerification {
  userId: string;
  phone: string;
  codeHash: string;
  expiresAt: number;
  attempts: number;
}

/** What `beginPasswordAttempt` answers: the name counter's new count, or which rule refused. */
export type PasswordAttemptResult =
  | { ok: true; count: number }
  | { ok: false; rule: 'address' | 'username'; retryAfterMs: number };

/** What `beginCodeAttempt` answers: the account counter's count and the pending login's new attempt count, or why it refused. */
export type CodeAttemptResult =
  | { ok: true; accountCount: number; attempts: number }
  | { ok: false; reason: 'login_expired' }
  | { ok: false; reason: 'throttled'; locked: boolean; retryAfterMs: number; accountCount: number };

/** What proves the second factor in `completeLogin`. */
export type CompletionProof =
  | { kind: 'totp'; factorId: string; step: number }
  | { kind: 'recovery'; userId: string; codeHash: string }
  | { kind: 'code'; channel: DeliveryChannel; codeHash: string };

/** What `completeLogin` answers: the consumed pending login, or why nothing was written. */
export type CompletionResult =
  | { ok: true; pending: PendingLogin; recoveryCodesLeft: number | null }
  | { ok: false; reason: 'rejected' | 'expired' | 'login_expired' };

export interface Store {
  // Accounts
  /** Inserts a user; null when the username is taken. */
  createUser(user: NewUser): Promise<User | null>;
  getUserById(id: string): Promise<User | null>;
  getUserByUsername(username: string): Promise<User | null>;
  listUsers(): Promise<User[]>;
  updateUser(id: string, patch: UserPatch): Promise<void>;
  /**
   * One transaction: deletes the user's TOTP factors, recovery codes, phone verification,
   * pending logins and sessions, unverifies the phone and clears the preferred method.
   */
  resetSecondFactors(userId: string): Promise<void>;
  /**
   * One transaction: updateUser(id, patch), then deleteUserSessions(id, exceptTokenHash)
   * and the user's pending logins. A changed password or a disabled account never leaves
   * the old sessions, or a login begun before it, behind, even across a crash. Answers the
   * number of sessions ended.
   */
  updateUserAndEndSessions(id: string, patch: UserPatch, exceptTokenHash?: string): Promise<number>;

  // TOTP factors
  insertTOTPFactor(factor: TOTPFactor): Promise<void>;
  getTOTPFactor(userId: string, factorId: string): Promise<TOTPFactor | null>;
  listTOTPFactors(userId: string): Promise<TOTPFactor[]>;
  /**
   * Records `step` as used, only if it is greater than the factor's last step (and,
   * when `confirm`, marks the factor confirmed). True for exactly one of any number
   * of concurrent callers with the same step.
   */
  acceptTOTPStep(factorId: string, step: number, now: number, confirm: boolean): Promise<boolean>;
  deleteTOTPFactor(userId: string, factorId: string): Promise<boolean>;

  // Recovery codes (keyed hashes only)
  replaceRecoveryCodes(userId: string, codeHashes: string[], now: number): Promise<void>;
  /**
   * replaceRecoveryCodes, only when the account has no unused code: the first set of a
   * new second factor. True for exactly one of any number of concurrent callers.
   */
  addFirstRecoveryCodes(userId: string, codeHashes: string[], now: number): Promise<boolean>;
  /** Marks the code used; true for exactly one of any number of concurrent callers. */
  useRecoveryCode(userId: string, codeHash: string, now: number): Promise<boolean>;
  countRecoveryCodes(userId: string): Promise<number>;

  // Phone verification (one live code per user)
  putPhoneVerification(verification: PhoneVerification): Promise<void>;
  getPhoneVerification(userId: string): Promise<PhoneVerification | null>;
  /** Counts a wrong code; returns the new count, or null when there is no verification. */
  recordPhoneVerificationFailure(userId: string): Promise<number | null>;
  deletePhoneVerification(userId: string): Promise<void>;

  // Pending logins (between the password and the second factor)
  createPendingLogin(pending: PendingLogin): Promise<void>;
  /** The pending login if it exists and has not expired at `now`. */
  getPendingLogin(idHash: string, now: number): Promise<PendingLogin | null>;
  /**
   * Counts one code attempt before the code is checked: the new count, or null when
   * the pending login is missing, expired, or already at `maxAttempts`.
   */
  claimPendingAttempt(idHash: string, now: number, maxAttempts: number): Promise<number | null>;
  /** Stores a new email/SMS code (voiding any previous one), within the send limits. */
  setPendingCode(idHash: string, update: PendingCodeUpdate): Promise<PendingCodeResult>;
  /** Clears and reports the live code if it matches `codeHash`, `channel` and has not expired. */
  consumePendingCode(idHash: string, channel: DeliveryChannel, codeHash: string, now: number): Promise<'ok' | 'expired' | 'mismatch'>;
  /** Deletes the pending login and returns it; null for all but one concurrent caller. */
  consumePendingLogin(idHash: string, now: number): Promise<PendingLogin | null>;
  deletePendingLogin(idHash: string): Promise<void>;

  // Sessions
  createSession(session: Session): Promise<void>;
  getSession(tokenHash: string): Promise<Session | null>;
  touchSession(tokenHash: string, now: number): Promise<void>;
  deleteSession(tokenHash: string): Promise<boolean>;
  /** Revokes one of the user's sessions by its public id. */
  deleteSessionById(userId: string, id: string): Promise<boolean>;
  /** Revokes all the user's sessions except the one with `exceptTokenHash`; returns how many. */
  deleteUserSessions(userId: string, exceptTokenHash?: string): Promise<number>;
  listSessions(userId: string): Promise<Session[]>;

  // Groups (forward-auth gate: Remote-Groups and group: subjects); names are stored as given
  listUserGroups(userId: string): Promise<string[]>;
  /** True when the user was not in the group before. */
  addUserGroup(userId: string, group: string): Promise<boolean>;
  /** True when the user was in the group. */
  removeUserGroup(userId: string, group: string): Promise<boolean>;

  // Throttling
  /** Counts an attempt under `key` unless delayed or locked; atomic across instances. */
  claimAttempt(key: string, now: number, policy: AttemptPolicy): Promise<AttemptClaim>;
  resetAttempts(key: string): Promise<void>;
  /** The current count (0 when absent); with `now`, 0 also once the count is past its forget time. */
  getAttemptCount(key: string, now?: number): Promise<number>;
  /** Takes one token from a bucket of `capacity` refilled at one per `refillMs`. */
  takeToken(key: string, now: number, capacity: number, refillMs: number): Promise<TokenTake>;

  // Audit trail (append-only)
  appendAudit(event: AuditEvent): Promise<void>;
  listAudit(options: { userId?: string; limit: number }): Promise<StoredAuditEvent[]>;
  /** When the user's newest event of `type` with `method` happened; null when there is none. */
  lastAuditAt(userId: string, type: string, method: AuditEvent['method']): Promise<number | null>;

  // Coalesced writes for the login hot path. Each is ONE write transaction that does
  // exactly what the separate calls named in its comment do, in that order, and is all or
  // nothing: an error, or a refusal where so documented, rolls every step back.
  //
  // Durability: every write method resolves once its write is durable, except the two
  // claims (beginPasswordAttempt, beginCodeAttempt), which may resolve once committed.
  // The engine never answers right after a claim: it always writes again first (the
  // pending login or session, the failure, or the throttle event), and that write is
  // durable only with everything committed before it. A crash in between loses the count
  // of a request that was never answered.
  /** One transaction: takeToken(ipKey, …) then claimAttempt(nameKey, …); nothing is written when the first refuses. */
  beginPasswordAttempt(input: { now: number; ipKey: string; ipCapacity: number; ipRefillMs: number; nameKey: string; policy: AttemptPolicy }): Promise<PasswordAttemptResult>;
  /** One transaction: resetAttempts(resetKey), createPendingLogin(pending) when given, appendAudit(each event). */
  recordPasswordSuccess(input: { resetKey: string; pending: PendingLogin | null; events: AuditEvent[] }): Promise<void>;
  /**
   * One transaction, in this order: the pending login must exist, be unexpired and have
   * attempts < maxAttempts (else login_expired, nothing written); then claimAttempt(accountKey,
   * now, policy) (refused → throttled, nothing written); then the pending login's attempts + 1.
   */
  beginCodeAttempt(input: { idHash: string; now: number; maxAttempts: number; accountKey: string; policy: AttemptPolicy }): Promise<CodeAttemptResult>;
  /**
   * One transaction that finishes a login, all or nothing: use the proof (acceptTOTPStep(factorId,
   * step, now, false) / useRecoveryCode / consumePendingCode — a refusal rolls back and answers
   * 'rejected', or 'expired' for an expired email/SMS code), then consumePendingLogin(idHash, now)
   * (gone → roll back, 'login_expired'), then resetAttempts for each of resetKeys, createSession(session),
   * appendAudit for each event. recoveryCodesLeft is the count after use for a recovery proof, else null.
   */
  completeLogin(input: { idHash: string; now: number; proof: CompletionProof; resetKeys: string[]; session: Session; events: AuditEvent[] }): Promise<CompletionResult>;
  /** One transaction: appendAudit(each event) and, when closePending is set, deletePendingLogin(closePending). */
  recordCodeFailure(input: { events: AuditEvent[]; closePending: string | null }): Promise<void>;

  /** Deletes expired pending logins, phone verifications, sessions and idle throttle rows. */
  sweep(now: number, sessionIdleMs: number): Promise<number>;
  close(): Promise<void>;
}

export interface OutgoingMessage {
  channel: DeliveryChannel;
  /** Email address or E.164 number. */
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Set when the message carries a one-time code: the console sender prints it on purpose. */
  kind: 'code' | 'notification';
}

export interface Sender {
  /** Whether this sender can deliver over `channel`. */
  supports(channel: DeliveryChannel): boolean;
  /** Delivers or throws a DeliveryError. */
  send(message: OutgoingMessage): Promise<void>;
}
