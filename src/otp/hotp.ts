import { createHmac } from 'node:crypto';
import { formatCode, parseCode } from './code.ts';
import type { HashAlgorithm, OTPKey } from './key.ts';

/** Options shared by HOTP and TOTP. */
export interface OTPOptions {
  /** HMAC hash function; default 'SHA1' (what authenticator apps assume). */
  algorithm?: HashAlgorithm;
  /** Code length, 6 to 10; default 6. */
  digits?: number;
}

/** Options for verifyHOTP. */
export interface HOTPVerifyOptions extends OTPOptions {
  /** How many counters after `counter` to try as well, 0 to 10; default 0 (RFC 4226 §7.4). */
  lookAhead?: number;
}

export type HMACName = 'sha1' | 'sha256' | 'sha512';

const MAX_LOOK_AHEAD = 10;
const MAX_COUNTER = (1n << 64n) - 1n;
const TWO_POW_32 = 0x1_0000_0000;

// The 8-byte big-endian counter (RFC 4226 §5.2). Not secret, and HMAC update copies it
// synchronously, so one buffer serves every call.
const counterBuffer = Buffer.alloc(8);

/** Maps an algorithm name to node:crypto's name; throws on anything else. */
export function resolveHMACName(algorithm: HashAlgorithm | undefined): HMACName {
  switch (algorithm) {
    case undefined:
    case 'SHA1':
      return 'sha1';
    case 'SHA256':
      return 'sha256';
    case 'SHA512':
      return 'sha512';
    default:
      throw new TypeError('Algorithm must be SHA1, SHA256 or SHA512');
  }
}

/**
 * Rejects an empty key, whose codes anyone could compute (e.g. a secret lost to a decoding bug).
 * A KeyObject from createOTPKey is never empty; raw bytes are checked on every call.
 */
export function checkKey(key: OTPKey): void {
  if (key instanceof Uint8Array && key.byteLength === 0) {
    throw new RangeError('Key must not be empty');
  }
}

/** Checks a digits option and returns it (default 6). */
export function resolveDigits(digits: number | undefined): number {
  if (digits === undefined) {
    return 6;
  }
  if (!Number.isInteger(digits) || digits < 6 || digits > 10) {
    throw new RangeError('Digits must be between 6 and 10');
  }
  return digits;
}

/**
 * Computes HOTP's truncated value for a counter given as two 32-bit halves, reduced modulo `modulus`.
 * RFC 4226 §5.3: dynamic truncation to 31 bits, then modulo 10^digits (for 10 digits the 31-bit
 * value itself, as otpauth does).
 */
export function computeHOTPValue(key: OTPKey, counterHigh: number, counterLow: number, hmacName: HMACName, modulus: number): number {
  counterBuffer.writeUInt32BE(counterHigh, 0);
  counterBuffer.writeUInt32BE(counterLow, 4);
  const digest = createHmac(hmacName, key).update(counterBuffer).digest();
  const offset = digest.readUInt8(digest.length - 1) & 0x0f;
  return (digest.readUInt32BE(offset) & 0x7fff_ffff) % modulus;
}

/** Computes the truncated value for a non-negative safe-integer counter or step. */
export function computeHOTPValueAt(key: OTPKey, counter: number, hmacName: HMACName, modulus: number): number {
  return computeHOTPValue(key, Math.floor(counter / TWO_POW_32), counter >>> 0, hmacName, modulus);
}

function checkCounter(counter: number | bigint): void {
  if (typeof counter === 'bigint') {
    if (counter < 0n || counter > MAX_COUNTER) {
      throw new RangeError('Counter must be between 0 and 2^64 - 1');
    }
  } else if (!Number.isSafeInteger(counter) || counter < 0) {
    throw new RangeError('Counter must be a non-negative safe integer or a bigint');
  }
}

function computeValueForCounter(key: OTPKey, counter: number | bigint, hmacName: HMACName, modulus: number): number {
  if (typeof counter === 'bigint') {
    return computeHOTPValue(key, Number(counter >> 32n), Number(counter & 0xffff_ffffn), hmacName, modulus);
  }
  return computeHOTPValueAt(key, counter, hmacName, modulus);
}

/** Generates the HOTP code for a counter (RFC 4226). */
export function generateHOTP(key: OTPKey, counter: number | bigint, options?: OTPOptions): string {
  const hmacName = resolveHMACName(options?.algorithm);
  const digits = resolveDigits(options?.digits);
  checkKey(key);
  checkCounter(counter);
  return formatCode(computeValueForCounter(key, counter, hmacName, 10 ** digits), digits);
}

/**
 * Checks an HOTP code against `counter` and the `lookAhead` counters after it, returning the matched counter
 * (a bigint if `counter` was one) or null; the caller then stores the match + 1 (RFC 4226 §7.2).
 */
export function verifyHOTP(key: OTPKey, code: string, counter: number | bigint, options?: HOTPVerifyOptions): number | bigint | null {
  const hmacName = resolveHMACName(options?.algorithm);
  const digits = resolveDigits(options?.digits);
  const lookAhead = options?.lookAhead ?? 0;
  if (!Number.isInteger(lookAhead) || lookAhead < 0 || lookAhead > MAX_LOOK_AHEAD) {
    throw new RangeError(`Look-ahead must be between 0 and ${MAX_LOOK_AHEAD}`);
  }
  checkKey(key);
  checkCounter(counter);
  const expected = parseCode(code, digits);
  if (expected < 0) {
    return null;
  }
  const modulus = 10 ** digits;
  // Every candidate is computed and compared as a number, without an early exit, so the time
  // taken says nothing about which counter (if any) matched.
  let matched: number | bigint | null = null;
  for (let i = 0; i <= lookAhead; i++) {
    let candidate: number | bigint;
    if (typeof counter === 'bigint') {
      candidate = counter + BigInt(i);
      if (candidate > MAX_COUNTER) break;
    } else {
      candidate = counter + i;
      if (candidate > Number.MAX_SAFE_INTEGER) break;
    }
    const value = computeValueForCounter(key, candidate, hmacName, modulus);
    if (value === expected && matched === null) {
      matched = candidate;
    }
  }
  return matched;
}
