import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createLogger, serializeRequest } from './logging.ts';

function capture(): { lines: () => Array<Record<string, unknown>>; write: (s: string) => void } {
  const chunks: string[] = [];
  return {
    write: (s: string) => void chunks.push(s),
    lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

void test('createLogger() redacts secret fields at any of the first three levels', () => {
  const out = capture();
  createLogger('info', out).info(
    {
      password: 'hunter2',
      body: { username: 'ann', password: 'hunter2' },
      login: { code: '123456', user: { token: 'TKN-1', recovery_codes: ['a'], newPassword: 'x' } },
      req: { headers: { cookie: '__Host-s=abc', authorization: 'Bearer abc' } },
      res: { headers: { 'set-cookie': '__Host-s=abc' } },
      factor: { secret: 'JBSWY3DP', otpauth_uri: 'otpauth://totp/x?secret=JBSWY3DP' },
    },
    'event',
  );
  const text = JSON.stringify(out.lines());
  for (const secret of ['hunter2', '123456', 'TKN-1', 'abc', 'JBSWY3DP', '"x"']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
  assert.match(text, /\[redacted\]/);
});

void test('createLogger() keeps an error code readable despite *.code redaction', () => {
  const out = capture();
  createLogger('info', out).error({ err: Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' }) }, 'failed');
  const [line] = out.lines();
  assert.deepEqual((line?.err as Record<string, unknown>).errorCode, 'SQLITE_BUSY');
});

void test('serializeRequest() logs the path without the query string', () => {
  assert.deepEqual(serializeRequest({ method: 'GET', url: '/login?next=/&token=abc#x', ip: '192.0.2.1' }), {
    method: 'GET',
    url: '/login',
    remoteAddress: '192.0.2.1',
  });
});
