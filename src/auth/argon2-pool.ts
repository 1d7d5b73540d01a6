/**
 * argon2id on a pool of low-priority worker threads, one per core, started on first use.
 *
 * Why not the libuv thread pool: there a burst of logins queues ahead of file-system work
 * (the store's commit syncs), and hashing threads compete with the event loop as equals.
 * Here each hash runs on a thread with the lowest scheduling priority, so requests that
 * need no hash (an OTP step, a health check) are answered at once while the cores are
 * busy hashing, and hashing still takes every idle cycle. Jobs wait in FIFO order.
 *
 * Jobs waiting for a thread are bounded (`maxWaiting`, default 64): past it a new hash
 * is refused at once with ServerBusyError, so a flood of logins costs neither unbounded
 * memory nor an ever-longer wait for everyone; the HTTP layer answers 503 `server_busy`.
 *
 * Idle workers do not keep the process alive.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HashAnswer, HashJob } from './argon2-worker.ts';

/** Hashes waiting for a thread, past which new ones are refused (about a second of work per core at the default cost). */
const DEFAULT_MAX_WAITING = 64;

/** A hash refused because the queue is full: answered 503 `server_busy` with Retry-After. */
export class ServerBusyError extends Error {
  readonly code = 'server_busy';
  readonly statusCode = 503;
  readonly retryAfterSeconds = 1;

  constructor() {
    super('Password hashing queue is full');
    this.name = 'ServerBusyError';
  }
}

interface Waiting {
  job: HashJob;
  resolve: (hash: Buffer) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: Waiting | null;
}

export interface Argon2Pool {
  hash(job: Omit<HashJob, 'id'>): Promise<Buffer>;
  /** Threads started so far. */
  readonly size: number;
  /** Jobs that may wait for a thread; a hash asked for beyond them is refused (ServerBusyError). */
  maxWaiting: number;
  /** Hashes refused so far because the queue was full. */
  readonly refused: number;
  /** Stops every worker; a hash asked for afterwards starts them again. */
  close(): Promise<void>;
}

export function createArgon2Pool(threads = availableParallelism(), options: { maxWaiting?: number } = {}): Argon2Pool {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError('threads must be a positive integer');
  let maxWaiting = checkMaxWaiting(options.maxWaiting ?? DEFAULT_MAX_WAITING);
  let refused = 0;
  const slots: Slot[] = [];
  const queue: Waiting[] = [];
  let nextId = 1;

  const dispatch = (slot: Slot): void => {
    const next = queue.shift();
    slot.busy = next ?? null;
    if (next) {
      slot.worker.ref();
      slot.worker.postMessage(next.job);
    } else {
      slot.worker.unref();
    }
  };

  const start = (): Slot => {
    const worker = new Worker(new URL('./argon2-worker.ts', import.meta.url));
    const slot: Slot = { worker, busy: null };
    worker.on('message', (answer: HashAnswer) => {
      const done = slot.busy;
      if (done?.job.id === answer.id) {
        if ('hash' in answer) done.resolve(Buffer.from(answer.hash.buffer, answer.hash.byteOffset, answer.hash.byteLength));
        else done.reject(new Error(answer.error));
      }
      dispatch(slot);
    });
    const retire = (error: Error): void => {
      const index = slots.indexOf(slot);
      if (index === -1) return;
      slots.splice(index, 1);
      slot.busy?.reject(error);
      slot.busy = null;
      // The queue moves on with a fresh thread.
      if (queue.length > 0) dispatch(start());
    };
    worker.on('error', retire);
    worker.on('exit', (code) => retire(new Error(`argon2 worker exited (${code})`)));
    slots.push(slot);
    return slot;
  };

  return {
    hash(job) {
      return new Promise((resolve, reject) => {
        const idleOrNew = slots.some((s) => s.busy === null) || slots.length < threads;
        if (!idleOrNew && queue.length >= maxWaiting) {
          refused++;
          reject(new ServerBusyError());
          return;
        }
        queue.push({ job: { ...job, id: nextId++ }, resolve, reject });
        const idle = slots.find((s) => s.busy === null) ?? (slots.length < threads ? start() : undefined);
        if (idle) dispatch(idle);
      });
    },
    get size() {
      return slots.length;
    },
    get maxWaiting() {
      return maxWaiting;
    },
    set maxWaiting(value: number) {
      maxWaiting = checkMaxWaiting(value);
    },
    get refused() {
      return refused;
    },
    async close() {
      const stopping = slots.splice(0);
      for (const waiting of queue.splice(0)) waiting.reject(new Error('argon2 pool closed'));
      await Promise.all(stopping.map(async (slot) => {
        slot.busy?.reject(new Error('argon2 pool closed'));
        slot.busy = null;
        await slot.worker.terminate();
      }));
    },
  };
}

function checkMaxWaiting(value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError('maxWaiting must be a non-negative integer');
  return value;
}
