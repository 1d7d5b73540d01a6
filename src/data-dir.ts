/**
 * The data directory holds the SQLite file, the secret key and the TLS key: owner-only
 * (0700), so other local users can read none of them.
 */
import { chmod, mkdir, stat } from 'node:fs/promises';
import { ConfigError } from './config.ts';

/**
 * Creates `dir` (and missing parents) with mode 0700, or tightens an existing one
 * that group or others could enter.
 * @returns whether an existing directory's mode had to be tightened.
 * @throws ConfigError naming OTPGATE_DATA_DIR when it cannot be created or is not a directory.
 */
export async function ensureDataDir(dir: string): Promise<{ tightened: boolean }> {
  try {
    const created = await mkdir(dir, { recursive: true, mode: 0o700 });
    const info = await stat(dir);
    if (!info.isDirectory()) throw new ConfigError('OTPGATE_DATA_DIR', `${dir} is not a directory`);
    // mkdir's mode applies only to what it created (and passes through the umask).
    if ((info.mode & 0o077) !== 0 || (created !== undefined && (info.mode & 0o700) !== 0o700)) {
      await chmod(dir, 0o700);
      return { tightened: created === undefined };
    }
    return { tightened: false };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError('OTPGATE_DATA_DIR', `cannot prepare ${dir}: ${describeFSError(error)}`, { cause: error });
  }
}

/** One line for a file-system error: its code and message without a stack. */
export function describeFSError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Node appends ", open '/path'": callers name the path themselves.
    const message = error.message.replace(/\s+/g, ' ').replace(/, \w+ '[^']*'$/, '');
    return code !== undefined && !message.startsWith(code) ? `${code} ${message}` : message;
  }
  return String(error);
}
