/** Finding 11 (part): IPv6 per-address limits, the database file's mode, the argon2 queue's bound. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressKey, throttleKey } from '../../src/auth/throttle.ts';
import { createArgon2Pool, ServerBusyError } from '../../src/auth/argon2-pool.ts';
import { argon2Pool, hashPassword } from '../../src/auth/password-hash.ts';
import { openSQLiteStore } from '../../src/store/sqlite.ts';
import { makeEngine } from '../support/engine.ts';
import { client as httpClient, makeApp } from '../support/http.ts';

const PASSWORD = 'marigold-teapot-58';

describe('finding 11: per-address limits key IPv6 on the /64', () => {
  it('finding 11: addresses of one /64 share a key; IPv4 and IPv4-mapped IPv6 keep the full address', () => {
    assert.equal(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    assert.equal(addressKey('2001:DB8:1:2::1'), addressKey('2001:db8:0001:0002:aaaa::'));
    assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
    assert.equal(addressKey('192.0.2.1'), '192.0.2.1');
    assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(addressKey('::ffff:c000:201'), '192.0.2.1');
    assert.notEqual(addressKey('192.0.2.1'), addressKey('192.0.2.2'));
    // Every per-address key goes through it.
    for (const key of [throttleKey.ipPasswords, throttleKey.ipSends, throttleKey.signup]) {
      assert.equal(key('2001:db8:1:2::1'), key('2001:db8:1:2:dead:beef:1:2'));
      assert.notEqual(key('2001:db8:1:2::1'), key('2001:db8:1:3::1'));
    }
  });

  it('finding 11: password guesses from 31 addresses of one /64 meet the per-address limit', async () => {
    const e = await makeEngine();
    let last = '';
    for (let i = 1; i <= 31; i++) {
      const started = await e.auth.startLogin(`nobody${i}`, PASSWORD, { ip: `2001:db8:1:2::${i.toString(16)}`, userAgent: 'x' });
      last = started.status;
    }
    assert.equal(last, 'rate_limited');
    // Another /64 is not held back.
    assert.equal((await e.auth.startLogin('nobody-else', PASSWORD, { ip: '2001:db8:1:3::1', userAgent: 'x' })).status, 'invalid_credentials');
  });

  it('finding 11: sign-ups from 11 addresses of one /64 meet the per-address limit', async () => {
    const e = await makeEngine();
    const statuses: string[] = [];
    for (let i = 1; i <= 11; i++) {
      statuses.push((await e.auth.signup({ username: `user${i}`, password: PASSWORD }, { ip: `2001:db8:7:7:${i}::1`, userAgent: 'x' })).status);
    }
    assert.deepEqual(statuses, [...Array<string>(10).fill('ok'), 'rate_limited']);
  });
});

describe('finding 11: the SQLite file is owner-only', () => {
  it('finding 11: a new database and its -wal/-shm files are created 0600 whatever the umask', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-mode-'));
    const old = process.umask(0o022);
    try {
      const path = join(dir, 'otpgate.db');
      const store = await openSQLiteStore(path);
      await store.createUser({ id: 'u1', username: 'ivy', email: null, phone: null, passwordHash: 'x', createdAt: 1 });
      for (const file of [path, `${path}-wal`, `${path}-shm`]) {
        assert.ok(existsSync(file), file);
        assert.equal((await stat(file)).mode & 0o777, 0o600, file);
      }
      await store.close();
    } finally {
      process.umask(old);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('finding 11: an existing database file readable by others is tightened to 0600', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-mode-'));
    try {
      const path = join(dir, 'otpgate.db');
      await writeFile(path, '');
      await chmod(path, 0o644);
      const store = await openSQLiteStore(path);
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('finding 11: the argon2 queue is bounded', () => {
  const job = { password: 'x', salt: new Uint8Array(16), memoryCost: 1024, timeCost: 1, parallelism: 1, hashLength: 32 };

  it('finding 11: past the bound a new hash is refused at once with a typed error, and counted', async () => {
    const pool = createArgon2Pool(1, { maxWaiting: 2 });
    try {
      const accepted = [pool.hash(job), pool.hash(job), pool.hash(job)]; // one running, two waiting
      await assert.rejects(pool.hash(job), (error: unknown) => error instanceof ServerBusyError && error.code === 'server_busy');
      assert.equal(pool.refused, 1);
      assert.equal((await Promise.all(accepted)).length, 3);
      // Once the queue drained, hashes are accepted again.
      assert.equal((await pool.hash(job)).length, 32);
    } finally {
      await pool.close();
    }
  });

  it('finding 11: the default bound is finite', () => {
    const pool = createArgon2Pool(1);
    assert.ok(Number.isInteger(pool.maxWaiting) && pool.maxWaiting > 0 && pool.maxWaiting <= 1024);
  });

  it('finding 11: an engine started while the queue is full still answers unknown usernames once it drains', async () => {
    const saved = argon2Pool.maxWaiting;
    argon2Pool.maxWaiting = 0;
    const busy = Array.from({ length: availableParallelism() }, () => hashPassword('hold', { memoryCost: 19456, timeCost: 20, parallelism: 1 }));
    let e: Awaited<ReturnType<typeof makeEngine>>;
    try {
      e = await makeEngine();
    } finally {
      argon2Pool.maxWaiting = saved;
      await Promise.all(busy);
    }
    // The dummy hash compared for unknown usernames (I11) was not a casualty of the full queue.
    assert.equal((await e.auth.startLogin('nobody', PASSWORD, { ip: '192.0.2.1', userAgent: 'x' })).status, 'invalid_credentials');
  });

  it('finding 11: a login refused by a full queue answers 503 server_busy with Retry-After', async () => {
    const t = await makeApp();
    const c = httpClient(t.app);
    assert.equal((await c.request('POST', '/api/signup', { username: 'ivy', password: PASSWORD })).statusCode, 201);
    const saved = argon2Pool.maxWaiting;
    argon2Pool.maxWaiting = 0;
    // Slow hashes hold every thread; with no waiting room the login's hash is refused.
    const busy = Array.from({ length: availableParallelism() }, () => hashPassword('hold', { memoryCost: 19456, timeCost: 60, parallelism: 1 }));
    try {
      const refusedBefore = argon2Pool.refused;
      const answer = await httpClient(t.app).request('POST', '/api/login', { username: 'ivy', password: PASSWORD });
      assert.equal(answer.statusCode, 503, answer.body);
      assert.equal((JSON.parse(answer.body) as { error: string }).error, 'server_busy');
      assert.match(String(answer.headers['retry-after']), /^[1-9]\d*$/);
      assert.equal(argon2Pool.refused, refusedBefore + 1);
    } finally {
      argon2Pool.maxWaiting = saved;
      await Promise.all(busy);
    }
  });
});
