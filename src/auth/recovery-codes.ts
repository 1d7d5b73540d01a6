/**
 * Recovery codes (SP 800-63B look-up secrets): 10 codes of 120 bits each from the
 * CSPRNG, written as 24 base32 characters in groups of four. Stored only as keyed
 * hashes under a key held outside the database (ASVS 6.5.2). At 112 bits and more a
 * fast keyed hash is enough (SECURITY.md item 21): no guessing can reach such a code.
 */
import { randomBytes } from 'node:crypto';
import { encodeBase32, normalizeCode } from '../otp/index.ts';

export const RECOVERY_CODE_COUNT = 10;

/** Characters of a code: 24 × 5 bits = 120 bits. */
export const RECOVERY_CODE_LENGTH = 24;

/** One code: `abcd-efgh-ijkl-mnop-qrst-uvwx`. */
export function generateRecoveryCode(): string {
  const raw = encodeBase32(randomBytes(15), { padding: false }).toLowerCase(); // 120 bits
  return raw.match(/.{4}/g)?.join('-') ?? raw;
}

export function generateRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, generateRecoveryCode);
}

/** The canonical form compared at use: lower case, no spaces or hyphens; null when it cannot be a code. */
export function canonicalRecoveryCode(input: string): string | null {
  const value = normalizeCode(input).toLowerCase();
  return value.length === RECOVERY_CODE_LENGTH && /^[a-z2-7]+$/.test(value) ? value : null;
}
