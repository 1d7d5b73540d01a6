import { formatCode, parseCode } from './code.ts';
import { checkKey, computeHOTPValueAt, resolveDigits, resolveHMACName } from './hotp.ts';
import type { HMACName } from './hotp.ts';
import type { OTPOptions } from './hotp.ts';
import type { OTPKey } from './key.ts';

/** Options for TOTP (RFC 6238). */
export interface TOTPOptions extends OTPOptions {
  /** Time step X in seconds; default 30. */
  periodInSeconds?: number;
  /** Unix time T0 at which counting steps starts; default 0. */
  t0InSeconds?: number;
}

/** Options for verifyTOTP. */
export interface TOTPVerifyOptions extends TOTPOptions {
  /** Steps accepted either side of the current one, 0 to 10; default 1 (RFC 6238 §5.2: one step of network delay). */
  window?: number;
  /** Last step already accepted for this key: only later steps are accepted (RFC 6238 §5.2, replay). */
  afterStep?: number;
}

/** Options for findTOTPDrift. */
export interface TOTPDriftOptions extends TOTPOptions {
  /** Steps searched either side of the current one, 0 to 100; default 20 (ten minutes at 30 s). */
  maxSteps?: number;
}

const MAX_WINDOW = 10;
const MAX_DRIFT_STEPS = 100;
// Built once: verifyTOTP is the hot path and should allocate no strings.
const WINDOW_MESSAGE = `Window must be between 0 and ${MAX_WINDOW}`;
const MAX_STEPS_MESSAGE = `maxSteps must be between 0 and ${MAX_DRIFT_STEPS}`;

function toMilliseconds(now: Date | number): number {
  const ms = now instanceof Date ? now.getTime() : now;
  if (typeof ms !== 'number') {
    throw new TypeError('Time must be a Date or a number of milliseconds');
  }
  // ±8.64e15 ms is the range of a valid Date; it also keeps every step a safe integer.
  if (!(Math.abs(ms) <= 8.64e15)) {
    throw new RangeError('Time must be a valid date');
  }
  return ms;
}

function checkWholeNumber(value: number, min: number, max: number, message: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(message);
  }
  return value;
}

/** Returns the RFC 6238 time step T = floor((now − T0) / X) for a time in milliseconds or a Date; negative before T0. */
export function getTOTPStep(now: Date | number, options?: TOTPOptions): number {
  const period = options?.periodInSeconds ?? 30;
  const t0 = options?.t0InSeconds ?? 0;
  checkWholeNumber(period, 1, Number.MAX_SAFE_INTEGER / 1000, 'Period must be a positive whole number of seconds');
  checkWholeNumber(t0, -Number.MAX_SAFE_INTEGER / 1000, Number.MAX_SAFE_INTEGER / 1000, 'T0 must be a whole number of seconds');
  // Whole milliseconds divided exactly: no floating-point error at any realistic time.
  return Math.floor((toMilliseconds(now) - t0 * 1000) / (period * 1000));
}

/** Generates the TOTP code for a time (RFC 6238). */
export function generateTOTP(key: OTPKey, now: Date | number, options?: TOTPOptions): string {
  const hmacName = resolveHMACName(options?.algorithm);
  const digits = resolveDigits(options?.digits);
  checkKey(key);
  const step = getTOTPStep(now, options);
  if (step < 0) {
    throw new RangeError('Time must not be before T0');
  }
  return formatCode(computeHOTPValueAt(key, step, hmacName, 10 ** digits), digits);
}

/**
 * What checking a code needs: the options resolved, the key checked, the server's step and
 * the code as a number; null for a malformed code. The format is no secret, so such a code
 * is refused at once, before any HMAC.
 */
function prepareCheck(key: OTPKey, code: string, now: Date | number, options: TOTPOptions | undefined): { step: number; expected: number; hmacName: HMACName; modulus: number } | null {
  const hmacName = resolveHMACName(options?.algorithm);
  const digits = resolveDigits(options?.digits);
  checkKey(key);
  const step = getTOTPStep(now, options);
  const expected = parseCode(code, digits);
  return expected < 0 ? null : { step, expected, hmacName, modulus: 10 ** digits };
}

/**
 * Checks a TOTP code at the server's time, within `window` steps either side and only after `afterStep`,
 * returning the matched step (store it as the next `afterStep`) or null.
 */
export function verifyTOTP(key: OTPKey, code: string, now: Date | number, options?: TOTPVerifyOptions): number | null {
  const window = checkWholeNumber(options?.window ?? 1, 0, MAX_WINDOW, WINDOW_MESSAGE);
  const afterStep = options?.afterStep ?? -1;
  if (!Number.isSafeInteger(afterStep)) {
    throw new RangeError('afterStep must be a safe integer');
  }
  const check = prepareCheck(key, code, now, options);
  if (check === null) {
    return null;
  }
  const { step, expected, hmacName, modulus } = check;
  // Every step in the window is computed and compared as a number, with no early exit.
  // If two steps match (a 10^-digits collision), the later one wins: the stricter replay guard.
  let matched: number | null = null;
  for (let s = step - window; s <= step + window; s++) {
    if (s < 0 || s <= afterStep) continue;
    if (computeHOTPValueAt(key, s, hmacName, modulus) === expected) {
      matched = s;
    }
  }
  return matched;
}

/**
 * For a code verifyTOTP refused, finds the offset in steps at which it would match within ±maxSteps
 * (e.g. −8: the device is 4 minutes behind at 30 s), or null; for diagnostics only, never an acceptance.
 */
export function findTOTPDrift(key: OTPKey, code: string, now: Date | number, options?: TOTPDriftOptions): number | null {
  const maxSteps = checkWholeNumber(options?.maxSteps ?? 20, 0, MAX_DRIFT_STEPS, MAX_STEPS_MESSAGE);
  const check = prepareCheck(key, code, now, options);
  if (check === null) {
    return null;
  }
  const { step, expected, hmacName, modulus } = check;
  // Searched outwards (0, −1, +1, −2, …) so the smallest drift wins a collision.
  let offsetFound: number | null = null;
  for (let distance = 0; distance <= maxSteps; distance++) {
    for (const offset of distance === 0 ? [0] : [-distance, distance]) {
      const s = step + offset;
      if (s < 0) continue;
      if (computeHOTPValueAt(key, s, hmacName, modulus) === expected && offsetFound === null) {
        offsetFound = offset;
      }
    }
  }
  return offsetFound;
}
