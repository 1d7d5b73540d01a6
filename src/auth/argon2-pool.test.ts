import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { argon2Sync, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createArgon2Pool } from './argon2-pool.ts';
import { argon2idOnLibuv, argon2idSync } from './argon2-compute.ts';
import { WORKER_NICE } from './argon2-worker.ts';

const params = { memoryCost: 256, timeCost: 2, parallelism: 1, hashLength: 32 };

/** Nice value of each thread of this process (Linux /proc), by thread id. */
function threadNices(): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // After "(comm) ": state is field 3; nice is field 19.
    nices.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return nices;
}

describe('argon2id pool', () => {
  it('computes the same hash as node:crypto and as the libuv path, for 12 concurrent jobs on 2 threads', async () => {
    const pool = createArgon2Pool(2);
    try {
      const inputs = Array.from({ length: 12 }, (_, i) => ({ password: `pw-${i}-é🦊`, salt: randomBytes(16), ...params }));
      const hashes = await Promise.all(inputs.map((input) => pool.hash(input)));
      assert.equal(pool.size, 2);
      for (const [i, input] of inputs.entries()) {
        const reference = argon2Sync('argon2id', { message: input.password, nonce: input.salt, memory: 256, passes: 2, parallelism: 1, tagLength: 32 });
        assert.deepEqual(hashes[i], reference, `job ${i}`);
        assert.deepEqual(await argon2idOnLibuv(input), reference);
        assert.deepEqual(argon2idSync(input), reference);
      }
      assert.equal(new Set(hashes.map((h) => h.toString('hex'))).size, 12, 'each job got its own answer');
    } finally {
      await pool.close();
    }
  });

  it('runs its threads at the lowest priority and leaves the main thread as it was', { skip: process.platform !== 'linux' && 'thread nice values are read from /proc on Linux' }, async () => {
    const before = threadNices();
    const pool = createArgon2Pool(2);
    try {
      await Promise.all([0, 1].map((i) => pool.hash({ password: `p${i}`, salt: randomBytes(16), ...params })));
      const after = threadNices();
      const started = [...after].filter(([tid]) => !before.has(tid));
      assert.equal(after.get(process.pid), before.get(process.pid), 'the main thread keeps its priority');
      assert.ok(started.filter(([, nice]) => nice === WORKER_NICE).length >= 2, `new threads' nice values: ${JSON.stringify(started)}`);
    } finally {
      await pool.close();
    }
  });

  it('reports a failing job and keeps working; close() refuses what is still queued', async () => {
    const pool = createArgon2Pool(1);
    await assert.rejects(pool.hash({ password: 'x', salt: randomBytes(4), ...params }), /salt|length|invalid/i);
    const ok = await pool.hash({ password: 'x', salt: randomBytes(16), ...params });
    assert.equal(ok.length, 32);
    const queued = [pool.hash({ password: 'a', salt: randomBytes(16), ...params }), pool.hash({ password: 'b', salt: randomBytes(16), ...params })];
    const refused = Promise.all(queued.map((job) => assert.rejects(job, /closed/)));
    await pool.close();
    await refused;
    assert.equal((await pool.hash({ password: 'again', salt: randomBytes(16), ...params })).length, 32, 'starts again after close');
    await pool.close();
  });

  it('refuses a pool of no threads', () => {
    assert.throws(() => createArgon2Pool(0), RangeError);
  });
});
