import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import rfc4226 from '../../test/fixtures/rfc4226.json' with { type: 'json' };
import { generateHOTP, verifyHOTP } from './hotp.ts';
import { createOTPKey } from './key.ts';
import type { OTPKey } from './key.ts';

const secret = new TextEncoder().encode(rfc4226.secretASCII);
const key = createOTPKey(secret);
// A key createHmac would refuse: a function that returns instead of throwing never computed an HMAC.
const unusableKey = {} as unknown as OTPKey;

describe('RFC 4226 Appendix D', () => {
  test('fixture secret matches its hex form', () => {
    assert.equal(Buffer.from(secret).toString('hex'), rfc4226.secretHex);
  });
  for (const vector of rfc4226.vectors) {
    test(`generateHOTP() gives ${vector.hotp} at counter ${vector.counter}`, () => {
      assert.equal(createHmac('sha1', secret).update(Buffer.from([0, 0, 0, 0, 0, 0, 0, vector.counter])).digest('hex'), vector.hmacSHA1);
      assert.equal(generateHOTP(key, vector.counter), vector.hotp);
      assert.equal(generateHOTP(secret, vector.counter), vector.hotp);
      assert.equal(generateHOTP(key, BigInt(vector.counter)), vector.hotp);
      // 10 digits is the whole 31-bit truncated value, zero-padded.
      assert.equal(generateHOTP(key, vector.counter, { digits: 10 }), String(vector.truncatedDecimal).padStart(10, '0'));
      assert.equal(vector.truncatedDecimal, Number.parseInt(vector.truncatedHex, 16));
    });
  }
});

describe('generateHOTP()', () => {
  test('generateHOTP() agrees for a number and a bigint counter beyond 2^32', () => {
    for (const counter of [2 ** 32, 2 ** 32 + 1, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER]) {
      assert.equal(generateHOTP(key, counter), generateHOTP(key, BigInt(counter)));
    }
    assert.match(generateHOTP(key, (1n << 64n) - 1n), /^\d{6}$/);
  });

  test('generateHOTP() writes the counter as 8 bytes big-endian', () => {
    const counter = 0x0123_4567_89ab_cdefn;
    const digest = createHmac('sha1', secret).update(Buffer.from('0123456789abcdef', 'hex')).digest();
    const offset = digest.readUInt8(19) & 0x0f;
    const expected = String((digest.readUInt32BE(offset) & 0x7fff_ffff) % 1e8).padStart(8, '0');
    assert.equal(generateHOTP(key, counter, { digits: 8 }), expected);
  });

  test('generateHOTP() rejects a negative, fractional, unsafe or too large counter', () => {
    for (const counter of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1, -1n, 1n << 64n]) {
      assert.throws(() => generateHOTP(key, counter), RangeError);
    }
  });

  test('generateHOTP() rejects digits outside 6 to 10', () => {
    for (const digits of [5, 11, 6.5, 0]) {
      assert.throws(() => generateHOTP(key, 0, { digits }), { name: 'RangeError', message: 'Digits must be between 6 and 10' });
    }
  });

  test('generateHOTP() rejects an unknown algorithm', () => {
    assert.throws(() => generateHOTP(key, 0, { algorithm: 'MD5' as 'SHA1' }), TypeError);
  });

  test('createOTPKey() rejects an empty secret', () => {
    assert.throws(() => createOTPKey(new Uint8Array(0)), RangeError);
  });

  test('generateHOTP() and verifyHOTP() reject an empty key', () => {
    assert.throws(() => generateHOTP(new Uint8Array(0), 0), { name: 'RangeError', message: 'Key must not be empty' });
    assert.throws(() => verifyHOTP(new Uint8Array(0), '123456', 0), RangeError);
  });
});

describe('verifyHOTP()', () => {
  const counter = 3;
  const lookAhead = 4;
  const codeAt = (c: number): string => generateHOTP(key, c);

  test('verifyHOTP() returns the matched counter', () => {
    assert.equal(verifyHOTP(key, codeAt(3), 3), 3);
    assert.equal(verifyHOTP(secret, codeAt(3), 3), 3);
  });

  test('verifyHOTP() look-ahead: c+s passes, c+s+1 fails', () => {
    assert.equal(verifyHOTP(key, codeAt(counter + lookAhead), counter, { lookAhead }), counter + lookAhead);
    assert.equal(verifyHOTP(key, codeAt(counter + lookAhead + 1), counter, { lookAhead }), null);
  });

  test('verifyHOTP() never accepts a counter before c', () => {
    assert.equal(verifyHOTP(key, codeAt(counter - 1), counter, { lookAhead }), null);
  });

  test('verifyHOTP() returns a bigint when given a bigint counter', () => {
    assert.equal(verifyHOTP(key, codeAt(5), 3n, { lookAhead: 2 }), 5n);
  });

  test('verifyHOTP() works for counters beyond 2^32', () => {
    const high = 2 ** 33 + 7;
    assert.equal(verifyHOTP(key, generateHOTP(key, high + 1), high, { lookAhead: 1 }), high + 1);
  });

  test('verifyHOTP() rejects a look-ahead beyond 10', () => {
    assert.throws(() => verifyHOTP(key, '755224', 0, { lookAhead: 11 }), { name: 'RangeError', message: 'Look-ahead must be between 0 and 10' });
    assert.throws(() => verifyHOTP(key, '755224', 0, { lookAhead: -1 }), RangeError);
    assert.equal(verifyHOTP(key, codeAt(10), 0, { lookAhead: 10 }), 10);
  });

  test('verifyHOTP() rejects a code of the wrong length', () => {
    assert.equal(verifyHOTP(key, '55224', 0), null);
    assert.equal(verifyHOTP(key, '0755224', 0), null);
    assert.equal(verifyHOTP(key, '', 0), null);
  });

  test('verifyHOTP() rejects a code with non-digits', () => {
    for (const code of ['75522a', ' 55224', '755 24', '-55224', '+55224', '7552.4', '７５５２２４']) {
      assert.equal(verifyHOTP(key, code, 0), null);
    }
  });

  test('verifyHOTP() rejects a malformed code before computing any HMAC', () => {
    assert.equal(verifyHOTP(unusableKey, '12345', 0, { lookAhead: 10 }), null);
    assert.equal(verifyHOTP(unusableKey, '12345a', 0), null);
  });

  test('verifyHOTP() verifies 8-digit SHA-256 codes', () => {
    const options = { algorithm: 'SHA256', digits: 8 } as const;
    assert.equal(verifyHOTP(key, generateHOTP(key, 9, options), 8, { ...options, lookAhead: 1 }), 9);
    assert.equal(verifyHOTP(key, generateHOTP(key, 9, options), 8, { lookAhead: 1 }), null);
  });
});
