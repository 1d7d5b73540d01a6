/** Finding 9: look-alike usernames and invisible characters in usernames and emails. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeEmail, normalizeUsername } from '../../src/auth/normalize.ts';
import { hashPassword } from '../../src/auth/password-hash.ts';
import { FAST_ARGON2 } from '../support/engine.ts';
import { client, makeApp } from '../support/http.ts';

const PASSWORD = 'marigold-teapot-58';

describe('finding 9: usernames must be one script (UTS #39 highly restrictive)', () => {
  it('finding 9: "аlice" (Cyrillic а + Latin) is refused with a clear message, at the API too', async () => {
    const result = normalizeUsername('\u0430lice');
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.reason, /mix(es)? (writing )?scripts/i);
    const t = await makeApp();
    const c = client(t.app);
    assert.equal((await c.request('POST', '/api/signup', { username: 'alice', password: PASSWORD })).statusCode, 201);
    const lookalike = await c.request('POST', '/api/signup', { username: '\u0430lice', password: PASSWORD });
    assert.equal(lookalike.statusCode, 400, lookalike.body);
    assert.match(c.json<{ message: string }>(lookalike).message, /scripts/);
    assert.equal((await t.store.listUsers()).length, 1);
  });

  it('finding 9: single-script names and the allowed East Asian mixes are accepted', () => {
    for (const name of ['алиса', 'alice', 'αλίκη', 'アリス', 'ありす', '山田taro', '山田たろう', 'kim민준', '王小明ㄅ', 'bob.smith_2', 'x@y.example']) {
      const result = normalizeUsername(name);
      assert.equal(result.ok, true, `${name}: ${result.ok ? '' : result.reason}`);
    }
  });

  it('finding 9: other mixes are refused (Greek + Latin, Cyrillic + Greek, Hangul + Hiragana)', () => {
    for (const name of ['p\u03bfst', 'алисα', '민준たろう', 'abc\u0561']) {
      assert.equal(normalizeUsername(name).ok, false, name);
    }
  });

  it('finding 9: bidi and format characters are refused in usernames, with a message naming them', () => {
    for (const name of ['ali\u202ece', 'ali\u200dce', 'ali\u2066ce', 'ali\u061cce', 'ali\u200fce', 'ali\ufeffce']) {
      const result = normalizeUsername(name);
      assert.equal(result.ok, false, JSON.stringify(name));
      assert.match(result.ok ? '' : result.reason, /invisible|formatting|direction/i, JSON.stringify(name));
    }
  });

  it('finding 9: bidi and format characters are refused in emails at sign-up', async () => {
    for (const email of ['ali\u202ece@example.test', 'alice@exa\u200bmple.test', 'al\u2067ice@example.test', '\u200ealice@example.test']) {
      assert.equal(normalizeEmail(email).ok, false, JSON.stringify(email));
    }
    const t = await makeApp();
    const c = client(t.app);
    const refused = await c.request('POST', '/api/signup', { username: 'ivy', password: PASSWORD, email: 'gro\u202eup@example.test' });
    assert.equal(refused.statusCode, 400, refused.body);
    assert.match(c.json<{ message: string }>(refused).message, /^Email/);
    assert.equal((await t.store.listUsers()).length, 0);
  });

  it('finding 9: an account stored before the rule (a mixed-script name) can still sign in; new ones cannot be made', async () => {
    const t = await makeApp();
    const passwordHash = await hashPassword(PASSWORD, FAST_ARGON2);
    await t.store.createUser({ id: 'u-old', username: '\u0430lice', email: null, phone: null, passwordHash, createdAt: t.now() });
    // Lookups only fold: the old row is found, and the sign-in goes on to enrollment.
    assert.deepEqual(normalizeUsername('\u0410LICE', { forLookup: true }), { ok: true, value: '\u0430lice' });
    assert.equal((await t.auth.startLogin('\u0430lice', PASSWORD, { ip: '192.0.2.1', userAgent: 'x' })).status, 'enrollment_required');
    assert.equal((await t.auth.createAccount({ username: '\u0430lice2', password: PASSWORD })).status, 'invalid_request');
  });
});
