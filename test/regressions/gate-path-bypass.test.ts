/**
 * Found by an outside review of the gate: a doubled slash or an encoded one reached a
 * path that a deny or group rule guards, since the rules saw "//admin" while the app
 * behind the proxy served "/admin". A path the rules and an app could read two ways is
 * refused (400) instead of matched.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client, makeApp } from '../support/http.ts';
import type { Client } from '../support/http.ts';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';

const PASSWORD = 'quartz-meadow-lantern-71';
const PROXY = '192.0.2.20';
const WRITE = { origin: 'https://auth.example.test' };
const RULES = `default_policy: deny
rules:
  - domain: "*.example.test"
    resources: ["^/admin(/.*)?$"]
    subject: ["group:admins"]
    policy: two_factor
  - domain: "*.example.test"
    resources: ["^/admin(/.*)?$"]
    policy: deny
  - domain: app.example.test
    policy: two_factor
`;

async function gate() {
  const dir = await mkdtemp(join(tmpdir(), 'otpgate-gate-path-'));
  const rules = join(dir, 'rules.yaml');
  await writeFile(rules, RULES);
  return makeApp({}, { OTPGATE_TRUST_PROXY: PROXY, OTPGATE_ACCESS_RULES: rules, OTPGATE_COOKIE_DOMAIN: 'example.test', OTPGATE_PUBLIC_URL: 'https://auth.example.test' });
}

/** A fully signed-in person who is not in the admins group. */
async function member(t: Awaited<ReturnType<typeof gate>>): Promise<Client> {
  const c = client(t.app, PROXY);
  assert.equal((await c.request('POST', '/api/signup', { username: 'mallory', password: PASSWORD }, WRITE)).statusCode, 201);
  const begun = c.json<{ factor_id: string; secret: string }>(await c.request('POST', '/api/factors/totp', { label: 'Phone' }, WRITE));
  const code = generateTOTP(decodeBase32(begun.secret), t.now());
  assert.equal((await c.request('POST', '/api/factors/totp/verify', { factor_id: begun.factor_id, code }, WRITE)).statusCode, 200);
  return c;
}

const TWO_WAY_PATHS = ['//admin', '//admin/x', '/%2fadmin', '/%2Fadmin/', '/x/..//admin', '/%5cadmin', '/admin;x', '/public/..;/admin', '/adm%00in'];

describe('gate paths read two ways', () => {
  it('finding (gate review): a doubled, encoded or parameterised slash never reaches a path a rule denies', async () => {
    const t = await gate();
    const c = await member(t);
    const nginx = (path: string) => c.request('GET', '/api/authz/auth-request', undefined, { 'x-original-url': `https://app.example.test${path}`, 'x-original-method': 'GET' });
    const traefik = (path: string) => c.request('GET', '/api/authz/forward-auth', undefined, { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.test', 'x-forwarded-uri': path, 'x-forwarded-method': 'GET' });
    // The control: the plain path is denied, an ordinary one passes.
    assert.equal((await nginx('/admin')).statusCode, 403);
    assert.equal((await nginx('/reports')).statusCode, 200);
    for (const path of TWO_WAY_PATHS) {
      const viaNginx = await nginx(path);
      const viaTraefik = await traefik(path);
      assert.ok(viaNginx.statusCode === 400 || viaNginx.statusCode === 403, `auth-request ${path}: ${viaNginx.statusCode}`);
      assert.ok(viaTraefik.statusCode === 400 || viaTraefik.statusCode === 403, `forward-auth ${path}: ${viaTraefik.statusCode}`);
      assert.equal(viaNginx.headers['remote-user'] ?? '', '', path);
    }
  });
});
