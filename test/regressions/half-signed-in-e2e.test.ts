/**
 * Issue 12 findings 1 and 4 end to end, against a real `npm start` server over HTTPS
 * (the engine- and inject-level tests are in half-signed-in.test.ts).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';
import type { RunningServer } from '../support/server.ts';
import { httpsClient, startServer } from '../support/server.ts';
import { runCLI } from '../support/cli.ts';

const PASSWORD = 'lantern-orchard-73';
const running = new Set<RunningServer>();
after(async () => {
  for (const server of running) await server.stop();
});

async function start(env: Record<string, string> = {}, dataDir?: string): Promise<RunningServer> {
  const server = await startServer(env, dataDir === undefined ? {} : { dataDir });
  running.add(server);
  return server;
}

async function stop(server: RunningServer): Promise<void> {
  running.delete(server);
  await server.stop();
}

/** The newest code the console sender printed for `to`, after output offset `from`. */
async function consoleCode(server: RunningServer, to: string, from: number): Promise<string> {
  const escaped = to.replace(/[.+]/g, '\\$&');
  const match = await server.waitForOutput(new RegExp(`\\[console sender\\] (?:email|SMS) to ${escaped}[^\\n]*\\n(?:  \\|[^\\n]*\\n)*?  \\|[^\\n]*?\\b(\\d{6})\\b`), from);
  return match[1] ?? '';
}

describe('issue 12 end to end (npm start)', () => {
  it('finding 1: a password-only session opened before the owner enrolls cannot bind its own authenticator afterwards', async () => {
    const server = await start();
    const owner = httpsClient(server);
    assert.equal((await owner.request('POST', '/api/signup', { username: 'alice', password: PASSWORD })).status, 201);
    const attacker = httpsClient(server);
    assert.deepEqual((await attacker.request('POST', '/api/login', { username: 'alice', password: PASSWORD })).json(), { status: 'enrollment_required' });
    const attackerStart = (await attacker.request('POST', '/api/factors/totp', {})).json<{ factor_id: string; secret: string }>();
    assert.equal(typeof attackerStart.factor_id, 'string');

    const begun = (await owner.request('POST', '/api/factors/totp', { label: 'Phone' })).json<{ factor_id: string; secret: string }>();
    const confirmed = await owner.request('POST', '/api/factors/totp/verify', { factor_id: begun.factor_id, code: generateTOTP(decodeBase32(begun.secret), Date.now()) });
    assert.equal(confirmed.status, 200, confirmed.body);

    assert.equal((await attacker.request('POST', '/api/factors/totp', {})).status, 401);
    const late = await attacker.request('POST', '/api/factors/totp/verify', {
      factor_id: attackerStart.factor_id, code: generateTOTP(decodeBase32(attackerStart.secret), Date.now()),
    });
    assert.equal(late.status, 401, late.body);
    assert.equal((await attacker.request('GET', '/api/me')).status, 401);
    const me = (await owner.request('GET', '/api/me')).json<{ level: number; factors: unknown[] }>();
    assert.equal(me.level, 2);
    assert.equal(me.factors.length, 1);
    await stop(server);
  });

  it('finding 4: after OTPGATE_FACTORS=totp,recovery an email-only account must prove its email before it may enroll', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'otpgate-finding4-'));
    try {
      // An email-only account, as `otpgate user add --email` makes it (the operator vouches for the address).
      const added = await runCLI(['user', 'add', 'dora', '--email', 'dora@example.test'], { OTPGATE_DATA_DIR: dataDir }, `${PASSWORD}\n`);
      assert.equal(added.code, 0, added.stderr);

      const second = await start({ OTPGATE_FACTORS: 'totp,recovery' }, dataDir);
      const attacker = httpsClient(second);
      const from = second.output().length;
      const login = await attacker.request('POST', '/api/login', { username: 'dora', password: PASSWORD });
      assert.deepEqual(login.json(), { status: 'otp_required', methods: ['email'], sent: 'email' });
      assert.equal((await attacker.request('POST', '/api/factors/totp', {})).status, 401, 'the password alone gives no enrollment session');
      assert.equal((await attacker.request('GET', '/api/me')).status, 401);

      const owner = httpsClient(second);
      owner.cookies.set('__Host-otpgate-pending', attacker.cookies.get('__Host-otpgate-pending') ?? '');
      const proven = await owner.request('POST', '/api/login/verify', { method: 'email', code: await consoleCode(second, 'dora@example.test', from) });
      assert.equal(proven.status, 200, proven.body);
      assert.deepEqual(proven.json(), { status: 'enrollment_required' });
      assert.equal((await owner.request('GET', '/api/me')).json<{ level: number }>().level, 1);
      assert.equal((await owner.request('POST', '/api/factors/totp', {})).status, 201);
      await stop(second);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
