import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRuntime } from '../src/runtime.ts';
import { loadConfig } from '../src/config.ts';
import { decodeBase32, generateTOTP } from '../src/otp/index.ts';
import { runCLI as run } from './support/cli.ts';



describe('otpgate CLI', () => {
  it('adds a user, then reset-2fa sends them back to enrollment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-cli-'));
    const env = { OTPGATE_DATA_DIR: dir };
    try {
      const added = await run(['user', 'add', 'Erin'], env, 'saffron-lantern-42\n');
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stdout, /^created erin /);
      assert.ok(!added.stdout.includes('saffron') && !added.stderr.includes('saffron'), 'the password is never echoed');

      const again = await run(['user', 'add', 'erin'], env, 'saffron-lantern-42\n');
      assert.equal(again.code, 1);
      assert.match(again.stderr, /taken/);
      assert.equal((await run(['user', 'add', 'weak'], env, 'password\n')).code, 1);

      // Enroll an authenticator through the engine on the same data dir, as the server would.
      const client = { ip: '127.0.0.1', userAgent: 'cli-test' };
      const runtime = await openRuntime({ config: loadConfig({ OTPGATE_DATA_DIR: dir }), quiet: true });
      try {
        const start = await runtime.auth.startLogin('erin', 'saffron-lantern-42', client);
        if (start.status !== 'enrollment_required') return assert.fail(start.status);
        const begun = await runtime.auth.beginTOTPEnrollment(start.session.session);
        if (begun.status !== 'ok') return assert.fail();
        const code = generateTOTP(decodeBase32(begun.enrollment.secret), Date.now());
        assert.equal((await runtime.auth.confirmTOTPEnrollment(start.session.session, begun.enrollment.factorId, code, client)).status, 'ok');
        assert.equal((await runtime.auth.startLogin('erin', 'saffron-lantern-42', client)).status, 'otp_required');
      } finally {
        await runtime.close();
      }

      const listed = await run(['user', 'list'], env);
      assert.match(listed.stdout, /\nerin\t-\t-\t1\tactive\t/);

      const reset = await run(['user', 'reset-2fa', 'ERIN'], env);
      assert.equal(reset.code, 0, reset.stderr);
      const runtime2 = await openRuntime({ config: loadConfig({ OTPGATE_DATA_DIR: dir }), quiet: true });
      try {
        assert.equal((await runtime2.auth.startLogin('erin', 'saffron-lantern-42', client)).status, 'enrollment_required');
      } finally {
        await runtime2.close();
      }

      const audit = await run(['audit', '--user', 'erin'], env);
      assert.equal(audit.code, 0);
      assert.match(audit.stdout, /second_factors_reset/);
      assert.match(audit.stdout, /factor_added/);
      assert.ok(!audit.stdout.includes('saffron'));

      for (const action of ['disable', 'enable', 'unlock']) assert.equal((await run(['user', action, 'erin'], env)).code, 0, action);
      assert.equal((await run(['user', 'disable', 'nobody'], env)).code, 1);
      assert.equal((await run(['frobnicate'], env)).code, 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('user add refuses a breached password, and warns when the breach lookup fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-cli-'));
    const breached = 'kestrel-harbour-77';
    const digest = createHash('sha1').update(breached).digest('hex').toUpperCase();
    let failing = false;
    const paths: string[] = [];
    const range = createServer((request, response) => {
      paths.push(request.url ?? '');
      if (failing) {
        response.writeHead(503).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'text/plain' }).end(`${digest.slice(5)}:3\r\n${'0'.repeat(35)}:0\r\n`);
    });
    await new Promise<void>((resolve) => range.listen(0, '127.0.0.1', resolve));
    const env = { OTPGATE_DATA_DIR: dir, OTPGATE_BREACH_CHECK_URL: `http://127.0.0.1:${(range.address() as AddressInfo).port}/range/` };
    try {
      const refused = await run(['user', 'add', 'fern'], env, `${breached}\n`);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /appeared in a data breach/);
      assert.deepEqual(paths, [`/range/${digest.slice(0, 5)}`], 'only the 5-character prefix leaves');

      failing = true;
      const warned = await run(['user', 'add', 'fern'], env, 'saffron-lantern-42\n');
      assert.equal(warned.code, 0, warned.stderr);
      assert.match(warned.stderr, /warning: the breached-password check failed \(breach check answered 503\)/);
      for (const secret of ['saffron', breached, digest, digest.slice(0, 5)]) {
        assert.ok(!warned.stdout.includes(secret) && !warned.stderr.includes(secret), 'nothing secret is printed');
      }
    } finally {
      range.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
