// The login engine on SQLite, in one process: the second step (TOTP verify) and the
// first step (start(): password check + pending login) against the bare argon2id bound.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuth, DEFAULT_ARGON2, verifyPassword } from '../src/auth/index.ts';
import type { Sender } from '../src/auth/index.ts';
import { hashToken } from '../src/auth/tokens.ts';
import { argon2idOnLibuv } from '../src/auth/argon2-compute.ts';
import { parsePasswordHash } from '../src/auth/password-hash.ts';
import { openSQLiteStore } from '../src/store/sqlite.ts';
import { decodeBase32, generateTOTP } from '../src/otp/index.ts';
import { defineSuite } from './lib.ts';
import type { BenchGroup } from './lib.ts';

const PASSWORD = 'benchmark-password-42';
const CONCURRENCY = 4;
const client = { ip: '127.0.0.1', userAgent: 'bench' };
const noSender: Sender = { supports: () => false, send: () => Promise.reject(new Error('not used')) };
// Throttles off: this measures the work of a login, not the limits on it.
const unlimited = { freeAttempts: 1e9, baseDelayMs: 0, maxDelayMs: 0, lockAt: null, forgetAfterMs: null };

async function setup(): Promise<BenchGroup[]> {
  const dir = await mkdtemp(join(tmpdir(), 'otpgate-bench-'));
  const store = await openSQLiteStore(join(dir, 'bench.db'));
  let now = Date.UTC(2026, 0, 1);
  const auth = createAuth({
    store,
    sender: noSender,
    secretKey: randomBytes(32),
    clock: () => now,
    limits: { otp: unlimited, password: unlimited, ipPasswords: { capacity: 1e9, refillMs: 1 } },
  });

  // One account with a confirmed authenticator, as after enrollment.
  const created = await auth.createAccount({ username: 'bench', password: PASSWORD });
  assert.equal(created.status, 'ok');
  const first = await auth.startLogin('bench', PASSWORD, client);
  if (first.status !== 'enrollment_required') throw new Error(first.status);
  const begun = await auth.beginTOTPEnrollment(first.session.session);
  if (begun.status !== 'ok') throw new Error(begun.status);
  const secret = decodeBase32(begun.enrollment.secret);
  const confirmed = await auth.confirmTOTPEnrollment(first.session.session, begun.enrollment.factorId, generateTOTP(secret, now), client);
  assert.equal(confirmed.status, 'ok');
  const userId = created.status === 'ok' ? created.user.id : '';
  const phc = (await store.getUserById(userId))?.passwordHash ?? '';
  const parsed = parsePasswordHash(phc);
  if (!parsed) throw new Error('the bench account has no argon2id hash');
  const bareInput = { password: PASSWORD, salt: parsed.salt, ...parsed.params, hashLength: parsed.hash.length };
  const bareArgon2 = async (): Promise<void> => {
    if (!(await argon2idOnLibuv(bareInput)).equals(parsed.hash)) throw new Error('bare argon2id disagrees with the stored hash');
  };

  // Each verify needs an open pending login and a step not used before: the clock moves one
  // step per operation, and the pending login is inserted directly (start() is measured apart).
  let serial = 0;
  async function openPending(): Promise<string> {
    const id = `bench-pending-${serial++}`.padEnd(43, 'x');
    await store.createPendingLogin({
      idHash: hashToken(id), userId, methods: ['totp', 'recovery'], attempts: 0, sends: 0, lastSentAt: null,
      codeHash: null, codeChannel: null, codeExpiresAt: null, ip: client.ip, userAgent: client.userAgent, createdAt: now, expiresAt: now + 600_000,
    });
    return id;
  }
  const verifyRight = async () => {
    now += 30_000;
    const result = await auth.verifyLogin(await openPending(), 'totp', generateTOTP(secret, now), client);
    if (result.status !== 'authenticated') throw new Error(result.status);
  };
  const verifyWrong = async () => {
    now += 30_000;
    const result = await auth.verifyLogin(await openPending(), 'totp', '000000' === generateTOTP(secret, now) ? '111111' : '000000', client);
    if (result.status !== 'invalid_code') throw new Error(result.status);
  };

  return [
    {
      name: 'login step 2: TOTP verify() on SQLite (file, WAL, group commit)',
      cases: [
        { name: 'verify, right code → new session', role: 'subject', run: verifyRight },
        { name: 'verify, wrong code (every window step)', role: 'subject', run: verifyWrong },
      ],
    },
    {
      name: 'login step 1: start() against the bare argon2id bound (m=19456, t=2, p=1)',
      cases: [
        {
          name: 'start(): throttles, lookup, argon2id, pending login',
          role: 'subject',
          run: async () => {
            const result = await auth.startLogin('bench', PASSWORD, client);
            if (result.status !== 'otp_required') throw new Error(result.status);
          },
        },
        {
          name: 'bare argon2id (the library on libuv\'s pool: the bound)',
          role: 'baseline',
          run: bareArgon2,
          check: async () => {
            assert.match(phc, new RegExp(`m=${DEFAULT_ARGON2.memoryCost},t=${DEFAULT_ARGON2.timeCost},p=${DEFAULT_ARGON2.parallelism}`));
            assert.equal(await verifyPassword(phc, PASSWORD), true);
            await bareArgon2();
          },
        },
        { name: 'verifyPassword() on the low-priority worker pool', role: 'subject', run: () => verifyPassword(phc, PASSWORD) },
      ],
    },
    {
      // A server has several logins in flight: argon2id runs on the worker pool, the store's
      // writes on the main thread, so the two overlap.
      name: `login step 1 with ${CONCURRENCY} in flight: start() against the bare argon2id bound (ops = batches of ${CONCURRENCY})`,
      cases: [
        {
          name: `start() ×${CONCURRENCY} concurrent`,
          role: 'subject',
          run: () => Promise.all(Array.from({ length: CONCURRENCY }, () => auth.startLogin('bench', PASSWORD, client))),
        },
        {
          name: `bare argon2id ×${CONCURRENCY} concurrent (the library on libuv's pool: the bound)`,
          role: 'baseline',
          run: () => Promise.all(Array.from({ length: CONCURRENCY }, bareArgon2)),
        },
        {
          name: `verifyPassword() ×${CONCURRENCY} concurrent on the worker pool`,
          role: 'subject',
          run: () => Promise.all(Array.from({ length: CONCURRENCY }, () => verifyPassword(phc, PASSWORD))),
        },
      ],
    },
  ];
}

export const engineSuite = defineSuite({
  name: 'engine',
  description: 'The login engine on SQLite in one process: TOTP verify() per second, and start() against the bare argon2id bound',
  setup,
});
