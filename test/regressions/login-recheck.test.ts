/**
 * Finding 14: disabling an account or changing its password did not stop a sign-in
 * already in progress: startLogin read the user, spent the hash time, then opened the
 * pending login or level-1 session without looking again; verifyLogin and
 * validateSession never checked `disabled`. The store below runs the operator's change
 * right after the login's read of the user: the change lands between the hash and the write.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Store, User } from '../../src/auth/index.ts';
import { hashPassword } from '../../src/auth/index.ts';
import { openSQLiteStore } from '../../src/store/sqlite.ts';
import { FAST_ARGON2, client, makeEngine } from '../support/engine.ts';
import { totpAccount } from '../support/totp-account.ts';
import { generateTOTP } from '../../src/otp/index.ts';

const PASSWORD = 'saffron-harbour-82';
const NEW_PASSWORD = 'velvet-cascade-owl-47';

/** A real store whose next getUserByUsername is followed, before it answers, by `change(user)`. */
async function storeWithChangeAfterRead() {
  const store = await openSQLiteStore(':memory:');
  let change: ((user: User) => Promise<unknown>) | null = null;
  const wrapped: Store = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'getUserByUsername') {
        return async (username: string) => {
          const user = await target.getUserByUsername(username);
          const pendingChange = change;
          change = null;
          if (user && pendingChange) await pendingChange(user);
          return user;
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: wrapped, afterNextRead: (fn: (user: User) => Promise<unknown>) => { change = fn; } };
}

async function countRows(store: Store, userId: string) {
  return { sessions: (await store.listSessions(userId)).length };
}

describe('finding 14: a sign-in in progress re-checks the account', () => {
  it('finding 14: an account disabled between the read and the write gets no pending login', async () => {
    const s = await storeWithChangeAfterRead();
    const e = await makeEngine({ store: s.store });
    const created = await e.auth.createAccount({ username: 'alice', password: PASSWORD, email: 'alice@example.test' });
    if (created.status !== 'ok') return assert.fail();
    s.afterNextRead((user) => e.auth.disableAccount(user.id));
    assert.deepEqual(await e.auth.startLogin('alice', PASSWORD, client), { status: 'invalid_credentials' });
    assert.equal(e.outbox.messages.filter((m) => m.kind === 'code').length, 0, 'no code was sent');
  });

  it('finding 14: an account disabled between the read and the write gets no level-1 session', async () => {
    const s = await storeWithChangeAfterRead();
    const e = await makeEngine({ store: s.store });
    const created = await e.auth.createAccount({ username: 'bob', password: PASSWORD });
    if (created.status !== 'ok') return assert.fail();
    s.afterNextRead((user) => e.auth.disableAccount(user.id));
    assert.deepEqual(await e.auth.startLogin('bob', PASSWORD, client), { status: 'invalid_credentials' });
    assert.deepEqual(await countRows(e.store, created.user.id), { sessions: 0 });
  });

  it('finding 14: the old password, checked while the password changes, opens nothing', async () => {
    const s = await storeWithChangeAfterRead();
    const e = await makeEngine({ store: s.store });
    const { user } = await totpAccount(e, 'carol', PASSWORD);
    const newHash = await hashPassword(NEW_PASSWORD, FAST_ARGON2);
    s.afterNextRead(() => e.store.updateUserAndEndSessions(user.id, { passwordHash: newHash }));
    assert.deepEqual(await e.auth.startLogin('carol', PASSWORD, client), { status: 'invalid_credentials' });
    assert.deepEqual(await countRows(e.store, user.id), { sessions: 0 });
    assert.equal((await e.auth.startLogin('carol', NEW_PASSWORD, client)).status, 'otp_required');
  });

  it('finding 14: a 2FA reset between the read and the write opens nothing', async () => {
    const s = await storeWithChangeAfterRead();
    const e = await makeEngine({ store: s.store });
    const { user } = await totpAccount(e, 'dan', PASSWORD);
    s.afterNextRead((u) => e.auth.resetSecondFactors(u));
    assert.deepEqual(await e.auth.startLogin('dan', PASSWORD, client), { status: 'invalid_credentials' });
    assert.deepEqual(await countRows(e.store, user.id), { sessions: 0 });
  });

  it('finding 14: verifyLogin and sendLoginCode refuse an account disabled without its rows being cleared', async () => {
    const e = await makeEngine();
    const { user, secret } = await totpAccount(e, 'erin', PASSWORD);
    await e.store.updateUser(user.id, { email: 'erin@example.test', emailVerifiedAt: e.now() });
    const started = await e.auth.startLogin('erin', PASSWORD, client);
    if (started.status !== 'otp_required') return assert.fail(JSON.stringify(started));
    // A direct write, as a second instance mid-change or a restored backup would leave it.
    await e.store.updateUser(user.id, { disabled: true });
    assert.deepEqual(await e.auth.sendLoginCode(started.pendingLoginId, 'email', client), { status: 'login_expired' });
    assert.deepEqual(await e.auth.verifyLogin(started.pendingLoginId, 'totp', generateTOTP(secret, e.now()), client), { status: 'login_expired' });
    assert.deepEqual(await countRows(e.store, user.id), { sessions: 1 }, 'only the enrollment session of totpAccount');
  });

  it('finding 14: validateSession refuses a session of a disabled account', async () => {
    const e = await makeEngine();
    const { user } = await totpAccount(e, 'fay', PASSWORD);
    const created = await e.auth.createAccount({ username: 'gus', password: PASSWORD });
    if (created.status !== 'ok') return assert.fail();
    const level1 = await e.auth.startLogin('gus', PASSWORD, client);
    if (level1.status !== 'enrollment_required') return assert.fail();
    assert.ok(await e.auth.validateSession(level1.session.token));
    await e.store.updateUser(created.user.id, { disabled: true });
    assert.equal(await e.auth.validateSession(level1.session.token), null);
    assert.ok(user);
  });
});
