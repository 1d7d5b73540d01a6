/**
 * The SQLite store's checkpointer thread (see checkpointer.ts): its own connection to the
 * database, copying WAL frames back into the database file with PASSIVE checkpoints,
 * which never wait for or block the writer. It checkpoints when the store says enough
 * was committed ('nudge'), and every `intervalMs` in any case.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

export interface CheckpointerData {
  path: string;
  intervalMs: number;
}

/** After each checkpoint that found frames: the WAL's frames and how many are now in the database. */
export type CheckpointerMessage = { log: number; checkpointed: number } | { error: string };

if (parentPort) {
  const port = parentPort;
  const { path, intervalMs } = workerData as CheckpointerData;
  const db = new DatabaseSync(path);
  db.exec('PRAGMA busy_timeout = 5000');
  const statement = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  const checkpoint = (): void => {
    try {
      const row = statement.get();
      const log = Number(row?.log ?? 0);
      if (log > 0) port.postMessage({ log, checkpointed: Number(row?.checkpointed ?? 0) } satisfies CheckpointerMessage);
    } catch (error) {
      port.postMessage({ error: error instanceof Error ? error.message : 'checkpoint failed' } satisfies CheckpointerMessage);
    }
  };
  const timer = setInterval(checkpoint, intervalMs);
  port.on('message', (message: unknown) => {
    if (message === 'nudge') {
      checkpoint();
    } else if (message === 'close') {
      clearInterval(timer);
      db.close();
      port.close();
    }
  });
}
