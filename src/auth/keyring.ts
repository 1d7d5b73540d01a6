/**
 * Keys derived from the server's secret key (OTPGATE_SECRET_KEY), which lives outside
 * the database: one for sealing TOTP secrets (AES-256-GCM, I10) and one for the keyed
 * hashes of codes. Older secret keys may be kept to open secrets sealed before a
 * rotation; new secrets are always sealed under the current key.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

interface SealingKey {
  id: string;
  key: Buffer;
  /** HMAC key for code hashes made under this secret key (they keep its id). */
  codeKey: Buffer;
}

/**
 * A record sealed or keyed under a secret key that is not configured: the operator must
 * add that key to OTPGATE_PREVIOUS_SECRET_KEYS (or restore OTPGATE_SECRET_KEY). The HTTP
 * layer answers 503 `key_unavailable`; the message names the key id, never a key.
 */
export class KeyUnavailableError extends Error {
  readonly code = 'key_unavailable';
  readonly statusCode = 503;
  readonly keyId: string;

  constructor(keyId: string, what: string) {
    super(`No configured secret key has id ${keyId} (it sealed ${what}): set OTPGATE_SECRET_KEY or OTPGATE_PREVIOUS_SECRET_KEYS to include it`);
    this.name = 'KeyUnavailableError';
    this.keyId = keyId;
  }
}

export interface Keyring {
  /** HMAC key for email/SMS codes, recovery codes and phone verification codes. */
  codeKey: Buffer;
  /** HMAC key for the HTTP layer's anti-CSRF form tokens. */
  csrfKey: Buffer;
  current: SealingKey;
  byId: Map<string, SealingKey>;
}

function derive(secretKey: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), `otpgate ${info}`, 32));
}

function sealingKey(secretKey: Uint8Array): SealingKey {
  const key = derive(secretKey, 'totp-seal v1');
  // The id names the key without revealing it: a hash of a separate derivation.
  const id = createHash('sha256').update(derive(secretKey, 'key-id v1')).digest('hex').slice(0, 12);
  return { id, key, codeKey: derive(secretKey, 'code-hmac v1') };
}

/** Builds the keyring from the current secret key and any previous ones (32 bytes each). */
export function createKeyring(secretKey: Uint8Array, previousKeys: Uint8Array[] = []): Keyring {
  for (const k of [secretKey, ...previousKeys]) {
    if (k.length !== 32) throw new RangeError('Secret keys must be 32 bytes');
  }
  const current = sealingKey(secretKey);
  const byId = new Map<string, SealingKey>();
  for (const k of [...previousKeys, secretKey]) {
    const sk = sealingKey(k);
    byId.set(sk.id, sk);
  }
  return { codeKey: derive(secretKey, 'code-hmac v1'), csrfKey: derive(secretKey, 'csrf v1'), current, byId };
}

/** Encrypts `plaintext` bound to `context` (e.g. the factor id): returns the key id and iv|ciphertext|tag in base64url. */
export function seal(keyring: Keyring, plaintext: Uint8Array, context: string): { keyId: string; sealed: string } {
  const iv = randomBytes(12); // 96-bit GCM nonce, random per message
  const cipher = createCipheriv('aes-256-gcm', keyring.current.key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { keyId: keyring.current.id, sealed: Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url') };
}

/** Decrypts what `seal` produced; throws when the key is unknown or the data or context was altered. */
export function open(keyring: Keyring, keyId: string, sealed: string, context: string): Buffer {
  const sk = keyring.byId.get(keyId);
  if (!sk) throw new KeyUnavailableError(keyId, 'a TOTP secret');
  const data = Buffer.from(sealed, 'base64url');
  if (data.length < 12 + 16) throw new Error('Sealed data is too short');
  const decipher = createDecipheriv('aes-256-gcm', sk.key, data.subarray(0, 12));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
}

/** The code-hash key of `keyId`; throws KeyUnavailableError when that key is not configured. */
export function codeKeyFor(keyring: Keyring, keyId: string, what: string): Buffer {
  const sk = keyring.byId.get(keyId);
  if (!sk) throw new KeyUnavailableError(keyId, what);
  return sk.codeKey;
}

/** Throws KeyUnavailableError for the first of `keyIds` that no configured key has. */
export function requireKeys(keyring: Keyring, keyIds: Iterable<string>, what: string): void {
  for (const id of keyIds) if (!keyring.byId.has(id)) throw new KeyUnavailableError(id, what);
}
