/**
 * Recovery codes (SP 800-63B look-up secrets): 10 codes of 80 bits each from the
 * CSPRNG, written as 16 base32 characters in groups of four. Stored only as keyed
 * hashes under a key held outside the database (ASVS 6.5.2).
 */
import { randomBytes } from 'node:crypto';
import { encodeBase32 } from '../otp/index.ts';

export const RECOVERY_CODE_COUNT = 10;

/** One code: `abcd-efgh-ijkl-mnop`. */
export function generateRecoveryCode(): string {
  const raw = encodeBase32(randomBytes(10), { padding: false }).toLowerCase(); // 80 bits
  return raw.match(/.{4}/g)?.join('-') ?? raw;
}

export function generateRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, generateRecoveryCode);
}

/** The canonical form compared at use: lower case, no spaces or hyphens; null when it cannot be a code. */
export function canonicalRecoveryCode(input: string): string | null {
  const value = input.replace(/[\s\u00a0-]/g, '').toLowerCase();
  return /^[a-z2-7]{16}$/.test(value) ? value : null;
}
