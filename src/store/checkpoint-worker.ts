/**
 * The SQLite store's checkpointer thread (see checkpointer.ts): its own connection to the
 * database, copying WAL frames back into the database file every `intervalMs` with a
 * PASSIVE checkpoint, which never waits for or blocks the writer.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

export interface CheckpointerData {
  path: string;
  intervalMs: number;
}

export type CheckpointerMessage = { checkpointed: number } | { error: string };

if (parentPort) {
  const port = parentPort;
  const { path, intervalMs } = workerData as CheckpointerData;
  const db = new DatabaseSync(path);
  db.exec('PRAGMA busy_timeout = 5000');
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  const timer = setInterval(() => {
    try {
      const row = checkpoint.get();
      const frames = Number(row?.checkpointed ?? 0);
      if (frames > 0) port.postMessage({ checkpointed: frames } satisfies CheckpointerMessage);
    } catch (error) {
      port.postMessage({ error: error instanceof Error ? error.message : 'checkpoint failed' } satisfies CheckpointerMessage);
    }
  }, intervalMs);
  port.on('message', (message: unknown) => {
    if (message !== 'close') return;
    clearInterval(timer);
    db.close();
    port.close();
  });
}
