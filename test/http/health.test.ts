import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { loadConfig } from '../../src/config.ts';
import { build } from '../../src/http/app.ts';
import type { BuildOptions } from '../../src/http/app.ts';
import { createLogger } from '../../src/http/logging.ts';

const CSP = "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/** A route plugin standing in for the real ones: echoes JSON, fails on demand. */
const testRoutes: FastifyPluginAsync = async (app) => {
  app.post('/echo', (request, reply) => reply.send({ got: request.body }));
  app.get('/boom', () => {
    throw new Error('database password=hunter2 rejected');
  });
  app.get('/teapot', () => {
    throw Object.assign(new Error('Slow down'), { statusCode: 429, code: 'rate_limited' });
  });
  app.get('/page', (_request, reply) => reply.header('cache-control', 'public, max-age=60').send('ok'));
  await Promise.resolve();
};

/** Outside /api a route may choose its own caching (static assets). */
const staticLike: FastifyPluginAsync = async (app) => {
  app.get('/page', (_request, reply) => reply.header('cache-control', 'public, max-age=60').send('hi'));
  await Promise.resolve();
};

async function app(options: Partial<BuildOptions> = {}, env: NodeJS.ProcessEnv = {}): Promise<{ app: FastifyInstance; logs: () => string }> {
  const chunks: string[] = [];
  const logger = createLogger('info', { write: (s: string) => void chunks.push(s) });
  const instance = await build({
    config: loadConfig({ OTPGATE_TLS: 'off', ...env }),
    logger,
    routes: [{ plugin: testRoutes, prefix: '/api/test' }, { plugin: staticLike, prefix: '/x' }],
    ...options,
  });
  return { app: instance, logs: () => chunks.join('') };
}

function assertSecurityHeaders(headers: Record<string, unknown>): void {
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['content-security-policy'], CSP);
  assert.equal(headers['referrer-policy'], 'no-referrer');
  assert.equal(headers['cross-origin-opener-policy'], 'same-origin');
}

void describe('GET /api/health', () => {
  void test('answers 200 {"status":"ok"} with no-store and the security headers', async () => {
    const { app: a } = await app();
    const res = await a.inject({ method: 'GET', url: '/api/health' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.equal(res.headers['cache-control'], 'no-store');
    assertSecurityHeaders(res.headers);
    assert.equal(res.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
    await a.close();
  });

  void test('sends HSTS when a trusted proxy says the client used HTTPS', async () => {
    const { app: a } = await app({}, { OTPGATE_TRUST_PROXY: '127.0.0.1' });
    const res = await a.inject({ method: 'GET', url: '/api/health', headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(res.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    await a.close();
  });

  void test('answers 503 when the health check fails', async () => {
    const { app: a } = await app({ healthCheck: () => Promise.reject(new Error('db down')) });
    const res = await a.inject({ method: 'GET', url: '/api/health' });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), { status: 'unavailable' });
    await a.close();
  });
});

void describe('errors', () => {
  void test('malformed JSON gets a generic 400 without parser details', async () => {
    const { app: a, logs } = await app();
    const res = await a.inject({
      method: 'POST',
      url: '/api/test/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"password": hunter2',
    });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), { error: 'invalid_request', message: 'The request body is not valid JSON' });
    assert.doesNotMatch(res.body, /hunter2|position|Unexpected|at /);
    assertSecurityHeaders(res.headers);
    assert.doesNotMatch(logs(), /hunter2/, 'the body never reaches the log');
    await a.close();
  });

  void test('a body over 16 KiB gets 413 payload_too_large', async () => {
    const { app: a } = await app();
    const res = await a.inject({
      method: 'POST',
      url: '/api/test/echo',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ x: 'a'.repeat(17 * 1024) }),
    });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json<{ error: string }>().error, 'payload_too_large');
    await a.close();
  });

  void test('an unexpected error is a 500 internal_error; the detail goes only to the log', async () => {
    const { app: a, logs } = await app();
    const res = await a.inject({ method: 'GET', url: '/api/test/boom' });
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.json(), { error: 'internal_error', message: 'Something went wrong' });
    assert.match(logs(), /database password=hunter2 rejected/);
    await a.close();
  });

  void test('an error thrown with a snake_case code reaches the client as {error, message}', async () => {
    const { app: a } = await app();
    const res = await a.inject({ method: 'GET', url: '/api/test/teapot' });
    assert.equal(res.statusCode, 429);
    assert.deepEqual(res.json(), { error: 'rate_limited', message: 'Slow down' });
    await a.close();
  });

  void test('an unknown route gets 404 not_found, without echoing the URL', async () => {
    const { app: a } = await app();
    const res = await a.inject({ method: 'GET', url: '/nope/<script>' });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: 'not_found', message: 'Not found' });
    assert.equal(res.headers['cache-control'], 'no-store');
    assertSecurityHeaders(res.headers);
    await a.close();
  });

  void test('TRACE is not routed and reflects nothing', async () => {
    const { app: a } = await app();
    const res = await a.inject({ method: 'TRACE', url: '/api/health', headers: { cookie: 'session=SECRET-COOKIE', 'x-probe': 'ECHO-ME' } });
    assert.ok(res.statusCode === 404 || res.statusCode === 405, String(res.statusCode));
    assert.doesNotMatch(res.body, /SECRET-COOKIE|ECHO-ME|TRACE/);
    await a.close();
  });
});

void describe('request logs', () => {
  void test('one line per request: method, path without query, status, time, address; no headers', async () => {
    const { app: a, logs } = await app();
    await a.inject({ method: 'GET', url: '/api/health?token=SECRET-QUERY', headers: { cookie: 'c=SECRET-COOKIE' } });
    const lines = logs().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const done = lines.filter((l) => l.msg === 'request completed');
    assert.equal(done.length, 1);
    assert.deepEqual(done[0]?.req, { method: 'GET', url: '/api/health', remoteAddress: '127.0.0.1' });
    assert.deepEqual(done[0]?.res, { statusCode: 200 });
    assert.equal(typeof done[0]?.responseTime, 'number');
    assert.doesNotMatch(logs(), /SECRET-QUERY|SECRET-COOKIE/);
    await a.close();
  });
});

void describe('route plugins', () => {
  void test('inherit the headers and error handling, and may choose their own caching outside /api', async () => {
    const { app: a } = await app();
    const page = await a.inject({ method: 'GET', url: '/api/test/page' });
    assert.equal(page.headers['cache-control'], 'no-store', '/api/* is always no-store');
    const other = await a.inject({ method: 'GET', url: '/x/page' });
    assert.equal(other.statusCode, 200);
    assert.equal(other.body, 'hi');
    assert.equal(other.headers['cache-control'], 'public, max-age=60');
    assertSecurityHeaders(other.headers);
    await a.close();
  });
});
