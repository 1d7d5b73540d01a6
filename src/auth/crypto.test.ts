import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createKeyring, open, seal } from './keyring.ts';
import { canonicalRecoveryCode, generateRecoveryCodes } from './recovery-codes.ts';
import { generateNumericCode, generateToken, hashToken } from './tokens.ts';
import { normalizeEmail, normalizePhone, normalizeUsername } from './normalize.ts';

describe('seal() / open()', () => {
  it('round-trips under AES-256-GCM and refuses another context or altered data', () => {
    const ring = createKeyring(randomBytes(32));
    const secret = randomBytes(20);
    const { keyId, sealed } = seal(ring, secret, 'totp:u1:f1');
    assert.deepEqual(open(ring, keyId, sealed, 'totp:u1:f1'), secret);
    assert.throws(() => open(ring, keyId, sealed, 'totp:u2:f1'));
    const bytes = Buffer.from(sealed, 'base64url');
    bytes[14] = (bytes[14] ?? 0) ^ 1;
    assert.throws(() => open(ring, keyId, bytes.toString('base64url'), 'totp:u1:f1'));
  });

  it('opens secrets sealed under a previous key after rotation; seals new ones under the current key', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const before = seal(createKeyring(oldKey), Buffer.from('s1'), 'c');
    const rotated = createKeyring(newKey, [oldKey]);
    assert.deepEqual(open(rotated, before.keyId, before.sealed, 'c'), Buffer.from('s1'));
    assert.notEqual(seal(rotated, Buffer.from('s2'), 'c').keyId, before.keyId);
    assert.throws(() => open(createKeyring(newKey), before.keyId, before.sealed, 'c'), /No configured secret key has id/);
    assert.throws(() => createKeyring(randomBytes(16)), RangeError);
  });
});

describe('tokens and codes', () => {
  it('makes 1,000 distinct 256-bit tokens and hashes them with SHA-256', () => {
    const tokens = new Set(Array.from({ length: 1000 }, generateToken));
    assert.equal(tokens.size, 1000);
    for (const t of tokens) assert.equal(Buffer.from(t, 'base64url').length, 32);
    assert.match(hashToken('x'), /^[0-9a-f]{64}$/);
  });

  it('makes 6-digit codes spread over every digit position', () => {
    const counts = Array.from({ length: 6 }, () => new Array<number>(10).fill(0));
    for (let i = 0; i < 10_000; i++) {
      const code = generateNumericCode();
      assert.match(code, /^\d{6}$/);
      [...code].forEach((d, pos) => { const row = counts[pos]; if (row) row[Number(d)] = (row[Number(d)] ?? 0) + 1; });
    }
    // 1,000 expected per cell; 800..1200 is over 6 standard deviations wide.
    for (const row of counts) for (const c of row) assert.ok(c > 800 && c < 1200, String(c));
  });

  it('makes 10 distinct recovery codes of 120 bits and reads them back loosely', () => {
    const codes = generateRecoveryCodes();
    assert.equal(new Set(codes).size, 10);
    // SECURITY.md items 20 and 21: length × bits per character of the alphabet (32 symbols) ≥ 112.
    for (const code of codes) assert.ok(code.replaceAll('-', '').length * Math.log2(32) >= 112, code);
    const [first] = codes;
    assert.ok(first);
    assert.equal(canonicalRecoveryCode(` ${first.toUpperCase().replaceAll('-', ' ')} `), first.replaceAll('-', ''));
    assert.equal(canonicalRecoveryCode('abcd-efgh-ijkl-mnop-qrst-uvw1'), null, '1 is not base32');
    assert.equal(canonicalRecoveryCode('abcd-efgh-ijkl-mnop'), null, 'an 80-bit code of the old length');
  });
});

describe('normalisation', () => {
  it('folds usernames to one form and refuses odd ones', () => {
    assert.deepEqual(normalizeUsername('  ＡｌｉｃＥ '), { ok: true, value: 'alice' });
    assert.equal(normalizeUsername('al').ok, false);
    assert.equal(normalizeUsername('a'.repeat(65)).ok, false);
    assert.equal(normalizeUsername('ali ce').ok, false);
    assert.equal(normalizeUsername('ali\u0000ce').ok, false);
  });

  it('accepts E.164 numbers and plain addresses', () => {
    assert.deepEqual(normalizePhone('+44 (20) 7946-0958'), { ok: true, value: '+442079460958' });
    assert.equal(normalizePhone('020 7946 0958').ok, false);
    assert.equal(normalizePhone('+0123456789').ok, false);
    assert.deepEqual(normalizeEmail('Ann@Example.COM'), { ok: true, value: 'Ann@example.com' });
    assert.equal(normalizeEmail('ann@localhost').ok, false);
    assert.equal(normalizeEmail('a b@example.com').ok, false);
  });
});
