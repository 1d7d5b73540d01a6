/** Store: one-time views (secrets shown once) and replacing a session's token. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openSQLiteStore } from '../../src/store/sqlite.ts';
import type { OneTimeView, Session, Store } from '../../src/auth/index.ts';
import { client, makeEngine } from '../support/engine.ts';

const NOW = Date.UTC(2026, 0, 1, 12);

async function withUser(): Promise<{ store: Store; userId: string }> {
  const store = await openSQLiteStore(':memory:');
  const user = await store.createUser({ id: 'u1', username: 'ivy', email: null, phone: null, passwordHash: '$argon2id$x', createdAt: NOW });
  assert.ok(user);
  return { store, userId: user.id };
}

function view(userId: string, extra: Partial<OneTimeView> = {}): OneTimeView {
  return { handleHash: 'h'.repeat(64), userId, sessionId: 's1', kind: 'recovery_codes', sealed: 'sealed', keyId: 'k1', expiresAt: NOW + 600_000, ...extra };
}

function session(userId: string, tokenHash: string, id: string): Session {
  return { tokenHash, id, userId, level: 2, ip: '192.0.2.1', userAgent: 'ua', createdAt: NOW, lastSeenAt: NOW, expiresAt: NOW + 86_400_000 };
}

describe('Store one-time views', () => {
  it('takeOneTimeView() returns the view once', async () => {
    const { store, userId } = await withUser();
    await store.putOneTimeView(view(userId));
    assert.deepEqual(await store.takeOneTimeView('h'.repeat(64), 's1', 'recovery_codes', NOW), view(userId));
    assert.equal(await store.takeOneTimeView('h'.repeat(64), 's1', 'recovery_codes', NOW), null);
    await store.close();
  });

  it('takeOneTimeView() finds nothing for another session or kind, and does not spend the view', async () => {
    const { store, userId } = await withUser();
    await store.putOneTimeView(view(userId));
    assert.equal(await store.takeOneTimeView('h'.repeat(64), 's2', 'recovery_codes', NOW), null);
    assert.equal(await store.takeOneTimeView('h'.repeat(64), 's1', 'totp_setup', NOW), null);
    assert.ok(await store.takeOneTimeView('h'.repeat(64), 's1', 'recovery_codes', NOW));
    await store.close();
  });

  it('takeOneTimeView() finds nothing once expired, and sweep() deletes expired views only', async () => {
    const { store, userId } = await withUser();
    await store.putOneTimeView(view(userId));
    await store.putOneTimeView(view(userId, { handleHash: 'g'.repeat(64), expiresAt: NOW + 1_200_000 }));
    assert.equal(await store.takeOneTimeView('h'.repeat(64), 's1', 'recovery_codes', NOW + 600_000), null);
    assert.equal(await store.sweep(NOW + 600_000, 3_600_000), 1);
    assert.ok(await store.takeOneTimeView('g'.repeat(64), 's1', 'recovery_codes', NOW + 600_000));
    await store.close();
  });

  it('one of concurrent takeOneTimeView() calls gets the view', async () => {
    const { store, userId } = await withUser();
    await store.putOneTimeView(view(userId));
    const results = await Promise.all(Array.from({ length: 8 }, () => store.takeOneTimeView('h'.repeat(64), 's1', 'recovery_codes', NOW)));
    assert.equal(results.filter((r) => r !== null).length, 1);
    await store.close();
  });
});

describe('Store replaceSession()', () => {
  it('swaps the token of a live session and refuses an ended one', async () => {
    const { store, userId } = await withUser();
    await store.createSession(session(userId, 'old', 'id-old'));
    assert.equal(await store.replaceSession('old', session(userId, 'new', 'id-new')), true);
    assert.equal(await store.getSession('old'), null);
    assert.equal((await store.getSession('new'))?.id, 'id-new');
    // The old one is gone: a second replacement (a concurrent request) writes nothing.
    assert.equal(await store.replaceSession('old', session(userId, 'other', 'id-other')), false);
    assert.equal(await store.getSession('other'), null);
    assert.equal((await store.listSessions(userId)).length, 1);
    await store.close();
  });
});

describe('one-time views at rest', () => {
  it('keeps recovery codes and the authenticator key sealed, never in plaintext, and only for their session', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-views-'));
    const path = join(dir, 'db.sqlite');
    const e = await makeEngine({ store: await openSQLiteStore(path) });
    const signed = await e.auth.signup({ username: 'ivy', password: 'marigold-teapot-58' }, client);
    assert.equal(signed.status, 'ok');
    if (signed.status !== 'ok') return;
    const own = signed.session.session;
    const codes = ['abcd-efgh-ijkl-mnop-qrst-uvwx', 'bcde-fghi-jklm-nopq-rstu-vwxy'];
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const codesHandle = await e.auth.holdForOneView(own, { kind: 'recovery_codes', codes, generatedAt: e.now(), firstFactor: false });
    const keyHandle = await e.auth.holdForOneView(own, { kind: 'totp_setup', factorId: 'f1', secret, otpauthURI: `otpauth://totp/x?secret=${secret}` });

    const db = new DatabaseSync(path, { readOnly: true });
    const dump = JSON.stringify(db.prepare('SELECT * FROM one_time_views').all());
    db.close();
    for (const value of [...codes, secret, codesHandle, keyHandle]) assert.ok(!dump.includes(value), 'no plaintext secret or handle at rest');

    const other = { ...own, id: 'another-session' };
    assert.equal(await e.auth.takeOneView(other, codesHandle, 'recovery_codes'), null);
    assert.equal(await e.auth.takeOneView(own, codesHandle, 'totp_setup'), null, 'a handle opens only its own kind');
    assert.deepEqual((await e.auth.takeOneView(own, codesHandle, 'recovery_codes'))?.codes, codes);
    assert.equal(await e.auth.takeOneView(own, codesHandle, 'recovery_codes'), null, 'spent');
    assert.equal((await e.auth.takeOneView(own, keyHandle, 'totp_setup'))?.secret, secret);
    await e.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a view expires after ten minutes', async () => {
    const e = await makeEngine();
    const signed = await e.auth.signup({ username: 'ivy', password: 'marigold-teapot-58' }, client);
    if (signed.status !== 'ok') return assert.fail();
    const handle = await e.auth.holdForOneView(signed.session.session, { kind: 'recovery_codes', codes: ['x'], generatedAt: e.now(), firstFactor: false });
    e.advance(10 * 60_000);
    assert.equal(await e.auth.takeOneView(signed.session.session, handle, 'recovery_codes'), null);
    await e.close();
  });
});
