/**
 * Store behaviour added for issue 12 findings 5, 6 and 10: recovery-code key ids, TOTP
 * re-sealing and key usage; counted audit refusals and their retention sweep; the shared
 * notification window.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent, Store } from '../../src/auth/ports.ts';
import { openSQLiteStore } from '../../src/store/sqlite.ts';

const NOW = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
  const store = await openSQLiteStore(':memory:');
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

async function user(store: Store, name = 'kim'): Promise<string> {
  const created = await store.createUser({ id: `id-${name}`, username: name, email: null, phone: null, passwordHash: '$argon2id$x', createdAt: NOW });
  assert.ok(created);
  return created.id;
}

const event = (at: number, extra: Partial<AuditEvent> = {}): AuditEvent => ({ at, userId: null, type: 'password_refused', method: 'password', ip: '192.0.2.1', userAgent: 'ua', detail: { reason: 'wrong_password' }, ...extra });

describe('Store: key ids of secrets and code hashes', () => {
  it('replaceRecoveryCodes() and addFirstRecoveryCodes() keep the key id beside the hashes; recoveryCodeKeyIds() lists those of unused codes', async () => {
    await withStore(async (store) => {
      const a = await user(store, 'a');
      const b = await user(store, 'b');
      await store.replaceRecoveryCodes(a, ['h1', 'h2'], NOW, 'key-one');
      assert.equal(await store.addFirstRecoveryCodes(b, ['h3'], NOW, 'key-two'), true);
      assert.deepEqual(await store.recoveryCodeKeyIds(a), ['key-one']);
      assert.deepEqual(await store.recoveryCodeKeyIds(b), ['key-two']);
      await store.replaceRecoveryCodes(a, ['h4'], NOW);
      assert.deepEqual(await store.recoveryCodeKeyIds(a), [null], 'no key id given: unrecorded');
      assert.equal(await store.useRecoveryCode(b, 'h3', NOW), true);
      assert.deepEqual(await store.recoveryCodeKeyIds(b), [], 'used codes depend on no key');
    });
  });

  it('resealTOTPFactor() writes only while the secret is still under the old key; keyUsage() counts per key id', async () => {
    await withStore(async (store) => {
      const id = await user(store);
      const factor = { id: 'f1', userId: id, label: 'Phone', encryptedSecret: 'sealed-a', keyId: 'key-a', confirmedAt: NOW, lastStep: null, createdAt: NOW, lastUsedAt: null };
      await store.insertTOTPFactor(factor);
      await store.insertTOTPFactor({ ...factor, id: 'f2' });
      await store.replaceRecoveryCodes(id, ['r1', 'r2', 'r3'], NOW, 'key-a');
      assert.equal(await store.resealTOTPFactor('f1', 'key-a', { keyId: 'key-b', encryptedSecret: 'sealed-b' }), true);
      assert.equal(await store.resealTOTPFactor('f1', 'key-a', { keyId: 'key-c', encryptedSecret: 'sealed-c' }), false, 'a second re-seal from the old key loses');
      const stored = await store.getTOTPFactor(id, 'f1');
      assert.deepEqual([stored?.keyId, stored?.encryptedSecret], ['key-b', 'sealed-b']);
      await store.useRecoveryCode(id, 'r1', NOW);
      const usage = new Map((await store.keyUsage()).map((u) => [u.keyId, [u.totpSecrets, u.recoveryCodes]]));
      assert.deepEqual(usage.get('key-a'), [1, 2]);
      assert.deepEqual(usage.get('key-b'), [1, 0]);
    });
  });
});

describe('Store: counted audit refusals and retention', () => {
  it('appendAudit() counts events with the same countKey in one row and keeps the others apart', async () => {
    await withStore(async (store) => {
      for (let i = 0; i < 3; i++) await store.appendAudit(event(NOW + i, { countKey: 'k1' }));
      await store.appendAudit(event(NOW + 5, { countKey: 'k2' }));
      await store.appendAudit(event(NOW + 6));
      await store.appendAudit(event(NOW + 7));
      const rows = await store.listAudit({ limit: 10 });
      assert.deepEqual(rows.map((r) => [r.count, r.at, r.lastAt]), [[undefined, NOW + 7, undefined], [undefined, NOW + 6, undefined], [1, NOW + 5, NOW + 5], [3, NOW, NOW + 2]]);
    });
  });

  it('sweep() with a retention deletes events whose last occurrence is older, and none without one', async () => {
    await withStore(async (store) => {
      await store.appendAudit(event(NOW));
      await store.appendAudit(event(NOW, { countKey: 'still-going' }));
      await store.appendAudit(event(NOW + 40 * DAY, { countKey: 'still-going' }));
      await store.appendAudit(event(NOW + 40 * DAY));
      const later = NOW + 60 * DAY;
      await store.sweep(later, 3_600_000);
      assert.equal((await store.listAudit({ limit: 10 })).length, 3, 'no retention given: nothing goes');
      assert.equal(await store.sweep(later, 3_600_000, 30 * DAY), 1);
      const left = await store.listAudit({ limit: 10 });
      assert.deepEqual(left.map((r) => [r.at, r.count ?? 1]), [[NOW + 40 * DAY, 1], [NOW, 2]], 'a counted row stays while its last occurrence is recent');
    });
  });
});

describe('Store: notification windows', () => {
  it('claimNotification() sends once per window per key and reports what it held back', async () => {
    await withStore(async (store) => {
      const window = 600_000;
      assert.deepEqual(await store.claimNotification('u:failed', NOW, window), { send: true, suppressed: 0, since: null });
      assert.deepEqual(await store.claimNotification('u:failed', NOW + 1000, window), { send: false });
      assert.deepEqual(await store.claimNotification('u:other', NOW + 1000, window), { send: true, suppressed: 0, since: null }, 'keys are independent');
      assert.deepEqual(await store.claimNotification('u:failed', NOW + window - 1, window), { send: false });
      assert.deepEqual(await store.claimNotification('u:failed', NOW + window, window), { send: true, suppressed: 2, since: NOW });
      assert.deepEqual(await store.claimNotification('u:failed', NOW + window + 1, window), { send: false });
    });
  });

  it('claimNotification() lets exactly one of many concurrent callers send', async () => {
    await withStore(async (store) => {
      const results = await Promise.all(Array.from({ length: 20 }, () => store.claimNotification('u:burst', NOW, 600_000)));
      assert.equal(results.filter((r) => r.send).length, 1);
    });
  });
});
