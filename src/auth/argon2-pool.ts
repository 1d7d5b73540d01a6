/**
 * argon2id on a pool of low-priority worker threads, one per core, started on first use.
 *
 * Why not the libuv thread pool: there a burst of logins queues ahead of file-system work
 * (the store's commit syncs), and hashing threads compete with the event loop as equals.
 * Here each hash runs on a thread with the lowest scheduling priority, so requests that
 * need no hash (an OTP step, a health check) are answered at once while the cores are
 * busy hashing, and hashing still takes every idle cycle. Jobs wait in FIFO order.
 *
 * Idle workers do not keep the process alive.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HashAnswer, HashJob } from './argon2-worker.ts';

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
  /** Stops every worker; a hash asked for afterwards starts them again. */
  close(): Promise<void>;
}

export function createArgon2Pool(threads = availableParallelism()): Argon2Pool {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError('threads must be a positive integer');
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
        queue.push({ job: { ...job, id: nextId++ }, resolve, reject });
        const idle = slots.find((s) => s.busy === null) ?? (slots.length < threads ? start() : undefined);
        if (idle) dispatch(idle);
      });
    },
    get size() {
      return slots.length;
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
