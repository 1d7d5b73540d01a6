/**
 * argon2id password hashing, always off the event loop, as PHC strings:
 * `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` (RFC 9106; OWASP's first row).
 *
 * The prebuilt `@node-rs/argon2` is used when it loads (about twice as fast here);
 * `node:crypto`'s argon2 is the fallback. Both read and write the same PHC format.
 */
import { argon2 as cryptoArgon2, randomBytes, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';

export interface Argon2Parameters {
  /** Memory in KiB. */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export const DEFAULT_ARGON2: Argon2Parameters = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

const HASH_LENGTH = 32;
const SALT_LENGTH = 16; // 128 bits

interface NativeArgon2 {
  hashRaw(password: string | Uint8Array, options: { algorithm: number; memoryCost: number; timeCost: number; parallelism: number; outputLen: number; salt: Uint8Array }): Promise<Buffer>;
}

function loadNative(): NativeArgon2 | null {
  try {
    const require = createRequire(import.meta.url);
    return require('@node-rs/argon2') as NativeArgon2;
  } catch {
    return null;
  }
}

const native = loadNative();

/** Which implementation computes hashes in this process. */
export const argon2Implementation: '@node-rs/argon2' | 'node:crypto' = native ? '@node-rs/argon2' : 'node:crypto';

async function computeArgon2id(password: string, salt: Uint8Array, params: Argon2Parameters): Promise<Buffer> {
  if (native) {
    return native.hashRaw(password, { algorithm: 2, ...params, outputLen: HASH_LENGTH, salt });
  }
  return new Promise((resolve, reject) => {
    cryptoArgon2('argon2id', {
      message: password,
      nonce: salt,
      parallelism: params.parallelism,
      tagLength: HASH_LENGTH,
      memory: params.memoryCost,
      passes: params.timeCost,
    }, (error, derived) => (error ? reject(error) : resolve(derived)));
  });
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64').replace(/=+$/, '');

/** Hashes a password with a fresh 128-bit salt and returns the PHC string. */
export async function hashPassword(password: string, params: Argon2Parameters = DEFAULT_ARGON2): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const hash = await computeArgon2id(password, salt, params);
  return `$argon2id$v=19$m=${params.memoryCost},t=${params.timeCost},p=${params.parallelism}$${b64(salt)}$${b64(hash)}`;
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
