/**
 * The argon2id function itself, with no scheduling: the prebuilt `@node-rs/argon2` when
 * it loads (about twice as fast here), `node:crypto`'s argon2 otherwise. The pool's
 * workers call the synchronous form; the asynchronous form (libuv's thread pool) is the
 * bare reference the HTTP benchmark measures against.
 */
import { argon2 as cryptoArgon2, argon2Sync } from 'node:crypto';
import { createRequire } from 'node:module';

export interface Argon2Input {
  password: string;
  salt: Uint8Array;
  /** Memory in KiB. */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
  hashLength: number;
}

interface NativeOptions { algorithm: number; memoryCost: number; timeCost: number; parallelism: number; outputLen: number; salt: Uint8Array }
interface NativeArgon2 {
  hashRaw(password: string, options: NativeOptions): Promise<Buffer>;
  hashRawSync(password: string, options: NativeOptions): Buffer;
}

function loadNative(): NativeArgon2 | null {
  try {
    return createRequire(import.meta.url)('@node-rs/argon2') as NativeArgon2;
  } catch {
    return null;
  }
}

const native = loadNative();

/** Which implementation computes hashes in this process. */
export const argon2Implementation: '@node-rs/argon2' | 'node:crypto' = native ? '@node-rs/argon2' : 'node:crypto';

const nativeOptions = (input: Argon2Input): NativeOptions =>
  ({ algorithm: 2, memoryCost: input.memoryCost, timeCost: input.timeCost, parallelism: input.parallelism, outputLen: input.hashLength, salt: input.salt });

const cryptoOptions = (input: Argon2Input) =>
  ({ message: input.password, nonce: input.salt, memory: input.memoryCost, passes: input.timeCost, parallelism: input.parallelism, tagLength: input.hashLength });

/** argon2id on the calling thread. */
export function argon2idSync(input: Argon2Input): Buffer {
  return native ? native.hashRawSync(input.password, nativeOptions(input)) : argon2Sync('argon2id', cryptoOptions(input));
}

/** argon2id on libuv's thread pool, at the normal priority. */
export function argon2idOnLibuv(input: Argon2Input): Promise<Buffer> {
  if (native) return native.hashRaw(input.password, nativeOptions(input));
  return new Promise((resolve, reject) => {
    cryptoArgon2('argon2id', cryptoOptions(input), (error, derived) => (error ? reject(error) : resolve(derived)));
  });
}
