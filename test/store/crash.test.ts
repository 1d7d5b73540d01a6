import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { openSQLiteStore } from '../../src/store/sqlite.ts';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const ACKNOWLEDGED_BEFORE_KILL = 200;

/** Runs the child until it has acknowledged enough users, SIGKILLs it, and returns every username it acknowledged. */
function runAndKill(path: string, prefix: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, path, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acknowledged: string[] = [];
    let partial = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? ''; // an unfinished line was not fully acknowledged
      acknowledged.push(...lines);
      if (acknowledged.length >= ACKNOWLEDGED_BEFORE_KILL && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acknowledged);
      else reject(new Error(`crash child ended by itself (code ${code}, ${acknowledged.length} users): ${stderr}`));
    });
  });
}

function integrityCheck(path: string): unknown[] {
  const db = new DatabaseSync(path);
  try {
    return db.prepare('PRAGMA integrity_check').all().map((row) => row.integrity_check);
  } finally {
    db.close();
  }
}

void describe('SQLite store after SIGKILL', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'otpgate-crash-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('keeps every acknowledged user and an intact database, three kills in a row on one file', async () => {
    const path = join(dir, 'crash.db');
    const all: string[] = [];
    for (let run = 1; run <= 3; run++) {
      const acknowledged = await runAndKill(path, `run${run}`);
      assert.ok(acknowledged.length >= ACKNOWLEDGED_BEFORE_KILL, `run ${run}: ${acknowledged.length} acknowledged`);
      all.push(...acknowledged);

      assert.deepEqual(integrityCheck(path), ['ok'], `run ${run}: integrity_check`);
      const store = await openSQLiteStore(path);
      try {
        const present = new Set((await store.listUsers()).map((u) => u.username));
        const lost = all.filter((name) => !present.has(name));
        assert.deepEqual(lost, [], `run ${run}: acknowledged users lost`);
      } finally {
        await store.close();
      }
      assert.deepEqual(integrityCheck(path), ['ok'], `run ${run}: integrity_check after reopening`);
    }
  });
});
