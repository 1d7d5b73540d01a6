/**
 * argon2id password hashing, always off the event loop, as PHC strings:
 * `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` (RFC 9106; OWASP's first row).
 *
 * Hashes run on a pool of low-priority worker threads (argon2-pool.ts), so a burst of
 * logins never delays a request that needs no hash. `@node-rs/argon2` computes them when
 * it loads, `node:crypto`'s argon2 otherwise; both read and write the same PHC format.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createArgon2Pool } from './argon2-pool.ts';

export { argon2Implementation } from './argon2-compute.ts';

export interface Argon2Parameters {
  /** Memory in KiB. */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export const DEFAULT_ARGON2: Argon2Parameters = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

const HASH_LENGTH = 32;
const SALT_LENGTH = 16; // 128 bits

/** The process's one pool: every hash waits here (its `maxWaiting` bounds the queue). */
export const argon2Pool = createArgon2Pool();

function computeArgon2id(password: string, salt: Uint8Array, params: Argon2Parameters): Promise<Buffer> {
  return argon2Pool.hash({ password, salt, ...params, hashLength: HASH_LENGTH });
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64').replace(/=+$/, '');

/** Hashes a password with a fresh 128-bit salt and returns the PHC string. */
export async function hashPassword(password: string, params: Argon2Parameters = DEFAULT_ARGON2): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const hash = await computeArgon2id(password, salt, params);
  return `$argon2id$v=19$m=${params.memoryCost},t=${params.timeCost},p=${params.parallelism}$${b64(salt)}$${b64(hash)}`;
}

/**
 * A PHC string of random salt and hash with `params`: verifying any password against it
 * costs one real hash and never matches. Built without hashing, so it cannot be refused
 * by a full queue at start-up.
 */
export function dummyPasswordHash(params: Argon2Parameters = DEFAULT_ARGON2): string {
  return `$argon2id$v=19$m=${params.memoryCost},t=${params.timeCost},p=${params.parallelism}$${b64(randomBytes(SALT_LENGTH))}$${b64(randomBytes(HASH_LENGTH))}`;
}

interface ParsedPHC {
  params: Argon2Parameters;
  salt: Buffer;
  hash: Buffer;
}

const PHC = /^\$argon2id\$v=19\$m=(\d{1,7}),t=(\d{1,3}),p=(\d{1,2})\$([A-Za-z0-9+/]{11,})\$([A-Za-z0-9+/]{22,})$/;

/** Parses an argon2id PHC string; null when it is not one. */
export function parsePasswordHash(phc: string): ParsedPHC | null {
  const m = PHC.exec(phc);
  if (!m) return null;
  return {
    params: { memoryCost: Number(m[1]), timeCost: Number(m[2]), parallelism: Number(m[3]) },
    salt: Buffer.from(m[4] ?? '', 'base64'),
    hash: Buffer.from(m[5] ?? '', 'base64'),
  };
}

/** True when the password matches the PHC string; false for a malformed string. */
export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  const parsed = parsePasswordHash(phc);
  if (!parsed) return false;
  const actual = await computeArgon2id(password, parsed.salt, parsed.params);
  return actual.length === parsed.hash.length && timingSafeEqual(actual, parsed.hash);
}

/** True when the hash was made with other parameters than `params` (rehash on the next login). */
export function needsRehash(phc: string, params: Argon2Parameters = DEFAULT_ARGON2): boolean {
  const parsed = parsePasswordHash(phc);
  if (!parsed) return true;
  const p = parsed.params;
  return p.memoryCost !== params.memoryCost || p.timeCost !== params.timeCost || p.parallelism !== params.parallelism || parsed.hash.length !== HASH_LENGTH;
}
