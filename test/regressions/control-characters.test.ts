/** Finding 19: terminal escapes reach the operator (emails, user agents, old rows). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeControls, normalizeEmail } from '../../src/auth/normalize.ts';
import { createConsoleSender } from '../../src/delivery/console.ts';
import { openSQLiteStore } from '../../src/store/sqlite.ts';
import { client, makeApp } from '../support/http.ts';
import { runCLI as run } from '../support/cli.ts';

const PASSWORD = 'marigold-teapot-58';
// ESC (C0), DEL, CSI as one C1 byte (U+009B), and a right-to-left override.
const NASTY = ['\u001b', '\u007f', '\u009b', '\u0085', '\u202e', '\u2067'];
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;


describe('finding 19: control characters', () => {
  it('finding 19: escapeControls() makes C0, DEL, C1 and bidi controls visible and leaves other text alone', () => {
    assert.equal(escapeControls('a\u001b[31mb'), 'a\\x1b[31mb');
    assert.equal(escapeControls('\u007f\u009b\u0085'), '\\x7f\\x9b\\x85');
    assert.equal(escapeControls('x\u202ey\u2066z\u200f'), 'x\\u202ey\\u2066z\\u200f');
    assert.equal(escapeControls('line\nnext\r\t'), 'line\\x0anext\\x0d\\x09');
    assert.equal(escapeControls('алиса 山田 émile +1 (555)'), 'алиса 山田 émile +1 (555)');
    for (const c of NASTY) assert.doesNotMatch(escapeControls(`a${c}b`), RAW);
  });

  it('finding 19: emails holding C0, DEL, C1 or bidi controls are refused at every entry point', async () => {
    for (const c of NASTY) {
      const result = normalizeEmail(`ali${c}ce@example.test`);
      assert.equal(result.ok, false, JSON.stringify(c));
    }
    const t = await makeApp();
    for (const c of NASTY) {
      const refused = await client(t.app).request('POST', '/api/signup', { username: 'ivy', password: PASSWORD, email: `iv${c}y@example.test` });
      assert.equal(refused.statusCode, 400, refused.body);
    }
    const viaCLI = await t.auth.createAccount({ username: 'ivy', password: PASSWORD, email: 'iv\u009by@example.test' });
    assert.equal(viaCLI.status, 'invalid_request');
    assert.equal((await t.store.listUsers()).length, 0);
  });

  it('finding 19: the console sender escapes the recipient, subject and body', async () => {
    const written: string[] = [];
    const sender = createConsoleSender((text) => written.push(text));
    await sender.send({ channel: 'email', kind: 'code', to: 'x\u001b]0;owned\u0007@example.test', subject: 'Code \u009b2J', text: 'your code\nfrom \u202eevil' });
    const out = written.join('');
    assert.doesNotMatch(out.replace(/\n/g, ''), RAW);
    assert.match(out, /\\x1b\]0;owned\\x07/);
    assert.match(out, /\\x9b2J/);
    assert.match(out, /\\u202eevil/);
  });

  it('finding 19: `otpgate user list` and `otpgate audit` print old rows and user agents escaped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-escapes-'));
    try {
      const env = { OTPGATE_DATA_DIR: dir };
      assert.equal((await run(['user', 'list'], env)).code, 0); // creates and migrates the database
      // An old row, written before emails were checked, and an audit row with a crafted user agent.
      const store = await openSQLiteStore(join(dir, 'otpgate.db'));
      await store.createUser({ id: 'u-old', username: 'old', email: 'o\u001b[2Jld\u009b@example.test', phone: null, passwordHash: 'x', createdAt: Date.now() });
      await store.appendAudit({ at: Date.now(), userId: 'u-old', type: 'password_refused', method: 'password', ip: '192.0.2.1', userAgent: 'curl\u009b31m\u007f\u202e', detail: null });
      await store.close();
      const listed = await run(['user', 'list'], env);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /o\\x1b\[2Jld\\x9b@example\.test/);
      assert.doesNotMatch(listed.stdout.replace(/[\n\t]/g, ''), RAW);
      const audit = await run(['audit'], env);
      assert.equal(audit.code, 0, audit.stderr);
      assert.match(audit.stdout, /curl\\x9b31m\\x7f\\u202e/);
      assert.doesNotMatch(audit.stdout.replace(/\n/g, ''), RAW);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
