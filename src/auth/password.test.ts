import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { argon2Sync } from 'node:crypto';
import { checkNewPassword, commonPasswords } from './password-policy.ts';
import { DEFAULT_ARGON2, hashPassword, needsRehash, parsePasswordHash, verifyPassword } from './password-hash.ts';

const context = { username: 'dana', serviceName: 'otpgate' };

describe('checkNewPassword()', () => {
  it('refuses 7 code points and accepts 8; counts code points, not UTF-16 units', () => {
    assert.deepEqual(checkNewPassword('abcdxy7', context), { ok: false, reason: 'Password must be at least 8 characters' });
    assert.deepEqual(checkNewPassword('zq8!vm3k', context), { ok: true });
    assert.equal(checkNewPassword('🦊🦊🦊🦊🦊🦊🦊', context).ok, false, '7 emoji are 14 UTF-16 units but 7 characters');
  });

  it('accepts 256 code points and refuses 257', () => {
    const long = Array.from({ length: 256 }, (_, i) => String.fromCodePoint(0x4e00 + ((i * 37) % 997))).join('');
    assert.deepEqual(checkNewPassword(long, context), { ok: true });
    assert.equal(checkNewPassword(long + 'x', context).ok, false);
  });

  it('accepts a 64-character lowercase password with emoji and spaces, with no composition rules', () => {
    const pw = [...'the quick brown 🦊 jumps over the lazy dog by the riverbank at dawn today'].slice(0, 64).join('');
    assert.equal([...pw].length, 64);
    assert.deepEqual(checkNewPassword(pw, context), { ok: true });
  });

  it('refuses common passwords from a bundled list of at least 10,000 that fit the policy', () => {
    const fitting = [...commonPasswords()].filter((p) => [...p].length >= 8);
    assert.ok(fitting.length >= 10_000, `${fitting.length} common passwords of 8+ characters`);
    for (const pw of ['password1234', 'Password1234', 'qwertyuiop', 'iloveyou1']) {
      assert.deepEqual(checkNewPassword(pw, context), { ok: false, reason: 'This password is too common; choose another' }, pw);
    }
  });

  it('refuses passwords built from the username or the service name', () => {
    for (const pw of ['dana2024!', 'DANA-dana', 'anad!!!!', 'otpgate123', 'my-otpgate']) {
      assert.equal(checkNewPassword(pw, context).ok, false, pw);
    }
    assert.equal(checkNewPassword('dana went to the market', context).ok, true, 'a long phrase containing the name is fine');
  });

  it('refuses runs and repeats', () => {
    assert.equal(checkNewPassword('aaaaaaaaaa', context).ok, false);
    assert.equal(checkNewPassword('abcdefghij', context).ok, false);
  });
});

describe('hashPassword() / verifyPassword()', () => {
  it('makes argon2id PHC strings at m=19456, t=2, p=1 by default, with a 128-bit salt', async () => {
    const phc = await hashPassword('correct horse battery');
    assert.match(phc, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.deepEqual(parsePasswordHash(phc)?.params, DEFAULT_ARGON2);
    assert.notEqual(await hashPassword('correct horse battery'), phc, 'a fresh salt each time');
  });

  it('agrees with node:crypto argon2 (the fallback) on the same salt', async () => {
    const params = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
    const phc = await hashPassword('interop-check-1', params);
    const parsed = parsePasswordHash(phc);
    assert.ok(parsed);
    const expected = argon2Sync('argon2id', { message: 'interop-check-1', nonce: parsed.salt, parallelism: 1, tagLength: 32, memory: 1024, passes: 1 });
    assert.deepEqual(parsed.hash, expected);
  });

  it('neither truncates nor case-folds', async () => {
    const params = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
    const pw = 'Ab1-'.repeat(25); // 100 characters
    const phc = await hashPassword(pw, params);
    assert.equal(await verifyPassword(phc, pw), true);
    assert.equal(await verifyPassword(phc, pw.slice(0, 72)), false);
    assert.equal(await verifyPassword(phc, pw.toLowerCase()), false);
  });

  it('rejects malformed hashes and reports when parameters changed', async () => {
    assert.equal(await verifyPassword('$2b$10$abc', 'x'), false);
    const phc = await hashPassword('x'.repeat(8), { memoryCost: 1024, timeCost: 1, parallelism: 1 });
    assert.equal(needsRehash(phc), true);
    assert.equal(needsRehash(phc, { memoryCost: 1024, timeCost: 1, parallelism: 1 }), false);
  });
});
