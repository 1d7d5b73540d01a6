import { randomFillSync } from 'node:crypto';

const MIN_SECRET_BYTES = 16;
const MAX_SECRET_BYTES = 128;

/** Generates a random shared secret from node:crypto's CSPRNG: 20 bytes (160 bits, RFC 4226 §4 R6) unless asked otherwise. */
export function generateSecret(byteLength = 20): Uint8Array {
  // At least 16 bytes = 128 bits (ASVS 6.5.3); at most one SHA-512 block, beyond which HMAC hashes the key anyway.
  if (!Number.isInteger(byteLength) || byteLength < MIN_SECRET_BYTES || byteLength > MAX_SECRET_BYTES) {
    throw new RangeError(`Secret length must be between ${MIN_SECRET_BYTES} and ${MAX_SECRET_BYTES} bytes`);
  }
  // Filled in place (same CSPRNG as randomBytes) so the secret owns its memory, never a slice of Buffer's shared pool.
  return randomFillSync(new Uint8Array(byteLength));
}
