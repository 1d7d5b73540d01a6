/**
 * The bare argon2id bound, measured in a child process of its own (so neither the driver's
 * nor the server's event loop is in it): the seeded hash recomputed by the argon2id library
 * itself on libuv's thread pool at the normal priority (no worker pool, no PHC handling),
 * N in flight, for a given time. Run with fork(); the parent side is `startBoundProcess`.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { argon2Implementation, argon2idOnLibuv } from '../../src/auth/argon2-compute.ts';
import { parsePasswordHash } from '../../src/auth/password-hash.ts';

interface BoundRequest {
  phc: string;
  password: string;
  concurrency: number;
  durationMs: number;
}

export interface BoundResult {
  ops: number;
  failures: number;
  seconds: number;
  latenciesMs: number[];
  implementation: string;
}

async function measure(request: BoundRequest): Promise<BoundResult> {
  const start = performance.now();
  const end = start + request.durationMs;
  let ops = 0;
  let failures = 0;
  const latenciesMs: number[] = [];
  const parsed = parsePasswordHash(request.phc);
  if (!parsed) throw new Error('the bound needs an argon2id PHC string');
  const input = { password: request.password, salt: parsed.salt, ...parsed.params, hashLength: parsed.hash.length };
  await Promise.all(Array.from({ length: request.concurrency }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const ok = (await argon2idOnLibuv(input)).equals(parsed.hash);
      latenciesMs.push(performance.now() - t0);
      ops++;
      if (!ok) failures++;
    }
  }));
  return { ops, failures, seconds: (performance.now() - start) / 1000, latenciesMs, implementation: argon2Implementation };
}

export interface BoundProcess {
  pid: number | undefined;
  measure(concurrency: number, durationMs: number): Promise<BoundResult>;
  close(): void;
}

/** Forks this file as the bound's process; `measure` runs one timed round in it. */
export function startBoundProcess(phc: string, password: string): BoundProcess {
  // libuv's pool sized to the cores: more threads than cores only thrash the caches (each hash
  // touches 19 MiB), which would lower the bound.
  const env = { ...process.env, UV_THREADPOOL_SIZE: String(availableParallelism()) };
  const child: ChildProcess = fork(import.meta.filename, ['--child'], { execPath: process.execPath, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let pending: { resolve: (result: BoundResult) => void; reject: (error: Error) => void } | null = null;
  child.on('message', (message: BoundResult) => {
    pending?.resolve(message);
    pending = null;
  });
  child.on('exit', (code) => {
    pending?.reject(new Error(`argon2 bound process exited (${code})`));
    pending = null;
  });
  return {
    pid: child.pid,
    measure(concurrency, durationMs) {
      if (pending) return Promise.reject(new Error('one measurement at a time'));
      return new Promise((resolve, reject) => {
        pending = { resolve, reject };
        child.send({ phc, password, concurrency, durationMs } satisfies BoundRequest);
      });
    },
    close() {
      child.disconnect();
    },
  };
}

if (process.argv.includes('--child') && process.send) {
  process.on('message', (request: BoundRequest) => {
    void measure(request).then((result) => process.send?.(result));
  });
  // Exits when the parent disconnects the IPC channel (nothing else keeps it alive).
}
