/**
 * Keeps WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the
 * commit that crosses its threshold: on the event loop, with two fsyncs and up to 1000
 * page writes (milliseconds, every few hundred commits). Once the WAL passes
 * `startAfterBytes` the store turns that off and starts this thread, which checkpoints on
 * its own connection. Stores that stay small (tests, the CLI) never start it.
 */
import { fstatSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { CheckpointerData, CheckpointerMessage } from './checkpoint-worker.ts';

export interface CheckpointerOptions {
  /** WAL size that starts the thread (default 1 MiB). */
  startAfterBytes?: number;
  /** Checkpoint interval of the thread (default 100 ms). */
  intervalMs?: number;
}

export interface Checkpointer {
  /** Called after commits; checks the WAL size now and then and starts the thread when due. */
  afterCommit(): void;
  /** Frames checkpointed by the thread so far. */
  readonly checkpointed: number;
  readonly running: boolean;
  close(): Promise<void>;
}

const CHECK_EVERY = 32; // commits between two looks at the WAL size

/** SQLite's own threshold, in pages, restored if the thread dies. */
const SQLITE_AUTOCHECKPOINT = 1000;

/** `setAutoCheckpoint(pages)` sets `PRAGMA wal_autocheckpoint` on the store's connection. */
export function createCheckpointer(path: string, walFd: number, setAutoCheckpoint: (pages: number) => void, options: CheckpointerOptions = {}): Checkpointer {
  const startAfterBytes = options.startAfterBytes ?? 1024 * 1024;
  const intervalMs = options.intervalMs ?? 100;
  let worker: Worker | null = null;
  let exited: Promise<void> | null = null;
  let commits = 0;
  let checkpointed = 0;
  let closed = false;

  const start = (): void => {
    const data: CheckpointerData = { path, intervalMs };
    const started = new Worker(new URL('./checkpoint-worker.ts', import.meta.url), { workerData: data });
    started.unref(); // never keeps the process alive
    started.on('message', (message: CheckpointerMessage) => {
      if ('checkpointed' in message) checkpointed += message.checkpointed;
    });
    exited = new Promise((resolve) => started.once('exit', () => resolve()));
    started.on('error', () => {
      // The thread died: SQLite checkpoints in the commits again.
      worker = null;
      if (!closed) setAutoCheckpoint(SQLITE_AUTOCHECKPOINT);
    });
    worker = started;
    setAutoCheckpoint(0);
  };

  return {
    afterCommit() {
      if (worker !== null || closed || ++commits % CHECK_EVERY !== 0) return;
      if (fstatSync(walFd).size >= startAfterBytes) start();
    },
    get checkpointed() {
      return checkpointed;
    },
    get running() {
      return worker !== null;
    },
    async close() {
      closed = true;
      const stopping = worker;
      worker = null;
      if (stopping === null) return;
      stopping.postMessage('close');
      const timer = setTimeout(() => void stopping.terminate(), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
