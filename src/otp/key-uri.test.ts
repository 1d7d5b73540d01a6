import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { HOTP, TOTP, URI } from 'otpauth';
import { encodeBase32 } from './base32.ts';
import { createKeyURI, parseKeyURI } from './key-uri.ts';
import type { KeyURIParams } from './key-uri.ts';

const secret = new TextEncoder().encode('12345678901234567890');
const secretBase32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

describe('createKeyURI()', () => {
  test('createKeyURI() writes the label, issuer and unpadded secret, and the defaults explicitly (period=30: SECURITY.md item 3)', () => {
    assert.equal(
      createKeyURI({ issuer: 'ACME Co', accountName: 'alice@example.com', secret }),
      `otpauth://totp/ACME%20Co:alice%40example.com?secret=${secretBase32}&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30`,
    );
    assert.equal(createKeyURI({ accountName: 'alice', secret, algorithm: 'SHA1', digits: 6, periodInSeconds: 30 }), `otpauth://totp/alice?secret=${secretBase32}&algorithm=SHA1&digits=6&period=30`);
  });

  test('createKeyURI() writes algorithm, digits and period when not the defaults', () => {
    const uri = createKeyURI({ accountName: 'alice', secret, algorithm: 'SHA256', digits: 8, periodInSeconds: 60 });
    assert.equal(uri, `otpauth://totp/alice?secret=${secretBase32}&algorithm=SHA256&digits=8&period=60`);
  });

  test('createKeyURI() always writes the counter for HOTP', () => {
    assert.equal(createKeyURI({ type: 'hotp', accountName: 'alice', secret }), `otpauth://hotp/alice?secret=${secretBase32}&algorithm=SHA1&digits=6&counter=0`);
    assert.equal(createKeyURI({ type: 'hotp', accountName: 'alice', secret, counter: 42 }), `otpauth://hotp/alice?secret=${secretBase32}&algorithm=SHA1&digits=6&counter=42`);
  });

  test('createKeyURI() percent-encodes reserved and non-ASCII characters', () => {
    const uri = createKeyURI({ issuer: 'Ünïcode & Co/1?', accountName: 'a b+c#d%e', secret });
    assert.ok(uri.startsWith('otpauth://totp/%C3%9Cn%C3%AFcode%20%26%20Co%2F1%3F:a%20b%2Bc%23d%25e?'));
  });

  test('createKeyURI() rejects misuse with a plain sentence', () => {
    const base: KeyURIParams = { accountName: 'alice', secret };
    assert.throws(() => createKeyURI({ ...base, issuer: 'A:B' }), { name: 'TypeError', message: 'Issuer must not contain a colon' });
    assert.throws(() => createKeyURI({ ...base, accountName: 'a:b' }), { name: 'TypeError', message: 'Account name must not contain a colon' });
    assert.throws(() => createKeyURI({ ...base, accountName: '' }), { name: 'TypeError', message: 'Account name must be a non-empty string' });
    assert.throws(() => createKeyURI({ ...base, accountName: ' alice' }), TypeError);
    assert.throws(() => createKeyURI({ ...base, issuer: '' }), TypeError);
    assert.throws(() => createKeyURI({ ...base, issuer: '\ud800' }), TypeError);
    assert.throws(() => createKeyURI({ ...base, secret: new Uint8Array(0) }), TypeError);
    assert.throws(() => createKeyURI({ ...base, digits: 5 }), RangeError);
    assert.throws(() => createKeyURI({ ...base, periodInSeconds: 0 }), RangeError);
    assert.throws(() => createKeyURI({ ...base, algorithm: 'MD5' as 'SHA1' }), TypeError);
    assert.throws(() => createKeyURI({ ...base, counter: 1 }), TypeError);
    assert.throws(() => createKeyURI({ ...base, type: 'hotp', periodInSeconds: 30 }), TypeError);
    assert.throws(() => createKeyURI({ ...base, type: 'hotp', counter: -1 }), RangeError);
  });
});

