/**
 * Finding 20: last_seen_at is written at most every 30 s, so the idle check must allow for
 * that interval: a session never ends earlier than OTPGATE_SESSION_IDLE after its last request.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, makeEngine } from '../support/engine.ts';

const IDLE_SECONDS = 120;

async function signedUp() {
  const e = await makeEngine({ sessionIdleSeconds: IDLE_SECONDS });
  const result = await e.auth.signup({ username: 'ivy', password: 'marigold-teapot-58' }, client);
  assert.equal(result.status, 'ok');
  if (result.status !== 'ok') throw new Error('sign-up failed');
  return { e, token: result.session.token, userId: result.user.id };
}

describe('finding 20: the idle check allows for the 30-s write interval', () => {
  it('finding 20: a session used 29 s after its last write is still valid just under the idle limit after that use, and ends soon after it', async () => {
    const { e, token } = await signedUp();
    e.advance(29_000); // a request that does not write last_seen_at (under 30 s)
    assert.ok(await e.auth.validateSession(token));
    const lastRequest = e.now();
    e.setNow(lastRequest + IDLE_SECONDS * 1000 - 1_000);
    assert.ok(await e.auth.validateSession(token), 'idle for less than OTPGATE_SESSION_IDLE: still signed in');
    // That check wrote last_seen_at; idle for the limit plus the write interval, it ends.
    e.advance(IDLE_SECONDS * 1000 + 30_000);
    assert.equal(await e.auth.validateSession(token), null);
    await e.close();
  });

  it('finding 20: the sweep does not delete a session idle for less than the limit since its last request', async () => {
    const { e, token, userId } = await signedUp();
    e.advance(29_000);
    assert.ok(await e.auth.validateSession(token));
    const lastRequest = e.now();
    e.setNow(lastRequest + IDLE_SECONDS * 1000 - 1_000);
    // The sweeper's own sweep (startSweeper runs the same one), awaited.
    await e.auth.sweep();
    // The row itself, not validateSession, which has its own idle check.
    assert.equal((await e.store.listSessions(userId)).length, 1, 'the sweep left the session alone');
    await e.close();
  });

  it('finding 20: the session list shows a session idle for less than the limit since its last request', async () => {
    const { e, token } = await signedUp();
    e.advance(29_000);
    const session = await e.auth.validateSession(token);
    assert.ok(session);
    e.setNow(e.now() + IDLE_SECONDS * 1000 - 1_000);
    assert.equal((await e.auth.listSessions(session)).length, 1);
    await e.close();
  });
});
