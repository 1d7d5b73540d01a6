/** Bearer secrets: generated from the CSPRNG, stored only as hashes. */
import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/** A 256-bit random token, base64url (43 characters). */
export function generateToken(): string {
  return randomBytes(32).toString('base64url'); // 256 bits
}

/** A short public handle (128 bits), e.g. a session's id in listings. */
export function generateId(): string {
  return randomBytes(16).toString('base64url'); // 128 bits
}

/** SHA-256 of a high-entropy token, hex: enough for 256-bit secrets, which need no slow hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A numeric one-time code of `digits` digits, uniform (randomInt rejects modulo bias). */
export function generateNumericCode(digits = 6): string {
  return randomInt(0, 10 ** digits).toString().padStart(digits, '0');
}

/** Keyed hash for low-entropy secrets (codes): useless without the key, which lives outside the database. */
export function keyedHash(key: Uint8Array, purpose: string, value: string): string {
  return createHmac('sha256', key).update(purpose).update('\0').update(value).digest('hex');
}

/** Constant-time equality of two strings (length is not secret). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

