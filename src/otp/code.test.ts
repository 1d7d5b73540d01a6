import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeCode } from './code.ts';

test('normalizeCode() strips spaces and hyphens', () => {
  assert.equal(normalizeCode('123 456'), '123456');
  assert.equal(normalizeCode(' 123-456 '), '123456');
  assert.equal(normalizeCode('1 2 3 4 5 6 7 8'), '12345678');
});

test('normalizeCode() strips non-breaking, thin and other Unicode spaces and dashes', () => {
  assert.equal(normalizeCode('123\u00a0456'), '123456');
  assert.equal(normalizeCode('123\u2009456'), '123456');
  assert.equal(normalizeCode('123\u202f456\t'), '123456');
  assert.equal(normalizeCode('123\u2010456'), '123456');
  assert.equal(normalizeCode('123\u2011456'), '123456');
  assert.equal(normalizeCode('123\u2013456'), '123456');
  assert.equal(normalizeCode('123\u2212456'), '123456');
});

test('normalizeCode() maps full-width digits to ASCII and leaves every other character for the verifier to reject', () => {
  assert.equal(normalizeCode('12a.456'), '12a.456');
  assert.equal(normalizeCode('１２３456'), '123456');
  assert.equal(normalizeCode('١٢٣456'), '١٢٣456');
});

test('normalizeCode() rejects a non-string', () => {
  assert.throws(() => normalizeCode(123456 as unknown as string), TypeError);
});
