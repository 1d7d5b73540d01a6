/** Finding 20: logout ends the pending login on the server, not only its cookie. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, makeApp, ORIGIN } from '../support/http.ts';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';
import { COOKIE } from '../../src/http/cookies.ts';

const PASSWORD = 'marigold-teapot-58';
type App = Awaited<ReturnType<typeof makeApp>>;

async function enrolledSecret(t: App): Promise<Uint8Array> {
  const c = client(t.app);
  assert.equal((await c.request('POST', '/api/signup', { username: 'ivy', password: PASSWORD })).statusCode, 201);
  const begun = c.json<{ factor_id: string; secret: string }>(await c.request('POST', '/api/factors/totp', {}));
  const secret = decodeBase32(begun.secret);
  assert.equal((await c.request('POST', '/api/factors/totp/verify', { factor_id: begun.factor_id, code: generateTOTP(secret, t.now()) })).statusCode, 200);
  t.advance(30_000);
  return secret;
}

describe('finding 20: logout deletes the pending login', () => {
  it('finding 20: after POST /api/logout the pending-login id no longer completes a sign-in', async () => {
    const t = await makeApp();
    const secret = await enrolledSecret(t);
    const c = client(t.app);
    assert.equal(c.json<{ status: string }>(await c.request('POST', '/api/login', { username: 'ivy', password: PASSWORD })).status, 'otp_required');
    const pending = c.cookies.get(COOKIE.pending);
    assert.ok(pending);
    assert.equal((await c.request('POST', '/api/logout')).statusCode, 204);
    assert.equal(c.cookies.get(COOKIE.pending), undefined, 'the cookie is cleared');
    // Whoever kept the cookie's value (another tab, a copy) cannot finish the sign-in.
    c.cookies.set(COOKIE.pending, pending);
    const verified = await c.request('POST', '/api/login/verify', { method: 'totp', code: generateTOTP(secret, t.now()) });
    assert.equal(verified.statusCode, 401, verified.body);
    assert.equal(c.json<{ error: string }>(verified).error, 'login_expired');
    assert.equal(c.cookies.get(COOKIE.session), undefined, 'no session was issued');
  });

  it('finding 20: after POST /logout (the page) the pending-login id no longer completes a sign-in', async () => {
    const t = await makeApp();
    const secret = await enrolledSecret(t);
    const c = client(t.app);
    await c.request('POST', '/api/login', { username: 'ivy', password: PASSWORD });
    const pending = c.cookies.get(COOKIE.pending);
    assert.ok(pending);
    const page = await t.app.inject({ method: 'GET', url: '/login/otp', cookies: { [COOKIE.pending]: pending } });
    assert.equal(page.statusCode, 200);
    const csrfCookie = page.cookies.find((k) => k.name === COOKIE.csrf);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    assert.ok(csrfCookie && csrf);
    const out = await t.app.inject({
      method: 'POST',
      url: '/logout',
      headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      cookies: { [COOKIE.pending]: pending, [COOKIE.csrf]: csrfCookie.value },
      payload: new URLSearchParams({ _csrf: csrf }).toString(),
    });
    assert.equal(out.statusCode, 303, out.body);
    c.cookies.set(COOKIE.pending, pending);
    const verified = await c.request('POST', '/api/login/verify', { method: 'totp', code: generateTOTP(secret, t.now()) });
    assert.equal(verified.statusCode, 401, verified.body);
    assert.equal(c.json<{ error: string }>(verified).error, 'login_expired');
  });
});
