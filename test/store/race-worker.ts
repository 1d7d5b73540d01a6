/**
 * One connection of the cross-connection race (sqlite.test.ts): opens its own Store on
 * the shared file, waits at the barrier, then hammers the same one-time records, counts
 * code attempts with beginCodeAttempt on one shared pending login, and finishes logins
 * with completeLogin: one TOTP step over a pending login of its own each round, and a
 * recovery code of its own each round on one shared pending login.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSQLiteStore } from '../../src/store/sqlite.ts';

export interface RaceInput {
  path: string;
  barrier: SharedArrayBuffer;
  rounds: number;
  userId: string;
  factorId: string;
  step: number;
  codeHash: string;
  pendingIdHash: string;
  /** This worker's name, for its session ids. */
  worker: string;
  /** completeLogin with step `completionStep` of `completionFactorId`, in round i on pending login `totpPendingIdHashes[i]`. */
  completionFactorId: string;
  completionStep: number;
  totpPendingIdHashes: string[];
  /** completeLogin on this one pending login, in round i with recovery code `recoveryCodeHashes[i]`. */
  recoveryPendingIdHash: string;
  recoveryCodeHashes: string[];
  /** beginCodeAttempt (maxAttempts 5) on this one pending login. */
  codePendingIdHash: string;
}

export interface RaceOutput {
  totp: number;
  recovery: number;
  pendingLogin: number;
  pendingAttempts: number;
  attempts: number;
  tokens: number;
  totpLogins: number;
  recoveryLogins: number;
  codeAttempts: number;
}

const input = workerData as RaceInput;
const store = await openSQLiteStore(input.path);
const barrier = new Int32Array(input.barrier);
Atomics.add(barrier, 1, 1);
parentPort?.postMessage('ready');
Atomics.wait(barrier, 0, 0); // released by the parent once every worker is ready

const output: RaceOutput = { totp: 0, recovery: 0, pendingLogin: 0, pendingAttempts: 0, attempts: 0, tokens: 0, totpLogins: 0, recoveryLogins: 0, codeAttempts: 0 };
const now = 1_700_000_000_000;
const policy = { freeAttempts: 10_000, baseDelayMs: 1000, maxDelayMs: 10_000, lockAt: null, forgetAfterMs: null };
for (let i = 0; i < input.rounds; i++) {
  if (await store.acceptTOTPStep(input.factorId, input.step, now, true)) output.totp++;
  if (await store.useRecoveryCode(input.userId, input.codeHash, now)) output.recovery++;
  if ((await store.claimPendingAttempt(input.pendingIdHash, now, 5)) !== null) output.pendingAttempts++;
  if ((await store.consumePendingLogin(input.pendingIdHash, now)) !== null) output.pendingLogin++;
  if ((await store.claimAttempt('race', now, policy)).ok) output.attempts++;
  if ((await store.takeToken('race', now, 20, 60_000)).ok) output.tokens++;
  if ((await store.beginCodeAttempt({ idHash: input.codePendingIdHash, now, maxAttempts: 5, accountKey: 'race-code', policy })).ok) output.codeAttempts++;
  const finish = { now, resetKeys: ['race-reset'], events: [{ at: now, userId: input.userId, type: 'login_succeeded', method: null, ip: null, userAgent: null, detail: null }] };
  const session = (kind: string) => ({
    tokenHash: `${kind}-${input.worker}-${i}`, id: `${kind}-${input.worker}-${i}`, userId: input.userId, level: 2 as const,
    ip: 'ip', userAgent: 'ua', createdAt: now, lastSeenAt: now, expiresAt: now + 60_000,
  });
  const totp = await store.completeLogin({
    ...finish, idHash: input.totpPendingIdHashes[i] ?? 'missing', proof: { kind: 'totp', factorId: input.completionFactorId, step: input.completionStep }, session: session('totp'),
  });
  if (totp.ok) output.totpLogins++;
  const recovery = await store.completeLogin({
    ...finish, idHash: input.recoveryPendingIdHash, proof: { kind: 'recovery', userId: input.userId, codeHash: input.recoveryCodeHashes[i] ?? 'missing' }, session: session('recovery'),
  });
  if (recovery.ok) output.recoveryLogins++;
}
await store.close();
parentPort?.postMessage(output);
