import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import rfc6238 from '../../test/fixtures/rfc6238.json' with { type: 'json' };
import type { HashAlgorithm, OTPKey } from './key.ts';
import { createOTPKey } from './key.ts';
import { findTOTPDrift, generateTOTP, getTOTPStep, verifyTOTP } from './totp.ts';

const seeds = rfc6238.seedsASCII;
const keys: Record<HashAlgorithm, OTPKey> = {
  SHA1: createOTPKey(new TextEncoder().encode(seeds.SHA1)),
  SHA256: createOTPKey(new TextEncoder().encode(seeds.SHA256)),
  SHA512: createOTPKey(new TextEncoder().encode(seeds.SHA512)),
};
const unusableKey = {} as unknown as OTPKey;

describe('RFC 6238 Appendix B', () => {
  for (const vector of rfc6238.vectors) {
    const algorithm = vector.algorithm as HashAlgorithm;
    const now = vector.unixTime * 1000;
    const options = { algorithm, digits: rfc6238.digits, periodInSeconds: rfc6238.periodInSeconds, t0InSeconds: rfc6238.t0InSeconds };

    test(`generateTOTP() gives ${vector.totp} for ${algorithm} at ${vector.unixTime}`, () => {
      assert.equal(getTOTPStep(now), Number.parseInt(vector.stepHex, 16));
      assert.equal(new Date(now).toISOString().replace('.000', ''), vector.utc);
      assert.equal(generateTOTP(keys[algorithm], now, options), vector.totp);
      assert.equal(generateTOTP(keys[algorithm], new Date(now), options), vector.totp);
    });

    test(`generateTOTP() gives the 6-digit variant ${vector.totp.slice(2)} for ${algorithm} at ${vector.unixTime}`, () => {
      assert.equal(generateTOTP(keys[algorithm], now, { algorithm }), vector.totp.slice(2));
    });

    test(`verifyTOTP() accepts ${vector.totp} for ${algorithm} at ${vector.unixTime} and returns its step`, () => {
      assert.equal(verifyTOTP(keys[algorithm], vector.totp, now, options), Number.parseInt(vector.stepHex, 16));
    });
  }
});

describe('getTOTPStep()', () => {
  test('getTOTPStep() counts whole periods since T0', () => {
    assert.equal(getTOTPStep(0), 0);
    assert.equal(getTOTPStep(29_999), 0);
    assert.equal(getTOTPStep(30_000), 1);
    assert.equal(getTOTPStep(new Date('2009-02-13T23:31:30Z')), 0x273ef07);
    assert.equal(getTOTPStep(100_000, { periodInSeconds: 60, t0InSeconds: 40 }), 1);
    assert.equal(getTOTPStep(99_999, { periodInSeconds: 60, t0InSeconds: 40 }), 0);
    assert.equal(getTOTPStep(39_999, { t0InSeconds: 40 }), -1);
  });

  test('getTOTPStep() rejects an invalid time, period or T0', () => {
    assert.throws(() => getTOTPStep(Number.NaN), RangeError);
    assert.throws(() => getTOTPStep(new Date('nonsense')), RangeError);
    assert.throws(() => getTOTPStep(1e300), RangeError);
    assert.throws(() => getTOTPStep('0' as unknown as number), TypeError);
    for (const periodInSeconds of [0, -30, 1.5]) {
      assert.throws(() => getTOTPStep(0, { periodInSeconds }), { name: 'RangeError', message: 'Period must be a positive whole number of seconds' });
    }
    assert.throws(() => getTOTPStep(0, { t0InSeconds: 0.5 }), RangeError);
  });
});

describe('generateTOTP()', () => {
  test('generateTOTP() honours the period and T0', () => {
    const key = keys.SHA1;
    assert.equal(generateTOTP(key, 1_000_000, { periodInSeconds: 60, t0InSeconds: 100 }), generateTOTP(key, 30_000 * 15));
  });

  test('generateTOTP(), verifyTOTP() and findTOTPDrift() reject an empty key', () => {
    const empty = new Uint8Array(0);
    assert.throws(() => generateTOTP(empty, 0), { name: 'RangeError', message: 'Key must not be empty' });
    assert.throws(() => verifyTOTP(empty, '123456', 0), RangeError);
    assert.throws(() => findTOTPDrift(empty, '123456', 0), RangeError);
  });

  test('generateTOTP() rejects a time before T0', () => {
    assert.throws(() => generateTOTP(keys.SHA1, 0, { t0InSeconds: 1 }), { name: 'RangeError', message: 'Time must not be before T0' });
  });
});

