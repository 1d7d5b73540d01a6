import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupSync } from './group-sync.ts';

function withFile(run: (fd: number) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otpgate-group-sync-'));
    const fd = openSync(join(dir, 'f'), 'w+');
    try {
      await run(fd);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

describe('groupSync()', () => {
  it('starts a sync at once when none is running', withFile(async (fd) => {
    const g = groupSync(fd);
    await g.sync();
    await g.sync();
    assert.equal(g.count, 2, 'one after the other: two syncs');
  }));

  it('makes a caller that arrives during a sync wait for the next one, and shares that one', withFile(async (fd) => {
    const g = groupSync(fd);
    const order: string[] = [];
    writeSync(fd, 'a');
    const first = g.sync().then(() => order.push('first'));
    writeSync(fd, 'b'); // after the first sync began: must not be acknowledged by it
    const second = g.sync().then(() => order.push('second'));
    const third = g.sync().then(() => order.push('third'));
    await Promise.all([first, second, third]);
    assert.deepEqual(order, ['first', 'second', 'third']);
    assert.equal(g.count, 2, '100 callers would share it too: three calls, two syncs');
  }));

  it('serves 100 concurrent callers with at most 2 syncs', withFile(async (fd) => {
    const g = groupSync(fd);
    await Promise.all(Array.from({ length: 100 }, () => g.sync()));
    assert.ok(g.count <= 2, `${g.count} syncs`);
    await g.settled();
  }));

  it('reports a failed sync to its callers (a closed descriptor)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otpgate-group-sync-'));
    const fd = openSync(join(dir, 'f'), 'w+');
    closeSync(fd);
    try {
      const g = groupSync(fd);
      await assert.rejects(g.sync(), { code: 'EBADF' });
      await g.settled();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps failing after a failed sync, even once fdatasync would succeed again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otpgate-group-sync-'));
    const fd = openSync(join(dir, 'f'), 'w+');
    closeSync(fd);
    let reopened: number | null = null;
    try {
      const g = groupSync(fd);
      await assert.rejects(g.sync(), { code: 'EBADF' });
      // The lowest free descriptor is the one just closed: the same number now syncs fine.
      reopened = openSync(join(dir, 'g'), 'w+');
      assert.equal(reopened, fd);
      await assert.rejects(g.sync(), { code: 'EBADF' }, 'a write after the failure is never acknowledged');
      await assert.rejects(Promise.all([g.sync(), g.sync()]), { code: 'EBADF' });
      assert.equal(g.failure?.message.includes('EBADF'), true);
      assert.equal(g.count, 1, 'no fdatasync after the failure');
      await g.settled();
    } finally {
      if (reopened !== null) closeSync(reopened);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
