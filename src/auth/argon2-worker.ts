/**
 * One thread of the argon2id pool (see argon2-pool.ts). It lowers its own scheduling
 * priority first: on Linux a nice value belongs to a thread, so password hashing yields
 * the CPU to the server's event loop whenever that has work, and still uses every idle
 * cycle. Each message is one hash; the answer carries the same id.
 */
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { argon2idSync } from './argon2-compute.ts';
import type { Argon2Input } from './argon2-compute.ts';

export interface HashJob extends Argon2Input {
  id: number;
}

export type HashAnswer = { id: number; hash: Uint8Array } | { id: number; error: string };

/** The lowest priority: runs only when nothing at a normal priority wants the core. */
export const WORKER_NICE = 19;

if (parentPort) {
  const port = parentPort;
  try {
    setPriority(WORKER_NICE);
  } catch {
    // Not permitted here: hashing still works, at the normal priority.
  }
  port.on('message', (job: HashJob) => {
    let answer: HashAnswer;
    try {
      answer = { id: job.id, hash: argon2idSync(job) };
    } catch (error) {
      answer = { id: job.id, error: error instanceof Error ? error.message : 'argon2 failed' };
    }
    port.postMessage(answer);
  });
}