describe('verifyTOTP()', () => {
  const key = keys.SHA1;
  const T = 1_700_000_000_000; // server time, ms
  const step = getTOTPStep(T);
  const codeAtStep = (s: number): string => generateTOTP(key, s * 30_000);

  test('verifyTOTP() accepts T−1, T and T+1 and returns the matched step', () => {
    assert.equal(verifyTOTP(key, codeAtStep(step - 1), T), step - 1);
    assert.equal(verifyTOTP(key, codeAtStep(step), T), step);
    assert.equal(verifyTOTP(key, codeAtStep(step + 1), T), step + 1);
  });

  test('verifyTOTP() rejects T−2 and T+2', () => {
    assert.equal(verifyTOTP(key, codeAtStep(step - 2), T), null);
    assert.equal(verifyTOTP(key, codeAtStep(step + 2), T), null);
  });

  test('verifyTOTP() with window 0 accepts only the current step', () => {
    assert.equal(verifyTOTP(key, codeAtStep(step), T, { window: 0 }), step);
    assert.equal(verifyTOTP(key, codeAtStep(step - 1), T, { window: 0 }), null);
  });

  test('verifyTOTP() with window 2 accepts T−2', () => {
    assert.equal(verifyTOTP(key, codeAtStep(step - 2), T, { window: 2 }), step - 2);
  });

  test('verifyTOTP() afterStep: a step at or before it is never accepted again', () => {
    const code = codeAtStep(step);
    const accepted = verifyTOTP(key, code, T);
    assert.equal(accepted, step);
    assert.equal(verifyTOTP(key, code, T, { afterStep: accepted }), null);
    assert.equal(verifyTOTP(key, code, T + 25_000, { afterStep: accepted }), null);
    assert.equal(verifyTOTP(key, codeAtStep(step - 1), T, { afterStep: accepted }), null);
    assert.equal(verifyTOTP(key, codeAtStep(step + 1), T, { afterStep: accepted }), step + 1);
  });

  test('verifyTOTP() computes no HMAC when afterStep excludes the whole window', () => {
    assert.equal(verifyTOTP(unusableKey, '123456', T, { afterStep: step + 1 }), null);
  });

  test('verifyTOTP() rejects a 5-digit code, a 7-digit code and non-digits before any HMAC', () => {
    for (const code of ['12345', '1234567', '12345a', '123 45', '']) {
      assert.equal(verifyTOTP(unusableKey, code, T), null);
    }
    assert.equal(verifyTOTP(key, codeAtStep(step).slice(1), T), null);
  });

  test('verifyTOTP() does not compute steps before T0', () => {
    // At T0 the window would include step −1; a code from it cannot exist, and nothing throws.
    assert.equal(verifyTOTP(key, generateTOTP(key, 0), 0), 0);
    assert.equal(verifyTOTP(key, generateTOTP(key, 10_000, { t0InSeconds: 5 }), 5_000, { t0InSeconds: 5 }), 0);
    assert.equal(verifyTOTP(unusableKey, '123456', 0, { t0InSeconds: 100 }), null);
  });

  test('verifyTOTP() rejects an out-of-range window or afterStep', () => {
    assert.throws(() => verifyTOTP(key, '123456', T, { window: 11 }), RangeError);
    assert.throws(() => verifyTOTP(key, '123456', T, { window: -1 }), RangeError);
    assert.throws(() => verifyTOTP(key, '123456', T, { afterStep: 1.5 }), RangeError);
  });

  test('verifyTOTP() honours algorithm, digits, period and T0', () => {
    const options = { algorithm: 'SHA512', digits: 10, periodInSeconds: 60, t0InSeconds: 1_000 } as const;
    const code = generateTOTP(keys.SHA512, T - 60_000, options);
    assert.equal(verifyTOTP(keys.SHA512, code, T, options), getTOTPStep(T, options) - 1);
    assert.equal(verifyTOTP(keys.SHA512, code, T, { ...options, t0InSeconds: 0 }), null);
  });
});

describe('findTOTPDrift()', () => {
  const key = keys.SHA1;
  const T = 1_700_000_000_000;

  test('findTOTPDrift() returns -8 for a code four minutes old', () => {
    const code = generateTOTP(key, T - 4 * 60_000);
    assert.equal(verifyTOTP(key, code, T), null);
    assert.equal(findTOTPDrift(key, code, T), -8);
  });

  test('findTOTPDrift() returns a positive offset for a device ahead', () => {
    assert.equal(findTOTPDrift(key, generateTOTP(key, T + 20 * 30_000), T), 20);
  });

  test('findTOTPDrift() returns null beyond ±20 steps', () => {
    assert.equal(findTOTPDrift(key, generateTOTP(key, T - 21 * 30_000), T), null);
    assert.equal(findTOTPDrift(key, generateTOTP(key, T + 21 * 30_000), T), null);
    assert.equal(findTOTPDrift(key, generateTOTP(key, T - 21 * 30_000), T, { maxSteps: 21 }), -21);
  });

  test('findTOTPDrift() rejects a malformed code and an out-of-range maxSteps', () => {
    assert.equal(findTOTPDrift(unusableKey, '12345', T), null);
    assert.throws(() => findTOTPDrift(key, '123456', T, { maxSteps: 101 }), RangeError);
  });
});
