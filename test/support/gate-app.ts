/** The forward-auth gate in-process (app.inject) with a rules file, and the requests proxies send it. */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { client, makeApp } from './http.ts';
import type { Client } from './http.ts';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';

export const PASSWORD = 'marigold-teapot-58';
export const PROXY = '192.0.2.20';
export const RULES = `default_policy: deny
rules:
  - domain: public.example.test
    policy: bypass
  - domain: "*.example.test"
    resources: ["^/admin(/.*)?$"]
    subject: ["group:admins"]
    policy: two_factor
  - domain: "*.example.test"
    resources: ["^/admin(/.*)?$"]
    policy: deny
  - domain: app.example.test
    resources: ["^/light(/.*)?$"]
    policy: one_factor
  - domain: app.example.test
    policy: two_factor
`;

export type App = Awaited<ReturnType<typeof makeApp>>;

export async function gateApp(env: Record<string, string> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'otpgate-authz-'));
  const rules = join(dir, 'rules.yaml');
  await writeFile(rules, RULES);
  return makeApp({}, { OTPGATE_TRUST_PROXY: PROXY, OTPGATE_ACCESS_RULES: rules, OTPGATE_COOKIE_DOMAIN: 'example.test', OTPGATE_PUBLIC_URL: 'https://auth.example.test', ...env });
}

/** nginx's auth_request subrequest for `url`, carrying the browser's cookies. */
export function nginxAsks(c: Client, url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return c.request('GET', '/api/authz/auth-request', undefined, { 'x-original-url': url, 'x-original-method': 'GET', 'x-forwarded-for': '198.51.100.7', ...headers });
}

/** Traefik's / Caddy's forward-auth request for https://HOST/URI. */
export function traefikAsks(c: Client, host: string, uri: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return c.request('GET', '/api/authz/forward-auth', undefined, {
    'x-forwarded-proto': 'https', 'x-forwarded-host': host, 'x-forwarded-uri': uri, 'x-forwarded-method': 'GET', ...headers,
  });
}

/** A level-2 client: signs up (level 1), enrolls an authenticator (level 2). */
export async function signedIn(t: App, username: string): Promise<Client> {
  const c = client(t.app, PROXY);
  // The portal's own origin for writes.
  const write = { origin: 'https://auth.example.test' };
  assert.equal((await c.request('POST', '/api/signup', { username, password: PASSWORD }, write)).statusCode, 201);
  const begun = c.json<{ factor_id: string; secret: string }>(await c.request('POST', '/api/factors/totp', { label: 'Phone' }, write));
  const code = generateTOTP(decodeBase32(begun.secret), t.now());
  assert.equal((await c.request('POST', '/api/factors/totp/verify', { factor_id: begun.factor_id, code }, write)).statusCode, 200);
  return c;
}
