/**
 * The server's secret key (32 bytes; it encrypts TOTP secrets at rest, I10): from
 * OTPGATE_SECRET_KEY, or else `secret.key` in the data directory (base64, mode 0600),
 * generated on first start. Losing it makes every enrolled authenticator unusable: back
 * it up, but apart from the database backups, or they alone would expose the secrets.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from './config.ts';
import type { Config } from './config.ts';
import { describeFSError } from './data-dir.ts';

export const SECRET_KEY_FILE = 'secret.key';

/** Where the key came from, for the start-up message. */
export type SecretKeySource = 'env' | 'file' | 'generated';

/**
 * Returns the secret key: the configured one, or the data dir's key file, created when missing.
 * The data directory must exist (ensureDataDir).
 */
export async function loadSecretKey(
  config: Pick<Config, 'secretKey' | 'dataDir'>,
): Promise<{ key: Buffer; source: SecretKeySource }> {
  if (config.secretKey !== undefined) return { key: config.secretKey, source: 'env' };
  const path = join(config.dataDir, SECRET_KEY_FILE);
  try {
    const existing = await readKeyFile(path);
    if (existing !== undefined) return { key: existing, source: 'file' };
    const created = await createKeyFile(path);
    return created === undefined
      ? { key: await readKeyFileOrThrow(path), source: 'file' }
      : { key: created, source: 'generated' };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError('OTPGATE_SECRET_KEY', `cannot read or create ${path}: ${describeFSError(error)}`, { cause: error });
  }
}

async function readKeyFileOrThrow(path: string): Promise<Buffer> {
  const key = await readKeyFile(path);
  if (key === undefined) throw new ConfigError('OTPGATE_SECRET_KEY', `${path} vanished while starting`);
  return key;
}

/** The key in `path`, or undefined when there is no such file. */
async function readKeyFile(path: string): Promise<Buffer | undefined> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const key = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || key.length !== 32) {
    throw new ConfigError('OTPGATE_SECRET_KEY', `${path} does not hold a 32-byte base64 key; restore it from a backup`);
  }
  if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600);
  return key;
}

/**
 * Writes a new key to a temporary file, then links it into place: link() fails when the
 * name exists, so of two processes starting together exactly one key wins, and a reader
 * never sees a half-written file.
 * @returns the new key, or undefined when another process created the file first.
 */
async function createKeyFile(path: string): Promise<Buffer | undefined> {
  const key = randomBytes(32); // 256 bits
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(`${key.toString('base64')}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temporary, path);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  } finally {
    await unlink(temporary);
  }
}
