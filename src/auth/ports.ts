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
  /** When `email` was proven with a code (or vouched for by the operator); until then it is not a factor. */
  emailVerifiedAt: number | null;
  /** PHC string, e.g. `$argon2id$v=19$m=19456,t=2,p=1$…`. */
  passwordHash: string;
  disabled: boolean;
  preferredMethod: FactorMethod | null;
  createdAt: number;
  /** Bumped by a password change, a disable and a 2FA reset (Store.updateUserAndEndSessions, resetSecondFactors). */
  credentialVersion: number;
}

export interface NewUser {
  id: string;
  username: string;
  email: string | null;
  phone: string | null;
  passwordHash: string;
  createdAt: number;
  /** Set when the address needs no proof (the operator vouches for it). */
  emailVerifiedAt?: number | null;
}

export type UserPatch = Partial<Pick<User, 'email' | 'emailVerifiedAt' | 'phone' | 'phoneVerifiedAt' | 'passwordHash' | 'disabled' | 'preferredMethod'>>;

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
  /** The second factor that made it level 2; absent for level 1 and for sessions older than the record. */
  method?: FactorMethod;
}

/** A session with the account facts the forward-auth gate passes on (Store.getSessionWithAccount). */
export interface SessionWithAccount {
  session: Session;
  user: Pick<User, 'username' | 'email' | 'emailVerifiedAt' | 'disabled'> | null;
  groups: string[];
}

/**
 * A secret made by a POST and shown by the GET it redirects to, once (the authenticator's
 * key, new recovery codes): sealed with the keyring, bound to one session, single use.
 */
export interface OneTimeView {
  /** SHA-256 of the handle held by the client; the handle itself is never stored. */
  handleHash: string;
  userId: string;
  /** The public id of the session it was made for: no other session can take it. */
  sessionId: string;
  kind: string;
  /** AES-256-GCM sealed payload (see auth/keyring.ts), with the id of the key that sealed it. */
  sealed: string;
  keyId: string;
  expiresAt: number;
}

/**
 * A browser that completed a sign-in to the account: its cookie holds a 256-bit random
 * token, the Store only its SHA-256. It exempts that browser's password attempts from
 * the delay and the lock that strangers' failures put on the username; nothing else.
 */
export interface Device {
  /** A public handle for listing and revoking; not a credential. */
  id: string;
  tokenHash: string;
  userId: string;
  ip: string;
  userAgent: string;
  createdAt: number;
  lastUsedAt: number;
}

/** A single-use link that lifts the password lock for strangers (only the token's SHA-256 is kept). */
export interface PasswordUnlock {
  tokenHash: string;
  userId: string;
  createdAt: number;
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
  /**
   * Set on refusals: events with the same key (rule, account, address, window) share one
   * row whose count grows, so a flood of refused requests is not a flood of rows.
   */
  countKey?: string;
}

export interface StoredAuditEvent extends AuditEvent {
  id: number;
  /** How many events the row stands for (absent or 1 but for counted refusals). */
  count?: number;
  /** When the last of them happened (`at` is the first); absent: `at`. */
  lastAt?: number;
}

/** How many stored records one secret-key id still seals (TOTP secrets) or keys (unused recovery codes). */
export interface KeyUsage {
  /** null: recovery codes hashed before key ids were recorded (under the key current then). */
  keyId: string | null;
  totpSecrets: number;
  recoveryCodes: number;
}

/** What `claimNotification` answers: send now (with how many were held back since `since`), or hold this one back. */
export type NotificationClaim = { send: true; suppressed: number; since: number | null } | { send: false };

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

/** A code mailed to prove an address; the address replaces the account's only once proven. */
export interface EmailVerification {
  userId: string;
  email: string;
  codeHash: string;
  expiresAt: number;
  attempts: number;
}

/**
 * Level 1 (password only) lasts this long from its creation, and so does a pending
 * (unconfirmed) authenticator: the half-signed-in state is short (ARCHITECTURE.md).
 */
export const ENROLLMENT_TTL_MS = 10 * 60_000;

