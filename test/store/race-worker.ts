/**
 * One connection of the cross-connection race (sqlite.test.ts): opens its own Store on
 * the shared file, waits at the barrier, then hammers the same one-time records.
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
}

export interface RaceOutput {
  totp: number;
  recovery: number;
  pendingLogin: number;
  pendingAttempts: number;
  attempts: number;
  tokens: number;
}

const input = workerData as RaceInput;
const store = await openSQLiteStore(input.path);
const barrier = new Int32Array(input.barrier);
Atomics.add(barrier, 1, 1);
parentPort?.postMessage('ready');
Atomics.wait(barrier, 0, 0); // released by the parent once every worker is ready

const output: RaceOutput = { totp: 0, recovery: 0, pendingLogin: 0, pendingAttempts: 0, attempts: 0, tokens: 0 };
const now = 1_700_000_000_000;
const policy = { freeAttempts: 10_000, baseDelayMs: 1000, maxDelayMs: 10_000, lockAt: null, forgetAfterMs: null };
for (let i = 0; i < input.rounds; i++) {
  if (await store.acceptTOTPStep(input.factorId, input.step, now, true)) output.totp++;
  if (await store.useRecoveryCode(input.userId, input.codeHash, now)) output.recovery++;
  if ((await store.claimPendingAttempt(input.pendingIdHash, now, 5)) !== null) output.pendingAttempts++;
  if ((await store.consumePendingLogin(input.pendingIdHash, now)) !== null) output.pendingLogin++;
  if ((await store.claimAttempt('race', now, policy)).ok) output.attempts++;
  if ((await store.takeToken('race', now, 20, 60_000)).ok) output.tokens++;
}
await store.close();
parentPort?.postMessage(output);
