/**
 * SECURITY.md item 41: users can list and end sessions, with re-authentication; a
 * disabled account loses all its sessions; after a password change the other sessions end.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, makeApp } from '../support/http.ts';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';

const PASSWORD = 'harvest-lighthouse-26';
type App = Awaited<ReturnType<typeof makeApp>>;

async function enrolled(t: App) {
  const a = client(t.app, '192.0.2.41');
  assert.equal((await a.request('POST', '/api/signup', { username: 'ivy', password: PASSWORD })).statusCode, 201);
  const begun = a.json<{ factor_id: string; secret: string }>(await a.request('POST', '/api/factors/totp', { label: 'Phone' }));
  const secret = decodeBase32(begun.secret);
  assert.equal((await a.request('POST', '/api/factors/totp/verify', { factor_id: begun.factor_id, code: generateTOTP(secret, t.now()) })).statusCode, 200);
  t.advance(30_000);
  return { a, secret };
}

async function signedIn(t: App, secret: Uint8Array, ip: string) {
  const c = client(t.app, ip);
  assert.equal((await c.request('POST', '/api/login', { username: 'ivy', password: PASSWORD })).statusCode, 200);
  assert.equal((await c.request('POST', '/api/login/verify', { method: 'totp', code: generateTOTP(secret, t.now()) })).statusCode, 200);
  t.advance(30_000);
  return c;
}

describe('SECURITY.md item 41', () => {
  it('SECURITY.md item 41: the user lists sessions and ends session B (with fresh proof once stale); B dies', async () => {
    const t = await makeApp();
    const { secret } = await enrolled(t);
    const a = await signedIn(t, secret, '192.0.2.1');
    const b = await signedIn(t, secret, '192.0.2.2');
    const listed = a.json<{ sessions: Array<{ id: string; ip: string; current: boolean }> }>(await a.request('GET', '/api/sessions')).sessions;
    const sessionB = listed.find((s) => s.ip === '192.0.2.2' && !s.current) ?? assert.fail('B is not listed');
    t.advance(11 * 60_000);
    const refused = await a.request('DELETE', `/api/sessions/${sessionB.id}`);
    assert.equal(refused.statusCode, 401);
    assert.equal(a.json(refused).error, 'reauth_required');
    assert.equal((await b.request('GET', '/api/me')).statusCode, 200, 'B lives while the proof is missing');
    assert.equal((await a.request('DELETE', `/api/sessions/${sessionB.id}`, { password: PASSWORD })).statusCode, 204);
    assert.equal((await b.request('GET', '/api/me')).statusCode, 401, 'B died');
    assert.equal((await a.request('GET', '/api/me')).statusCode, 200);
  });

  it('SECURITY.md item 41: a disabled account loses all its sessions', async () => {
    const t = await makeApp();
    const { a, secret } = await enrolled(t);
    const b = await signedIn(t, secret, '192.0.2.2');
    const user = await t.store.getUserByUsername('ivy') ?? assert.fail();
    await t.auth.disableAccount(user.id);
    assert.equal((await a.request('GET', '/api/me')).statusCode, 401);
    assert.equal((await b.request('GET', '/api/me')).statusCode, 401);
    assert.equal((await t.store.listSessions(user.id)).length, 0);
  });

  it('SECURITY.md item 41: after a password change the other sessions end', async () => {
    const t = await makeApp();
    const { secret } = await enrolled(t);
    const a = await signedIn(t, secret, '192.0.2.1');
    const b = await signedIn(t, secret, '192.0.2.2');
    const changed = await a.request('POST', '/api/password', { current_password: PASSWORD, new_password: 'another-harvest-lamp-93' });
    assert.equal(changed.statusCode, 200, changed.body);
    assert.equal((await b.request('GET', '/api/me')).statusCode, 401);
    assert.equal((await a.request('GET', '/api/me')).statusCode, 200);
  });
});
