/**
 * Store behaviour added with migration 4: devices, unlock links of the password lock,
 * the credential version, and the sign-in write that re-checks it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Device, PendingLogin, Session } from '../../src/auth/index.ts';
import { openSQLiteStore } from '../../src/store/sqlite.ts';

const NOW = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

async function withUser() {
  const store = await openSQLiteStore(':memory:');
  const user = await store.createUser({ id: 'u1', username: 'alice', email: null, phone: null, passwordHash: 'hash-1', createdAt: NOW });
  assert.ok(user);
  return { store, user };
}

const device = (id: string, userId = 'u1', lastUsedAt = NOW): Device => ({ id, tokenHash: `hash-of-${id}`, userId, ip: '192.0.2.1', userAgent: 'agent', createdAt: NOW, lastUsedAt });
const session = (tokenHash: string): Session => ({ tokenHash, id: `id-${tokenHash}`, userId: 'u1', level: 1, ip: '192.0.2.1', userAgent: 'agent', createdAt: NOW, lastSeenAt: NOW, expiresAt: NOW + DAY });
const pending = (idHash: string): PendingLogin => ({
  idHash, userId: 'u1', methods: ['totp'], attempts: 0, sends: 0, lastSentAt: null, codeHash: null, codeChannel: null, codeExpiresAt: null,
  ip: '192.0.2.1', userAgent: 'agent', createdAt: NOW, expiresAt: NOW + DAY,
});

describe('Store: devices', () => {
  it('createDevice(), getDevice(), touchDevice(), listDevices() and deleteDeviceById() of the right user only', async () => {
    const { store } = await withUser();
    await store.createUser({ id: 'u2', username: 'bob', email: null, phone: null, passwordHash: 'h', createdAt: NOW });
    await store.createDevice(device('d1'));
    await store.createDevice(device('d2', 'u2'));
    assert.deepEqual(await store.getDevice('hash-of-d1'), device('d1'));
    assert.equal(await store.getDevice('nope'), null);
    await store.touchDevice('hash-of-d1', NOW + 5);
    assert.deepEqual((await store.listDevices('u1')).map((d) => [d.id, d.lastUsedAt]), [['d1', NOW + 5]]);
    assert.equal(await store.deleteDeviceById('u1', 'd2'), false, "another user's device");
    assert.equal(await store.deleteDeviceById('u1', 'd1'), true);
    assert.equal(await store.getDevice('hash-of-d1'), null);
    assert.ok(await store.getDevice('hash-of-d2'));
  });

  it('updateUserAndEndSessions() and resetSecondFactors() delete the devices and bump the credential version', async () => {
    const { store, user } = await withUser();
    assert.equal(user.credentialVersion, 0);
    await store.createDevice(device('d1'));
    await store.updateUserAndEndSessions('u1', { passwordHash: 'hash-2' });
    assert.equal(await store.getDevice('hash-of-d1'), null);
    assert.equal((await store.getUserById('u1'))?.credentialVersion, 1);
    await store.createDevice(device('d2'));
    await store.resetSecondFactors('u1');
    assert.equal(await store.getDevice('hash-of-d2'), null);
    assert.equal((await store.getUserById('u1'))?.credentialVersion, 2);
    await store.updateUser('u1', { email: 'a@example.test' });
    assert.equal((await store.getUserById('u1'))?.credentialVersion, 2, 'other changes leave it alone');
  });

  it('sweep() forgets devices unused for a year', async () => {
    const { store } = await withUser();
    await store.createDevice(device('old', 'u1', NOW - 366 * DAY));
    await store.createDevice(device('recent', 'u1', NOW - 10 * DAY));
    await store.sweep(NOW, 3600_000);
    assert.deepEqual((await store.listDevices('u1')).map((d) => d.id), ['recent']);
  });
});

describe('Store: unlock links', () => {
  it('consumePasswordUnlock() answers the user once, never after expiry; deletePasswordUnlocks() voids the rest', async () => {
    const { store } = await withUser();
    await store.putPasswordUnlock({ tokenHash: 't1', userId: 'u1', createdAt: NOW, expiresAt: NOW + DAY });
    await store.putPasswordUnlock({ tokenHash: 't2', userId: 'u1', createdAt: NOW, expiresAt: NOW + DAY });
    await store.putPasswordUnlock({ tokenHash: 't3', userId: 'u1', createdAt: NOW, expiresAt: NOW + 10 });
    const results = await Promise.all([store.consumePasswordUnlock('t1', NOW), store.consumePasswordUnlock('t1', NOW)]);
    assert.deepEqual(results.sort(), ['u1', null].sort());
    assert.equal(await store.consumePasswordUnlock('t3', NOW + 10), null, 'expired');
    await store.deletePasswordUnlocks('u1');
    assert.equal(await store.consumePasswordUnlock('t2', NOW), null);
  });
});

describe('Store: recordPasswordSuccess() with expect', () => {
  it('writes the pending login, session and rehash only while the user is enabled and its version unchanged', async () => {
    const { store } = await withUser();
    const expect = { userId: 'u1', credentialVersion: 0 };
    assert.equal(await store.recordPasswordSuccess({ resetKey: 'k', pending: pending('p1'), session: session('s1'), events: [], expect, rehash: 'hash-new' }), true);
    assert.ok(await store.getPendingLogin('p1', NOW));
    assert.ok(await store.getSession('s1'));
    assert.equal((await store.getUserById('u1'))?.passwordHash, 'hash-new');

    await store.updateUserAndEndSessions('u1', { passwordHash: 'hash-changed' });
    await store.claimAttempt('k', NOW, { freeAttempts: 5, baseDelayMs: 1, maxDelayMs: 1, lockAt: null, forgetAfterMs: null });
    assert.equal(await store.recordPasswordSuccess({ resetKey: 'k', pending: pending('p2'), session: session('s2'), events: [], expect, rehash: 'hash-old' }), false);
    assert.equal(await store.getPendingLogin('p2', NOW), null);
    assert.equal(await store.getSession('s2'), null);
    assert.equal((await store.getUserById('u1'))?.passwordHash, 'hash-changed', 'the rehash of the old password is not written');
    assert.equal(await store.getAttemptCount('k'), 1, 'nothing reset');

    await store.updateUser('u1', { disabled: true });
    assert.equal(await store.recordPasswordSuccess({ resetKey: 'k', pending: pending('p3'), events: [], expect: { userId: 'u1', credentialVersion: 1 } }), false);
  });
});

describe('Store: a lock is kept until reset', () => {
  it('claimAttempt() that reaches lockAt is not forgotten with time', async () => {
    const { store } = await withUser();
    const policy = { freeAttempts: 100, baseDelayMs: 1, maxDelayMs: 1, lockAt: 3, forgetAfterMs: DAY };
    for (let i = 0; i < 3; i++) assert.equal((await store.claimAttempt('name', NOW, policy)).ok, true);
    assert.deepEqual(await store.claimAttempt('name', NOW + 2 * DAY, policy), { ok: false, locked: true, retryAfterMs: 0, count: 3 });
    await store.sweep(NOW + 2 * DAY, 3600_000);
    assert.equal(await store.getAttemptCount('name', NOW + 2 * DAY), 3);
    await store.resetAttempts('name');
    assert.equal((await store.claimAttempt('name', NOW + 2 * DAY, policy)).ok, true);
  });
});
