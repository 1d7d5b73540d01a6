/**
 * Issue 13, the forward-auth gate: the return URL (`rd`) after sign-in, and the rules
 * file's start-up check and SIGHUP reload on a real server process.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTOTP } from '../../src/otp/index.ts';
import type { KeyObject } from 'node:crypto';
import { formsOf, PASSWORD, recoveryCodesFrom, startPages, totpKeyFrom } from '../http/pages-browser.ts';
import type { Browser, Pages, Response } from '../http/pages-browser.ts';
import { startGate } from '../support/gate.ts';

const PORTAL = 'https://auth.example.com';
const ENV = { OTPGATE_PUBLIC_URL: PORTAL, OTPGATE_COOKIE_DOMAIN: 'example.com' };

/** Fills and posts the form of `page` with `action`, from the portal's own origin. */
function submit(b: Browser, page: Response, action: string, values: Record<string, string> = {}): Promise<Response> {
  const form = formsOf(page.body).find((f) => f.action === action);
  assert.ok(form, `no form ${action} on ${page.url}: ${page.status}`);
  return b.request('POST', action, { form: { ...form.fields, ...values }, headers: { origin: PORTAL } });
}

async function enrolled(t: Pages, b: Browser, username: string): Promise<KeyObject> {
  const signedUp = await submit(b, await b.get('/signup'), '/signup', { username, password: PASSWORD });
  assert.equal(signedUp.location, '/settings/totp');
  const qr = await b.follow(await submit(b, await b.get('/settings/totp'), '/settings/totp', { label: 'Phone' }));
  const key = totpKeyFrom(qr.body);
  const done = await b.follow(await submit(b, qr, '/settings/totp/confirm', { code: generateTOTP(key, t.engine.now()) }));
  assert.ok(recoveryCodesFrom(done.body).length > 0);
  return key;
}

/** Open the sign-in page with `rd`, password, code: where the browser is sent at the end. */
async function signInWith(t: Pages, b: Browser, username: string, key: KeyObject, rd: string): Promise<string | undefined> {
  t.engine.advance(30_000);
  const page = await b.get(`/login?rd=${encodeURIComponent(rd)}`);
  assert.equal(page.status, 200);
  const started = await submit(b, page, '/login', { username, password: PASSWORD });
  assert.equal(started.location, '/login/otp');
  const verified = await submit(b, await b.get('/login/otp'), '/login/otp', { code: generateTOTP(key, t.engine.now()) });
  assert.equal(verified.status, 303);
  return verified.location;
}

const REFUSED = [
  '//evil.com',
  '//evil.com/@app.example.com',
  '/\\evil.com',
  '\\\\evil.com',
  'https:evil.com',
  'https:/evil.com',
  'https:\\\\evil.com',
  'https://example.com.evil.com/',
  'https://evilexample.com/',
  'https://evil.com\\@example.com',
  'https://evil.com\\@app.example.com/',
  'https://evil.com%5C@example.com',
  'https://evil.com%2F@example.com',
  'https://example.com%2F.evil.com/',
  'https://app.example.com%2F@evil.com/',
  'https%3A%2F%2Fevil.com',
  'https%3A//evil.com',
  '%2F%2Fevil.com',
  'https://user:pass@app.example.com/',
  'https://app.example.com@evil.com/',
  'https://app.example.com:443@evil.com/',
  'http://app.example.com/',
  'javascript:alert(1)//app.example.com',
  'data:text/html,hi',
  ' https://evil.com',
  'https://evil.com\t.example.com/',
  'https://evil.com\n.example.com/',
  'HTTPS://EVIL.COM/',
  'https://xn--exmple-cua.com/',
  'ftp://app.example.com/',
  '/settings',
];

const FOLLOWED: Array<[string, string]> = [
  ['https://app.example.com/reports?q=1', 'https://app.example.com/reports?q=1'],
  ['https://example.com/', 'https://example.com/'],
  ['HTTPS://App.Example.COM:8443/x', 'https://app.example.com:8443/x'],
  ['https://a.b.example.com/p?x=%2F', 'https://a.b.example.com/p?x=%2F'],
];

