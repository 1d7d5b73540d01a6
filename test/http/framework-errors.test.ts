import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { makeApp } from '../support/http.ts';

function assertOurs(status: number, headers: Record<string, unknown>, body: string, expected: number): void {
  assert.equal(status, expected, body);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['cache-control'], 'no-store');
  assert.match(String(headers['content-security-policy']), /frame-ancestors 'none'/);
  const parsed = JSON.parse(body) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed).sort(), ['error', 'message']);
  assert.doesNotMatch(body, /FST_|Fastify|zz|secret-q/i, 'no framework name, no URL echoed');
}

describe('errors met before any route', () => {
  it('a malformed percent-encoding gets our 400, not an echo of the URL', async () => {
    const t = await makeApp();
    const r = await t.app.inject({ method: 'GET', url: '/api/login%zz?token=secret-q' });
    assertOurs(r.statusCode, r.headers, r.body, 400);
  });

  it('an over-long route parameter gets our 414', async () => {
    const t = await makeApp();
    const r = await t.app.inject({ method: 'DELETE', url: `/api/sessions/${'z'.repeat(150)}` });
    assertOurs(r.statusCode, r.headers, r.body, 414);
  });

  it('oversized headers get our 431 on the raw socket, with Connection: close', async () => {
    const t = await makeApp();
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = t.app.server.address() as AddressInfo;
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(`GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
        });
        let text = '';
        socket.setEncoding('utf8').on('data', (d: string) => { text += d; });
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      const [head = '', body = ''] = raw.split('\r\n\r\n');
      const lines = head.split('\r\n');
      const headers = Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 2)]));
      assert.match(lines[0] ?? '', /^HTTP\/1\.1 431 /);
      assert.equal(headers.connection, 'close');
      assertOurs(431, headers, body, 431);
    } finally {
      await t.app.close();
    }
  });
});
