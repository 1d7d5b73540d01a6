/** SECURITY.md item 25: the minimum password length is 8 (a second factor is mandatory). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, makeApp } from '../support/http.ts';
import { alertText, signup, startPages } from '../http/pages-browser.ts';

describe('SECURITY.md item 25', () => {
  it('SECURITY.md item 25: a 7-character password is rejected by the API, with a reason, and an 8-character one is not refused for length', async () => {
    const t = await makeApp();
    const c = client(t.app);
    const short = await c.request('POST', '/api/signup', { username: 'ivy', password: 'q7#kZp2' });
    assert.equal(short.statusCode, 400, short.body);
    const body = c.json<{ error: string; message: string }>(short);
    assert.equal(body.error, 'weak_password');
    assert.match(body.message, /8/);
    assert.equal((await t.store.listUsers()).length, 0);
    const eight = await c.request('POST', '/api/signup', { username: 'ivy', password: 'q7#kZp2w' });
    assert.equal(eight.statusCode, 201, eight.body);
  });

  it('SECURITY.md item 25: a 7-character password is rejected by the sign-up page, with a reason', async () => {
    const t = await startPages();
    try {
      const b = t.browser();
      const refused = await signup(b, { username: 'ivy', password: 'q7#kZp2' });
      assert.equal(refused.status, 400);
      assert.match(alertText(refused.body), /8/);
      assert.equal((await t.engine.store.listUsers()).length, 0);
    } finally {
      await t.close();
    }
  });
});