describe('issue 13: the return URL after sign-in (rd)', () => {
  let t: Pages;
  let b: Browser;
  let key: KeyObject;
  before(async () => {
    t = await startPages({ env: ENV });
    b = t.browser();
    key = await enrolled(t, b, 'ivy');
  });
  after(() => t.close());

  it('SECURITY.md item 57: a return URL is followed only to https hosts at or under the cookie domain; //evil.com, https:evil.com, https://example.com.evil.com, https://evil.com\\@example.com, encoded variants and user-info go to /', async () => {
    // Signed in: /login?rd= sends the browser straight on, or to / when rd is not safe.
    for (const rd of REFUSED) {
      const response = await b.get(`/login?rd=${encodeURIComponent(rd)}`);
      assert.equal(response.status, 303, rd);
      assert.equal(response.location, '/', `followed ${JSON.stringify(rd)}`);
    }
    for (const [rd, expected] of FOLLOWED) assert.equal((await b.get(`/login?rd=${encodeURIComponent(rd)}`)).location, expected, rd);
  });

  it('issue 13: after password and code the browser goes back to the app named by rd, and to / for an unsafe one', async () => {
    const fresh = t.browser();
    assert.equal(await signInWith(t, fresh, 'ivy', key, 'https://app.example.com/reports'), 'https://app.example.com/reports');
    for (const rd of ['https://example.com.evil.com/', '//evil.com', 'https://evil.com\\@example.com']) {
      const other = t.browser();
      assert.equal(await signInWith(t, other, 'ivy', key, rd), '/', rd);
    }
  });

  it('issue 13: with OTPGATE_COOKIE_DOMAIN the session cookie is __Secure-otpgate-session; Domain=…, and the sign-in pages may post on to the apps', async () => {
    const fresh = t.browser();
    t.engine.advance(30_000);
    const page = await fresh.get('/login?rd=https%3A%2F%2Fapp.example.com%2F');
    assert.match(String(page.headers['content-security-policy']), /form-action 'self' https:\/\/example\.com:\* https:\/\/\*\.example\.com:\*/);
    const started = await submit(fresh, page, '/login', { username: 'ivy', password: PASSWORD });
    const verified = await submit(fresh, await fresh.get('/login/otp'), '/login/otp', { code: generateTOTP(key, t.engine.now()) });
    const cookie = verified.setCookies.find((c) => c.name === '__Secure-otpgate-session');
    assert.ok(cookie, `cookies: ${verified.setCookies.map((c) => c.name).join(', ')} (after ${started.status})`);
    assert.equal((cookie as { domain?: string }).domain, 'example.com');
    assert.equal(cookie.secure, true);
    assert.equal(cookie.httpOnly, true);
    assert.equal(verified.setCookies.some((c) => c.name === '__Host-otpgate-session'), false);
  });
});

describe('issue 13: the rules file on a real server', () => {
  it('SECURITY.md item 58: a request matching no rule gets 403; a broken rules file on SIGHUP changes nothing, a good one takes effect', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-rules-'));
    const rules = join(dir, 'rules.yaml');
    await writeFile(rules, 'rules:\n  - domain: public.example.com\n    policy: bypass\n');
    const gate = await startGate({ OTPGATE_ACCESS_RULES: rules });
    try {
      const ask = async (host: string) => (await gate.ask('/api/authz/auth-request', { 'x-original-url': `https://${host}/`, 'x-original-method': 'GET' })).status;
      assert.equal(await ask('public.example.com'), 200);
      assert.equal(await ask('nothing-matches.example.com'), 403, 'the default policy is deny');

      await writeFile(rules, 'rules:\n  - domain: public.example.com\n    policy: bypas\n  - domain: open.example.com\n    policy: bypass\n');
      const mark = gate.output().length;
      gate.signal('SIGHUP');
      await gate.waitForOutput(/NOT reloaded[^\n]*line 3: unknown policy/, mark);
      assert.equal(await ask('public.example.com'), 200, 'the old rules stay in force');
      assert.equal(await ask('open.example.com'), 403);

      await writeFile(rules, 'rules:\n  - domain: open.example.com\n    policy: bypass\n');
      const mark2 = gate.output().length;
      gate.signal('SIGHUP');
      await gate.waitForOutput(/forward-auth rules reloaded/, mark2);
      assert.equal(await ask('open.example.com'), 200);
      assert.equal(await ask('public.example.com'), 403);
    } finally {
      await gate.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('issue 13: a broken rules file stops start-up with one line naming the variable and the line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-rules-'));
    const rules = join(dir, 'rules.yaml');
    await writeFile(rules, 'default_policy: deny\nrules:\n  - domain: "*.example.com"\n    resources: ["^/(admin"]\n    policy: two_factor\n');
    try {
      await assert.rejects(startGate({ OTPGATE_ACCESS_RULES: rules }), (error: Error) => {
        assert.match(error.message, /OTPGATE_ACCESS_RULES: \S*rules\.yaml line 4: resources: "\^\/\(admin" is not a valid regular expression/);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
