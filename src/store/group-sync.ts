/**
 * Group commit for a file descriptor: many commits, one fdatasync. Each caller waits for a
 * sync that began after it called, so nothing it wrote before is left out; callers that
 * arrive while a sync is running share the next one. Syncs run on libuv's pool.
 *
 * A failed sync fails every later one too. On Linux a failed fdatasync may drop the dirty
 * pages it could not write and clear the error, so a later sync can succeed without those
 * pages ever reaching the disk: acknowledging writes after that would be a lie. The store
 * stays read-only in effect until the process restarts and SQLite recovers from the file.
 */
import { fdatasync } from 'node:fs';

export interface GroupSync {
  /** Resolves once an fdatasync of the descriptor that began after this call has finished. */
  sync(): Promise<void>;
  /** Resolves when no sync is running or queued. */
  settled(): Promise<void>;
  /** The first failed sync's error: every sync since has been refused with it. */
  readonly failure: Error | null;
  /** fdatasync calls made so far. */
  readonly count: number;
}

export function groupSync(fd: number): GroupSync {
  let inFlight: Promise<void> | null = null;
  let queued: Promise<void> | null = null;
  let count = 0;
  let failure: Error | null = null;
  const start = (): Promise<void> => {
    count++;
    const started = new Promise<void>((resolve, reject) => {
      fdatasync(fd, (error) => {
        if (error) failure ??= error;
        if (failure) reject(failure);
        else resolve();
      });
    }).finally(() => {
      inFlight = null;
    });
    inFlight = started;
    return started;
  };
  const next = (): Promise<void> => {
    queued = null;
    return sync();
  };
  const sync = (): Promise<void> => {
    if (failure) return Promise.reject(failure);
    // The sync in flight may have begun before this caller's write: wait for the next one.
    if (inFlight === null) return start();
    queued ??= inFlight.then(next, next);
    return queued;
  };
  const settled = async (): Promise<void> => {
    while (inFlight !== null || queued !== null) await (queued ?? inFlight)?.catch(() => undefined);
  };
  return {
    sync,
    settled,
    get count() {
      return count;
    },
    get failure() {
      return failure;
    },
  };
}
