/** An app built for `inject()`, on a real in-memory engine, with a small cookie-keeping client. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { build } from '../../src/http/app.ts';
import { createRoutes } from '../../src/http/routes.ts';
import { loadConfig } from '../../src/config.ts';
import type { AuthOptions } from '../../src/auth/index.ts';
import { makeEngine } from './engine.ts';
import assert from 'node:assert/strict';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';

export const ORIGIN = 'https://localhost:8443';

export async function makeApp(options: Partial<AuthOptions> = {}, env: Record<string, string> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'otpgate-http-'));
  const config = loadConfig({ OTPGATE_DATA_DIR: dir, OTPGATE_PUBLIC_URL: ORIGIN, ...env });
  const engine = await makeEngine(options);
  const app = await build({ config, logger: false, routes: createRoutes({ auth: engine.auth, config }) });
  return { app, config, ...engine };
}

export interface Client {
  cookies: Map<string, string>;
  request(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  json<T = Record<string, unknown>>(response: LightMyRequestResponse): T;
}

/** A browser-like client: keeps cookies, sends our Origin on writes, JSON bodies. */
export function client(app: FastifyInstance, ip = '192.0.2.20'): Client {
  const cookies = new Map<string, string>();
  return {
    cookies,
    async request(method, url, body, headers = {}) {
      const response = await app.inject({
        method: method as 'GET',
        url,
        remoteAddress: ip,
        headers: {
          'user-agent': 'api-test',
          ...(method === 'GET' ? {} : { origin: ORIGIN }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        cookies: Object.fromEntries(cookies),
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      for (const c of response.cookies) {
        const expired = c.maxAge === 0 || (c.expires instanceof Date && c.expires.getTime() <= Date.now());
        if (expired || c.value === '') cookies.delete(c.name);
        else cookies.set(c.name, c.value);
      }
      return response;
    },
    json<T>(response: LightMyRequestResponse): T {
      return JSON.parse(response.body) as T;
    },
  };
}

/** Asserts an API error: the status, `{error: code, message}` and `no-store`; returns the body. */
export function assertError(response: LightMyRequestResponse, status: number, code: string): Record<string, unknown> {
  assert.equal(response.statusCode, status, response.body);
  const body = JSON.parse(response.body) as Record<string, unknown>;
  assert.equal(body.error, code, response.body);
  assert.equal(typeof body.message, 'string');
  assert.equal(response.headers['cache-control'], 'no-store');
  return body;
}

/** Signs up over the API and enrolls an authenticator: the client (level 2, a fresh sign-in), the secret and the first recovery codes; the clock moves on one step. */
export async function enrolledClient(t: Awaited<ReturnType<typeof makeApp>>, username = 'ivy', password = 'marigold-teapot-58') {
  const c = client(t.app);
  assert.equal((await c.request('POST', '/api/signup', { username, password })).statusCode, 201);
  const begun = c.json<{ factor_id: string; secret: string }>(await c.request('POST', '/api/factors/totp', { label: 'Phone' }));
  const secret = decodeBase32(begun.secret);
  const confirmed = await c.request('POST', '/api/factors/totp/verify', { factor_id: begun.factor_id, code: generateTOTP(secret, t.now()) });
  assert.equal(confirmed.statusCode, 200, confirmed.body);
  t.advance(30_000);
  return { c, secret, recoveryCodes: c.json<{ recovery_codes: string[] }>(confirmed).recovery_codes };
}
