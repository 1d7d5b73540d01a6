/**
 * The one place the HTTP benchmark knows the schema: bulk-seeds a SQLite store before
 * the server opens it. Accounts, their confirmed TOTP factors (sealed with the engine's
 * own keyring), pending logins (the store keeps the SHA-256 of the 43-character id the
 * cookie carries) and live sessions, all in one transaction.
 *
 * Every identity is derived from the account's index, so the driver can rebuild the
 * username, TOTP secret and pending-login id of account i without reading the database.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createAuth } from '../../src/auth/index.ts';
import type { Sender, TOTPFactor } from '../../src/auth/index.ts';
import { createKeyring, seal } from '../../src/auth/keyring.ts';
import { totpSealContext } from '../../src/auth/second-factor.ts';
import { hashToken } from '../../src/auth/tokens.ts';
import { createOTPKey, generateTOTP } from '../../src/otp/index.ts';
import { openSQLiteStore } from '../../src/store/sqlite.ts';

export const PASSWORD = 'http-benchmark-password-42';
/** Fixed, so the bench can seal secrets the server opens (OTPGATE_SECRET_KEY). */
export const SECRET_KEY = createHash('sha256').update('otpgate bench/http secret key').digest();
const IDENTITY_KEY = createHash('sha256').update('otpgate bench/http identities').digest();

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
// One keyed SHA-512 per account gives its user id, factor id and TOTP secret (seeding 10^6 stays fast).
const material = (i: number): Buffer => createHash('sha512').update(IDENTITY_KEY).update(`account:${i}`).digest();

/** Account i's identities, as the server will see them. */
export const identity = {
  username: (i: number): string => `bench${i}`,
  userId: (i: number): string => b64url(material(i).subarray(0, 16)), // 22 chars, like generateId()
  factorId: (i: number): string => b64url(material(i).subarray(16, 32)),
  totpSecret: (i: number): Buffer => material(i).subarray(32, 52), // 160 bits, like enrollment
  /** The raw pending-login id (the cookie value): 43 base64url characters, like generateToken(). */
  pendingId: (i: number): string => b64url(createHash('sha256').update(IDENTITY_KEY).update(`pending:${i}`).digest()),
};

export interface SeedSpec {
  /** Accounts 0 … accounts-1, each with the shared password hash and one confirmed TOTP factor. */
  accounts: number;
  /** Account indexes that get one open pending login each (for the OTP step alone). */
  pending: Iterable<number>;
  /** Live level-2 sessions, on accounts picked at random. */
  sessions: number;
  /** The argon2id PHC string every account shares (hashing once keeps seeding fast). */
  passwordHash: string;
  now: number;
}

export interface SeedResult {
  accounts: number;
  pending: number;
  sessions: number;
  seconds: number;
  bytes: number;
}

const INSERT = {
  user: `INSERT INTO users (id, username, email, phone, phone_verified_at, password_hash, disabled, preferred_method, created_at)
    VALUES (?, ?, NULL, NULL, NULL, ?, 0, NULL, ?)`,
  factor: `INSERT INTO totp_factors (id, user_id, label, encrypted_secret, key_id, confirmed_at, last_step, created_at, last_used_at)
    VALUES (?, ?, 'Authenticator', ?, ?, ?, NULL, ?, NULL)`,
  pending: `INSERT INTO pending_logins (id_hash, user_id, methods, attempts, sends, last_sent_at, code_hash, code_channel, code_expires_at, ip, user_agent, created_at, expires_at)
    VALUES (?, ?, '["totp"]', 0, 0, NULL, NULL, NULL, NULL, '10.255.0.1', 'otpgate-bench', ?, ?)`,
  session: `INSERT INTO sessions (token_hash, id, user_id, level, ip, user_agent, created_at, last_seen_at, expires_at)
    VALUES (?, ?, ?, 2, '10.255.0.2', 'otpgate-bench', ?, ?, ?)`,
} as const;

