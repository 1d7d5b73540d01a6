import { strict as assert } from 'node:assert';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError } from './config.ts';
import { ensureDataDir } from './data-dir.ts';
import { loadSecretKey } from './secret-key.ts';

const root = await mkdtemp(join(tmpdir(), 'otpgate-key-'));
after(() => rm(root, { recursive: true, force: true }));
let n = 0;
const freshDir = async (): Promise<string> => {
  const dir = join(root, `d${n++}`);
  await ensureDataDir(dir);
  return dir;
};

void describe('ensureDataDir()', () => {
  void test('creates the directory and its parents with mode 0700', async () => {
    const dir = join(root, 'a', 'b', 'data');
    assert.deepEqual(await ensureDataDir(dir), { tightened: false });
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  });

  void test('tightens an existing directory that others can read', async () => {
    const dir = join(root, 'loose');
    await ensureDataDir(dir);
    await chmod(dir, 0o755);
    assert.deepEqual(await ensureDataDir(dir), { tightened: true });
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  });

  void test('refuses a path that is a file, naming OTPGATE_DATA_DIR', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, '');
    await assert.rejects(ensureDataDir(file), (error: unknown) => error instanceof ConfigError && error.variable === 'OTPGATE_DATA_DIR');
  });
});

void describe('loadSecretKey()', () => {
  void test('returns the configured key without touching the data dir', async () => {
    const dir = await freshDir();
    const key = Buffer.alloc(32, 1);
    assert.deepEqual(await loadSecretKey({ secretKey: key, dataDir: dir }), { key, source: 'env' });
    assert.deepEqual(await readdir(dir), []);
  });

  void test('generates a 32-byte key into secret.key (0600), then reads the same key back', async () => {
    const dir = await freshDir();
    const first = await loadSecretKey({ secretKey: undefined, dataDir: dir });
    assert.equal(first.source, 'generated');
    assert.equal(first.key.length, 32);
    const path = join(dir, 'secret.key');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await readFile(path, 'utf8')).trim(), first.key.toString('base64'));
    const second = await loadSecretKey({ secretKey: undefined, dataDir: dir });
    assert.deepEqual(second, { key: first.key, source: 'file' });
    assert.deepEqual(await readdir(dir), ['secret.key'], 'no temporary files left');
  });

  void test('of concurrent first starts, all get the one key written', async () => {
    const dir = await freshDir();
    const results = await Promise.all(Array.from({ length: 8 }, () => loadSecretKey({ secretKey: undefined, dataDir: dir })));
    const stored = Buffer.from(await readFile(join(dir, 'secret.key'), 'utf8'), 'base64');
    for (const r of results) assert.deepEqual(r.key, stored);
    assert.equal(results.filter((r) => r.source === 'generated').length, 1);
  });

  void test('refuses a damaged key file instead of replacing it', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, 'secret.key'), 'c2hvcnQ=\n', { mode: 0o600 });
    await assert.rejects(loadSecretKey({ secretKey: undefined, dataDir: dir }), /OTPGATE_SECRET_KEY: .*secret\.key does not hold a 32-byte base64 key/);
  });
});
