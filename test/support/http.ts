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