describe('parseKeyURI()', () => {
  test('parseKeyURI() reads a minimal TOTP URI with defaults', () => {
    assert.deepEqual(parseKeyURI(`otpauth://totp/alice?secret=${secretBase32}`), {
      type: 'totp',
      accountName: 'alice',
      secret,
      algorithm: 'SHA1',
      digits: 6,
      periodInSeconds: 30,
    });
  });

  test('parseKeyURI() reads the issuer from the label, the parameter or both', () => {
    assert.equal(parseKeyURI(`otpauth://totp/ACME%20Co:alice?secret=${secretBase32}`).issuer, 'ACME Co');
    assert.equal(parseKeyURI(`otpauth://totp/alice?secret=${secretBase32}&issuer=ACME%20Co`).issuer, 'ACME Co');
    const both = parseKeyURI(`otpauth://totp/ACME%20Co%3A%20%20alice?issuer=ACME%20Co&secret=${secretBase32.toLowerCase()}`);
    assert.equal(both.issuer, 'ACME Co');
    assert.equal(both.accountName, 'alice');
  });

  test('parseKeyURI() reads HOTP, algorithm, digits, period and padded secrets', () => {
    const hotp = parseKeyURI(`OTPAUTH://HOTP/alice?secret=${secretBase32}&counter=7&algorithm=sha512&digits=8`);
    assert.equal(hotp.type, 'hotp');
    assert.equal(hotp.counter, 7);
    assert.equal(hotp.algorithm, 'SHA512');
    assert.equal(hotp.digits, 8);
    assert.deepEqual(parseKeyURI('otpauth://totp/a?secret=MZXW6===&period=60').secret, new TextEncoder().encode('foo'));
    assert.equal(parseKeyURI('otpauth://totp/a?secret=MZXW6&period=60').periodInSeconds, 60);
  });

  const malformed: [string, string, RegExp][] = [
    ['a wrong scheme', `https://totp/alice?secret=${secretBase32}`, /must start with otpauth:\/\//],
    ['a wrong type', `otpauth://motp/alice?secret=${secretBase32}`, /type must be totp or hotp, not 'motp'/],
    ['no label', `otpauth://totp?secret=${secretBase32}`, /must have a label/],
    ['an empty account name', `otpauth://totp/ACME:?secret=${secretBase32}`, /must name an account/],
    ['a missing secret', 'otpauth://totp/alice?issuer=ACME', /secret is missing/],
    ['an empty secret', 'otpauth://totp/alice?secret=', /secret is missing/],
    ['an invalid secret', 'otpauth://totp/alice?secret=ABC1DEF', /secret is not valid base32: Invalid base32 character '1' at position 3/],
    ['digits 5', `otpauth://totp/alice?secret=${secretBase32}&digits=5`, /digits must be between 6 and 10/],
    ['digits 11', `otpauth://totp/alice?secret=${secretBase32}&digits=11`, /digits must be between 6 and 10/],
    ['non-numeric digits', `otpauth://totp/alice?secret=${secretBase32}&digits=six`, /digits must be a whole number/],
    ['period 0', `otpauth://totp/alice?secret=${secretBase32}&period=0`, /period must be at least 1 second/],
    ['a negative period', `otpauth://totp/alice?secret=${secretBase32}&period=-30`, /period must be a whole number/],
    ['a fractional period', `otpauth://totp/alice?secret=${secretBase32}&period=30.5`, /period must be a whole number/],
    ['an unknown algorithm', `otpauth://totp/alice?secret=${secretBase32}&algorithm=MD5`, /algorithm must be SHA1, SHA256 or SHA512/],
    ['an issuer mismatch', `otpauth://totp/ACME:alice?secret=${secretBase32}&issuer=Evil`, /issuer parameter 'Evil' does not match the label's issuer 'ACME'/],
    ['HOTP without a counter', `otpauth://hotp/alice?secret=${secretBase32}`, /counter is required for HOTP/],
    ['a duplicate parameter', `otpauth://totp/alice?secret=${secretBase32}&secret=${secretBase32}`, /more than one 'secret' parameter/],
    ['bad percent-encoding', `otpauth://totp/al%E0ice?secret=${secretBase32}`, /malformed percent-encoding/],
  ];
  for (const [what, uri, message] of malformed) {
    test(`parseKeyURI() rejects ${what}`, () => {
      assert.throws(() => parseKeyURI(uri), { name: 'TypeError', message });
    });
  }

  test('parseKeyURI() rejects a non-string', () => {
    assert.throws(() => parseKeyURI(42 as unknown as string), TypeError);
  });
});

const labelPart = fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).filter((text) => !text.includes(':') && text.isWellFormed());
const keyURIParams = fc.record(
  {
    issuer: labelPart,
    accountName: labelPart.filter((text) => !text.startsWith(' ')),
    secret: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    algorithm: fc.constantFrom('SHA1', 'SHA256', 'SHA512'),
    digits: fc.integer({ min: 6, max: 10 }),
    periodInSeconds: fc.integer({ min: 1, max: 600 }),
  },
  { requiredKeys: ['accountName', 'secret'] },
);

describe('key URI round trip', () => {
  test('parseKeyURI() inverts createKeyURI() for TOTP', () => {
    fc.assert(
      fc.property(keyURIParams, (params) => {
        const parsed = parseKeyURI(createKeyURI(params));
        const expected = { type: 'totp', accountName: params.accountName, secret: params.secret, algorithm: params.algorithm ?? 'SHA1', digits: params.digits ?? 6, periodInSeconds: params.periodInSeconds ?? 30 };
        assert.deepEqual(parsed, params.issuer === undefined ? expected : { ...expected, issuer: params.issuer });
      }),
      { numRuns: 500 },
    );
  });

  test('parseKeyURI() inverts createKeyURI() for HOTP', () => {
    fc.assert(
      fc.property(keyURIParams, fc.nat({ max: Number.MAX_SAFE_INTEGER }), ({ periodInSeconds: _, ...params }, counter) => {
        const parsed = parseKeyURI(createKeyURI({ ...params, type: 'hotp', counter }));
        assert.equal(parsed.type, 'hotp');
        assert.equal(parsed.counter, counter);
        assert.equal(parsed.accountName, params.accountName);
        assert.equal(parsed.issuer, params.issuer);
        assert.deepEqual(parsed.secret, params.secret);
      }),
      { numRuns: 200 },
    );
  });

  test("createKeyURI() output is accepted by otpauth's URI parser", () => {
    fc.assert(
      fc.property(keyURIParams, (params) => {
        const otp = URI.parse(createKeyURI(params));
        assert.ok(otp instanceof TOTP);
        assert.equal(otp.label, params.accountName);
        assert.equal(otp.issuer, params.issuer ?? '');
        assert.equal(otp.secret.base32, encodeBase32(params.secret, { padding: false }));
        assert.equal(otp.algorithm, params.algorithm ?? 'SHA1');
        assert.equal(otp.digits, params.digits ?? 6);
        assert.equal(otp.period, params.periodInSeconds ?? 30);
      }),
      { numRuns: 300 },
    );
    const hotp = URI.parse(createKeyURI({ type: 'hotp', issuer: 'ACME', accountName: 'alice', secret, counter: 9 }));
    assert.ok(hotp instanceof HOTP);
    assert.equal(hotp.counter, 9);
  });
});