/** Creates (migrates) the database at `path` with the server's own code, then bulk-inserts `spec` in one transaction. */
export async function seedStore(path: string, spec: SeedSpec): Promise<SeedResult> {
  const started = performance.now();
  await mkdir(dirname(path), { recursive: true, mode: 0o700 }); // the server's data dir
  await (await openSQLiteStore(path)).close(); // the schema, exactly as the server makes it
  const keyring = createKeyring(SECRET_KEY);
  const db = new DatabaseSync(path);
  let pending = 0;
  try {
    // Seeding only: no fsync per page, a large cache for the random-key B-tree inserts.
    db.exec('PRAGMA synchronous = OFF');
    db.exec('PRAGMA cache_size = -262144');
    const user = db.prepare(INSERT.user);
    const factor = db.prepare(INSERT.factor);
    const pendingLogin = db.prepare(INSERT.pending);
    const session = db.prepare(INSERT.session);
    const { now } = spec;
    db.exec('BEGIN');
    for (let i = 0; i < spec.accounts; i++) {
      const bytes = material(i);
      const userId = b64url(bytes.subarray(0, 16));
      const factorId = b64url(bytes.subarray(16, 32));
      const sealed = seal(keyring, bytes.subarray(32, 52), totpSealContext({ id: factorId, userId }));
      user.run(userId, identity.username(i), spec.passwordHash, now - 86_400_000);
      factor.run(factorId, userId, sealed.sealed, sealed.keyId, now - 86_400_000, now - 86_400_000);
    }
    for (const i of spec.pending) {
      if (i < 0 || i >= spec.accounts) throw new RangeError(`pending login for account ${i} outside 0…${spec.accounts - 1}`);
      // Open for two hours: longer than any run, shorter than nothing the sweeper would touch.
      pendingLogin.run(hashToken(identity.pendingId(i)), identity.userId(i), now, now + 7_200_000);
      pending++;
    }
    for (let s = 0; s < spec.sessions; s++) {
      const owner = Math.floor(Math.random() * spec.accounts);
      const seen = now - Math.floor(Math.random() * 1_800_000); // active in the last half hour
      session.run(hashToken(randomBytes(32).toString('base64url')), randomBytes(16).toString('base64url'), identity.userId(owner), seen - 60_000, seen, seen + 86_400_000);
    }
    db.exec('COMMIT');
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  } finally {
    db.close();
  }
  const { size } = await stat(path);
  return { accounts: spec.accounts, pending, sessions: spec.sessions, seconds: (performance.now() - started) / 1000, bytes: size };
}

const noSender: Sender = { supports: () => false, send: () => Promise.reject(new Error('not used')) };

/**
 * Proves seeded rows are what the engine writes: the engine itself (same secret key) signs
 * in account `i` with the password (hash and confirmed factor found), then finishes the
 * seeded pending login of account `i` with a TOTP code (sealing and id hash agree).
 * Uses one argon2id verify, one pending login and the current TOTP step of account `i`.
 */
export async function checkSeedWithEngine(path: string, i: number): Promise<void> {
  const store = await openSQLiteStore(path);
  try {
    const auth = createAuth({ store, sender: noSender, secretKey: SECRET_KEY });
    const client = { ip: '10.255.0.3', userAgent: 'otpgate-bench-check' };
    const started = await auth.startLogin(identity.username(i), PASSWORD, client);
    if (started.status !== 'otp_required' || started.methods.join() !== 'totp') throw new Error(`seed check: password step answered ${started.status}${started.status === 'otp_required' ? ` with methods ${started.methods.join()}` : ''}`);
    const factors: TOTPFactor[] = await store.listTOTPFactors(identity.userId(i));
    if (factors.length !== 1 || factors[0]?.confirmedAt === null) throw new Error('seed check: the seeded factor is not one confirmed factor');
    const code = generateTOTP(createOTPKey(identity.totpSecret(i)), Date.now());
    const verified = await auth.verifyLogin(identity.pendingId(i), 'totp', code, client);
    if (verified.status !== 'authenticated') throw new Error(`seed check: the seeded pending login answered ${verified.status}`);
    await store.deletePendingLogin(hashToken(started.pendingLoginId));
    await auth.flushNotifications();
  } finally {
    await store.close();
  }
}
