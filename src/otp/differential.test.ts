// Differential and property tests: otpgate against the otpauth package on random input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HOTP, Secret, TOTP } from 'otpauth';
import { generateHOTP } from './hotp.ts';
import { createOTPKey } from './key.ts';
import { generateTOTP, getTOTPStep, verifyTOTP } from './totp.ts';

const toSecret = (bytes: Uint8Array): Secret => new Secret({ buffer: Uint8Array.from(bytes).buffer });

const totpCase = fc.record({
  secret: fc.uint8Array({ minLength: 16, maxLength: 64 }),
  // Up to 2^36 s (year ~4147): steps well beyond 32 bits, within otpauth's exact arithmetic.
  nowInMilliseconds: fc.integer({ min: 0, max: 2 ** 36 * 1000 }),
  algorithm: fc.constantFrom('SHA1', 'SHA256', 'SHA512'),
  // otpauth reduces the 31-bit value modulo 10^digits too, so 9 and 10 digits agree as well.
  digits: fc.integer({ min: 6, max: 10 }),
  periodInSeconds: fc.integer({ min: 15, max: 120 }),
  t0InSeconds: fc.integer({ min: 0, max: 2 ** 31 }),
});

test('generateTOTP() agrees with otpauth on 10,000 random cases', () => {
  fc.assert(
    fc.property(totpCase, ({ secret, nowInMilliseconds, algorithm, digits, periodInSeconds, t0InSeconds }) => {
      // otpauth has no T0: shift the time instead (RFC 6238 §4.2: T = (now − T0) / X).
      const now = nowInMilliseconds + t0InSeconds * 1000;
      const ours = generateTOTP(createOTPKey(secret), now, { algorithm, digits, periodInSeconds, t0InSeconds });
      const theirs = TOTP.generate({ secret: toSecret(secret), algorithm, digits, period: periodInSeconds, timestamp: nowInMilliseconds });
      assert.equal(ours, theirs);
      assert.equal(generateTOTP(secret, now, { algorithm, digits, periodInSeconds, t0InSeconds }), ours);
    }),
    { numRuns: 10_000 },
  );
});

test('generateHOTP() agrees with otpauth on random counters up to 2^53', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 64 }),
      fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      fc.constantFrom('SHA1', 'SHA256', 'SHA512'),
      fc.integer({ min: 6, max: 10 }),
      (secret, counter, algorithm, digits) => {
        const ours = generateHOTP(secret, counter, { algorithm, digits });
        assert.equal(ours, HOTP.generate({ secret: toSecret(secret), algorithm, digits, counter }));
        assert.equal(generateHOTP(secret, BigInt(counter), { algorithm, digits }), ours);
      },
    ),
    { numRuns: 2_000 },
  );
});

test('verifyTOTP() accepts what generateTOTP() produced at the same time, returning its step', () => {
  fc.assert(
    fc.property(totpCase, ({ secret, nowInMilliseconds, algorithm, digits, periodInSeconds, t0InSeconds }) => {
      const options = { algorithm, digits, periodInSeconds, t0InSeconds };
      const now = nowInMilliseconds + t0InSeconds * 1000;
      const key = createOTPKey(secret);
      const code = generateTOTP(key, now, options);
      const step = getTOTPStep(now, options);
      // With the default window a 10^-digits collision at step + 1 could win, so only window 0 pins the step.
      assert.notEqual(verifyTOTP(key, code, now, options), null);
      assert.equal(verifyTOTP(key, code, now, { ...options, window: 0 }), step);
      assert.equal(verifyTOTP(key, code, now, { ...options, window: 0, afterStep: step }), null);
    }),
    { numRuns: 2_000 },
  );
});
