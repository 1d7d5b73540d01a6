import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateSecret } from './secret.ts';

test('generateSecret() returns 20 bytes by default, and 50 secrets are distinct', () => {
  const secrets = Array.from({ length: 50 }, () => generateSecret());
  for (const secret of secrets) {
    assert.ok(secret instanceof Uint8Array);
    assert.equal(secret.byteLength, 20);
    // Its own memory, not a window on a shared pool that could hold other data.
    assert.equal(secret.buffer.byteLength, 20);
  }
  assert.equal(new Set(secrets.map((secret) => Buffer.from(secret).toString('hex'))).size, 50);
});

test('generateSecret() honours a requested length', () => {
  assert.equal(generateSecret(16).byteLength, 16);
  assert.equal(generateSecret(64).byteLength, 64);
});

test('generateSecret() rejects fewer than 16 bytes', () => {
  assert.throws(() => generateSecret(15), { name: 'RangeError', message: 'Secret length must be between 16 and 128 bytes' });
  assert.throws(() => generateSecret(0), RangeError);
  assert.throws(() => generateSecret(20.5), RangeError);
  assert.throws(() => generateSecret(129), RangeError);
});
