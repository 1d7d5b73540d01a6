import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRangeBreachCheck } from './breach-check.ts';
import { client, makeEngine } from '../../test/support/engine.ts';

const sha1 = (text: string): string => createHash('sha1').update(text, 'utf8').digest('hex').toUpperCase();
const BREACHED = ['correct horse battery staple', 'Tr0ub4dor&3-but-longer'];

/** A range endpoint on loopback that answers like the real one, padding included, and keeps what it was asked. */
function rangeServer() {
  const asked: { url: string; headers: Record<string, string | string[] | undefined> }[] = [];
  let mode: 'ok' | 'error' | 'hang' = 'ok';
  const server = createServer((request, response) => {
    asked.push({ url: request.url ?? '', headers: request.headers });
    if (mode === 'hang') return; // never answers
    if (mode === 'error') {
      response.writeHead(503).end();
      return;
    }
    const prefix = (request.url ?? '').split('/').pop() ?? '';
    const lines = BREACHED.map(sha1).filter((h) => h.startsWith(prefix)).map((h) => `${h.slice(5)}:${h.startsWith(sha1(BREACHED[0] ?? '')) ? 3_730_471 : 12}`);
    // Decoys with a count of 0, as the real service pads with, one of them the suffix of a clean password.
    lines.push(`${sha1('a decoy that only pads').slice(5)}:0`, `${sha1('never-breached horse 41').slice(5)}:0`);
    response.writeHead(200, { 'content-type': 'text/plain' }).end(lines.join('\r\n'));
  });
  return {
    asked,
    setMode: (next: typeof mode) => { mode = next; },
    async start(): Promise<URL> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/range/`);
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('breached-password check (k-anonymity range query)', () => {
  const range = rangeServer();
  let url: URL;
  before(async () => {
    url = await range.start();
  });
  after(() => range.close());

  it('finds a breached password and sends only the first 5 characters of its SHA-1', async () => {
    range.setMode('ok');
    const check = createRangeBreachCheck(url);
    range.asked.length = 0;
    assert.equal(await check(BREACHED[0] ?? ''), true);
    assert.equal(await check('never-breached horse 41'), false, 'a suffix listed with count 0 (padding) is not a breach');
    assert.equal(await check('a-password-nobody-has-42'), false);
    const first = range.asked[0];
    assert.ok(first);
    assert.equal(first.url, `/range/${sha1(BREACHED[0] ?? '').slice(0, 5)}`);
    assert.equal(first.headers['add-padding'], 'true');
    for (const { url: path, headers } of range.asked) {
      const sent = path + JSON.stringify(headers);
      for (const secret of [...BREACHED, 'never-breached horse 41', 'a-password-nobody-has-42']) {
        assert.ok(!sent.includes(secret) && !sent.includes(sha1(secret).slice(5)), 'neither the password nor more than 5 hash characters leave');
      }
    }
  });

  it('answers null (and reports it) when the service fails or does not answer in time', async () => {
    const errors: unknown[] = [];
    const check = createRangeBreachCheck(url, { timeoutMs: 200, onError: (error) => errors.push(error) });
    range.setMode('error');
    assert.equal(await check(BREACHED[0] ?? ''), null);
    range.setMode('hang');
    assert.equal(await check(BREACHED[0] ?? ''), null);
    range.setMode('ok');
    assert.equal(errors.length, 2);
    assert.ok(!errors.map(String).join(' ').includes(BREACHED[0] ?? ''), 'the error carries no password');
  });

  it('makes sign-up and password change refuse a breached password with the reason, and lets one through when the service is down', async () => {
    range.setMode('ok');
    const e = await makeEngine({ breachCheck: createRangeBreachCheck(url, { timeoutMs: 200 }) });
    assert.deepEqual(await e.auth.signup({ username: 'dana', password: BREACHED[0] ?? '' }, client), {
      status: 'weak_password',
      message: 'This password has appeared in a data breach; choose another',
    });
    const signed = await e.auth.signup({ username: 'dana', password: 'never-breached horse 41' }, client);
    assert.equal(signed.status, 'ok');
    if (signed.status !== 'ok') return;
    const changed = await e.auth.changePassword(signed.session.session, 'never-breached horse 41', BREACHED[1] ?? '', client);
    assert.equal(changed.status, 'weak_password');
    range.setMode('error');
    assert.equal((await e.auth.signup({ username: 'erin', password: BREACHED[1] ?? '' }, client)).status, 'ok', 'an outage does not stop sign-ups');
    range.setMode('ok');
  });
});
