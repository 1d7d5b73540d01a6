/**
 * Moves most WAL checkpoint work off the event loop. SQLite's automatic checkpoint runs
 * inside the commit that crosses 1000 WAL pages: on the event loop, copying those pages
 * into the database file (milliseconds, every few hundred commits). Once the WAL passes
 * `startAfterBytes`, this thread checkpoints on its own connection every `nudgeEvery`
 * commits and every `intervalMs`, so the automatic checkpoint finds the pages already
 * copied. That one stays on: only a checkpoint in the writer's own commit lets a busy WAL
 * restart from its start, and writes inside the file's length keep each fdatasync free of
 * a metadata update (a WAL that only grows made every synced write ~60% slower here).
 * Stores that stay small (tests, the CLI) never start the thread.
 */
import { fstatSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { CheckpointerData, CheckpointerMessage } from './checkpoint-worker.ts';

export interface CheckpointerOptions {
  /** WAL size that starts the thread (default 1 MiB). */
  startAfterBytes?: number;
  /** Commits between two checkpoints (default 256). */
  nudgeEvery?: number;
  /** Checkpoint interval of the thread in any case (default 1000 ms). */
  intervalMs?: number;
}

export interface Checkpointer {
  /** Called after each commit: starts the thread when due, nudges it when enough was written. */
  afterCommit(): void;
  /** Checkpoints by the thread that found frames in the WAL. */
  readonly checkpoints: number;
  readonly running: boolean;
  close(): Promise<void>;
}

const CHECK_EVERY = 32; // commits between two looks at the WAL size

export function createCheckpointer(path: string, walFd: number, options: CheckpointerOptions = {}): Checkpointer {
  const startAfterBytes = options.startAfterBytes ?? 1024 * 1024;
  const intervalMs = options.intervalMs ?? 1000;
  const nudgeEvery = options.nudgeEvery ?? 256;
  let worker: Worker | null = null;
  let exited: Promise<void> | null = null;
  let commits = 0;
  let checkpoints = 0;
  let closed = false;

  const start = (): void => {
    const data: CheckpointerData = { path, intervalMs };
    const started = new Worker(new URL('./checkpoint-worker.ts', import.meta.url), { workerData: data });
    started.unref(); // never keeps the process alive
    started.on('message', (message: CheckpointerMessage) => {
      if ('log' in message) checkpoints++;
    });
    exited = new Promise((resolve) => started.once('exit', () => resolve()));
    started.on('error', () => {
      // The thread died: SQLite's own checkpoints carry on alone, and it is not started again.
      worker = null;
      closed = true;
    });
    worker = started;
  };

  return {
    afterCommit() {
      if (closed) return;
      commits++;
      if (worker !== null) {
        if (commits % nudgeEvery === 0) worker.postMessage('nudge');
      } else if (commits % CHECK_EVERY === 0 && fstatSync(walFd).size >= startAfterBytes) {
        start();
      }
    },
    get checkpoints() {
      return checkpoints;
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