/** What `confirmTOTPFactor` and `confirmEmail` do to the sessions besides, in the same transaction. */
export interface FactorConfirmation {
  userId: string;
  now: number;
  /** The confirming session: a level-1 one must still exist (a factor confirmed elsewhere ended it). */
  current: Pick<Session, 'tokenHash' | 'level'>;
  /** Also end every other session of the account, whatever its level. */
  endOtherSessions: boolean;
  /** When given, the current session is replaced by this one (a level change: new id, I6). */
  replaceWith: Session | null;
}

/** What `beginPasswordAttempt` answers: the name counter's new count, or which rule refused. */
export type PasswordAttemptResult =
  | { ok: true; count: number }
  /** `locked` is present (true) only when the name counter is at its policy's lockAt. */
  | { ok: false; rule: 'address' | 'username'; retryAfterMs: number; locked?: true };

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
   * pending logins, sessions and devices, unverifies the phone, clears the preferred method
   * and bumps the credential version.
   */
  resetSecondFactors(userId: string): Promise<void>;
  /**
   * One transaction: updateUser(id, patch), then deleteUserSessions(id, exceptTokenHash),
   * the user's pending logins and devices, and a bump of the credential version. A changed
   * password or a disabled account never leaves the old sessions, devices, or a login begun
   * before it, behind, even across a crash. Answers the number of sessions ended.
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
  /** Replaces the sealed secret, only while it is still sealed under `fromKeyId`; true when written. */
  resealTOTPFactor(factorId: string, fromKeyId: string, sealed: { keyId: string; encryptedSecret: string }): Promise<boolean>;
  /** Per secret-key id: TOTP secrets sealed and unused recovery codes keyed under it. */
  keyUsage(): Promise<KeyUsage[]>;

  // Recovery codes (keyed hashes only)
  /** `keyId`: the secret key whose code key made the hashes (kept beside them, so a rotation keeps them usable). */
  replaceRecoveryCodes(userId: string, codeHashes: string[], now: number, keyId?: string): Promise<void>;
  /**
   * replaceRecoveryCodes, only when the account has no unused code: the first set of a
   * new second factor. True for exactly one of any number of concurrent callers.
   */
  addFirstRecoveryCodes(userId: string, codeHashes: string[], now: number, keyId?: string): Promise<boolean>;
  /** The distinct key ids of the user's unused recovery codes (null for codes stored before key ids were). */
  recoveryCodeKeyIds(userId: string): Promise<(string | null)[]>;
  /** Marks the code used; true for exactly one of any number of concurrent callers. */
  useRecoveryCode(userId: string, codeHash: string, now: number): Promise<boolean>;
  countRecoveryCodes(userId: string): Promise<number>;

  // Phone verification (one live code per user)
  putPhoneVerification(verification: PhoneVerification): Promise<void>;
  getPhoneVerification(userId: string): Promise<PhoneVerification | null>;
  /** Counts a wrong code; returns the new count, or null when there is no verification. */
  recordPhoneVerificationFailure(userId: string): Promise<number | null>;
  deletePhoneVerification(userId: string): Promise<void>;
  /**
   * One transaction: deletes the user's verification when its code hash is `codeHash` and it
   * has not expired at `now`, and makes its number the user's verified phone. The number;
   * null for a mismatch and for all but one of concurrent callers with the right code.
   */
  confirmPhone(userId: string, codeHash: string, now: number): Promise<string | null>;

  // Enrollment and email verification (issue 12: the half-signed-in state)
  /** One transaction: deletes the user's unconfirmed authenticators, then inserts `factor` (one pending enrollment per account). */
  replacePendingTOTPFactor(factor: TOTPFactor): Promise<void>;
  /**
   * One transaction, all or nothing: the current level-1 session must still exist; the
   * unconfirmed factor created after `createdAfter` accepts `step` and is confirmed; then every
   * level-1 session of the account ends (the account now has a factor), the other sessions
   * too when asked, and `replaceWith` replaces the current one. False when nothing was written.
   */
  confirmTOTPFactor(input: FactorConfirmation & { factorId: string; step: number; createdAfter: number }): Promise<boolean>;
  putEmailVerification(verification: EmailVerification): Promise<void>;
  getEmailVerification(userId: string): Promise<EmailVerification | null>;
  /** Counts a wrong code; the new count, or null when there is no verification. */
  recordEmailVerificationFailure(userId: string): Promise<number | null>;
  deleteEmailVerification(userId: string): Promise<void>;
  /**
   * One transaction, all or nothing: the current level-1 session must still exist; the
   * verification with `codeHash` for `email`, unexpired, is consumed; the account's address
   * becomes `email`, verified at `now`; then, when `endEnrollment`, every level-1 session
   * ends; the other sessions when asked; `replaceWith` replaces the current one.
   */
  confirmEmail(input: FactorConfirmation & { email: string; codeHash: string; endEnrollment: boolean }): Promise<boolean>;

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
  /**
   * One transaction: deletes the session `oldTokenHash` and, only if it was there, creates
   * `session` in its place (a new token for the same sign-in). False, and nothing written,
   * when the old session had already ended: of concurrent callers, one replaces it.
   */
  replaceSession(oldTokenHash: string, session: Session): Promise<boolean>;
  /** Revokes one of the user's sessions by its public id. */
  deleteSessionById(userId: string, id: string): Promise<boolean>;
  /** Revokes all the user's sessions except the one with `exceptTokenHash`; returns how many. */
  deleteUserSessions(userId: string, exceptTokenHash?: string): Promise<number>;
  listSessions(userId: string): Promise<Session[]>;

  // Secrets shown once (see OneTimeView)
  putOneTimeView(view: OneTimeView): Promise<void>;
  /**
   * Deletes and returns the view when handle, session and kind match and it has not
   * expired at `now`; null otherwise, and for all but one of concurrent callers.
   */
  takeOneTimeView(handleHash: string, sessionId: string, kind: string, now: number): Promise<OneTimeView | null>;
  // Devices (browsers that completed a sign-in)
  createDevice(device: Device): Promise<void>;
  getDevice(tokenHash: string): Promise<Device | null>;
  touchDevice(tokenHash: string, now: number): Promise<void>;
  listDevices(userId: string): Promise<Device[]>;
  /** Revokes one of the user's devices by its public id. */
  deleteDeviceById(userId: string, id: string): Promise<boolean>;

  // Unlock links of the password lock for strangers
  putPasswordUnlock(unlock: PasswordUnlock): Promise<void>;
  /** Deletes the unexpired link and answers its user id; null for all but one concurrent caller. */
  consumePasswordUnlock(tokenHash: string, now: number): Promise<string | null>;
  deletePasswordUnlocks(userId: string): Promise<void>;

  // Groups (forward-auth gate: Remote-Groups and group: subjects); names are stored as given
  listUserGroups(userId: string): Promise<string[]>;
  /**
   * The gate's one read per decision: the session of a token hash, what Remote-* tells apps
   * about its account (`user` null when the row is gone) and its groups in name order.
   * Checks nothing: expiry and the disabled flag are the caller's (identity.ts).
   */
  getSessionWithAccount(tokenHash: string): Promise<SessionWithAccount | null>;
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

  // Audit trail (append-only but for counted refusals, and swept after the retention)
  /** Appends the event; one with a `countKey` already stored adds one to that row's count instead. */
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
  /**
   * One transaction: when `expect` is given, the user must exist, be enabled and still have
   * that credential version (else false, nothing written); then resetAttempts(resetKey),
   * createPendingLogin(pending) when given, createSession(session) when given, the new
   * password hash when `rehash` is given, appendAudit(each event). True when written.
   */
  recordPasswordSuccess(input: {
    resetKey: string; pending: PendingLogin | null; events: AuditEvent[];
    expect?: { userId: string; credentialVersion: number }; session?: Session | null; rehash?: string | null;
  }): Promise<boolean>;
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

  // Security notifications (one window per account and kind, shared by every instance)
  /**
   * Atomically: when no mail for `key` went out within `windowMs` before `now`, records
   * one as sent now and answers send (with the count held back since the last one); else
   * counts this one as held back.
   */
  claimNotification(key: string, now: number, windowMs: number): Promise<NotificationClaim>;

  /**
   * Deletes expired pending logins, phone verifications, sessions, one-time views, unlock links,
   * devices unused for a year and idle throttle rows,
   * and, with `auditRetentionMs`, audit events whose last occurrence is older than that.
   */
  sweep(now: number, sessionIdleMs: number, auditRetentionMs?: number): Promise<number>;
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
