import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeBase32, encodeBase32 } from './base32.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

// RFC 4648 §10.
const RFC_4648_VECTORS: [string, string][] = [
  ['', ''],
  ['f', 'MY======'],
  ['fo', 'MZXQ===='],
  ['foo', 'MZXW6==='],
  ['foob', 'MZXW6YQ='],
  ['fooba', 'MZXW6YTB'],
  ['foobar', 'MZXW6YTBOI======'],
];

describe('RFC 4648 §10', () => {
  for (const [plain, encoded] of RFC_4648_VECTORS) {
    test(`encodeBase32() encodes '${plain}' as '${encoded}'`, () => {
      assert.equal(encodeBase32(bytes(plain)), encoded);
      assert.equal(encodeBase32(bytes(plain), { padding: false }), encoded.replace(/=+$/, ''));
    });
    test(`decodeBase32() decodes '${encoded}' as '${plain}'`, () => {
      assert.deepEqual(decodeBase32(encoded), bytes(plain));
      assert.deepEqual(decodeBase32(encoded.replace(/=+$/, '')), bytes(plain));
    });
  }
});

describe('decodeBase32() leniency', () => {
  test('decodeBase32() accepts lower case', () => {
    assert.deepEqual(decodeBase32('mzxw6ytboi'), bytes('foobar'));
  });
  test('decodeBase32() ignores spaces, hyphens and other white space', () => {
    assert.deepEqual(decodeBase32('MZXW 6YTB OI'), bytes('foobar'));
    assert.deepEqual(decodeBase32('mzxw-6ytb-oi'), bytes('foobar'));
    assert.deepEqual(decodeBase32(' MZXW\u00a06YTB\tOI\n'), bytes('foobar'));
    assert.deepEqual(decodeBase32('MZXW6YTBOI====== '), bytes('foobar'));
  });
  test('decodeBase32() accepts missing padding', () => {
    assert.deepEqual(decodeBase32('MZXW6YQ'), bytes('foob'));
  });
  test('decodeBase32() returns a plain Uint8Array of the exact length', () => {
    const decoded = decodeBase32('MZXW6');
    assert.equal(decoded.byteLength, 3);
    assert.equal(decoded.buffer.byteLength, 3);
  });
});

describe('decodeBase32() strictness', () => {
  test('decodeBase32() names a character outside the alphabet and its position', () => {
    assert.throws(() => decodeBase32('MZXW1YTB'), { name: 'TypeError', message: "Invalid base32 character '1' at position 4" });
    assert.throws(() => decodeBase32('MZXW8YTB'), { name: 'TypeError', message: "Invalid base32 character '8' at position 4" });
    assert.throws(() => decodeBase32('0ZXW6YTB'), { name: 'TypeError', message: "Invalid base32 character '0' at position 0" });
    assert.throws(() => decodeBase32('MZ_W6YTB'), /'_' at position 2/);
    assert.throws(() => decodeBase32('MZXW6YTÉ'), /'É' at position 7/);
  });
  test("decodeBase32() rejects '=' in the middle", () => {
    assert.throws(() => decodeBase32('MY======MZXQ===='), { name: 'TypeError', message: /padding '=' in the middle/ });
    assert.throws(() => decodeBase32('M=ZXW6YTB'), TypeError);
  });
  test('decodeBase32() rejects a length that cannot encode whole bytes', () => {
    for (const text of ['M', 'MZX', 'MZXW6Y', 'MZXW6YTBO']) {
      assert.throws(() => decodeBase32(text), { name: 'TypeError', message: /Invalid base32 length/ });
    }
  });
  test('decodeBase32() rejects the wrong amount of padding', () => {
    for (const text of ['MY=', 'MY=======', 'MZXW6YTB========', '=']) {
      assert.throws(() => decodeBase32(text), TypeError);
    }
  });
  test('decodeBase32() rejects non-zero trailing bits', () => {
    assert.throws(() => decodeBase32('MZ'), { name: 'TypeError', message: 'Invalid base32: non-zero trailing bits' });
    assert.throws(() => decodeBase32('MZXW6YR'), TypeError);
  });
});

test('decodeBase32() inverts encodeBase32() on random bytes, padded or not', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (data, padding) => {
      const text = encodeBase32(data, { padding });
      assert.match(text, padding ? /^(?:[A-Z2-7]{8})*(?:[A-Z2-7]{2}={6}|[A-Z2-7]{4}={4}|[A-Z2-7]{5}={3}|[A-Z2-7]{7}=)?$/ : /^[A-Z2-7]*$/);
      assert.deepEqual(decodeBase32(text), data);
      assert.deepEqual(decodeBase32(text.toLowerCase()), data);
    }),
    { numRuns: 2000 },
  );
});
