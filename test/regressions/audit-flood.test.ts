/**
 * Issue 12, finding 6: every refused request wrote an audit row and no row was ever
 * deleted, so a flood of refused logins was a flood of durable writes and a table that
 * only grew.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { openRuntime } from '../../src/runtime.ts';
import { describeAuditEvent } from '../../src/http/views/audit-labels.ts';
import { client, makeEngine } from '../support/engine.ts';

const PASSWORD = 'audit-flood-Pw-51c2';
const DAY = 86_400_000;
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'otpgate.js');

describe('issue 12 finding 6: refusals are counted, and the audit trail is swept', () => {
  it('finding 6: 500 refused logins write far fewer audit rows than 500, and the rows count all 500', async () => {
    const engine = await makeEngine();
    try {
      await engine.auth.createAccount({ username: 'flood', password: PASSWORD, email: null, phone: null });
      for (let i = 0; i < 500; i++) {
        const result = await engine.auth.startLogin(i % 2 === 0 ? 'flood' : `nobody${i}`, 'wrong-password', client);
        assert.ok(result.status === 'invalid_credentials' || result.status === 'rate_limited', result.status);
        engine.advance(1000);
      }
      const refusals = (await engine.store.listAudit({ limit: 100_000 })).filter((e) => ['password_refused', 'throttled'].includes(e.type));
      assert.ok(refusals.length <= 20, `${refusals.length} rows for 500 refusals`);
      assert.equal(refusals.reduce((sum, e) => sum + (e.count ?? 1), 0), 500, 'every refusal is counted in some row');
      const counted = refusals.find((e) => (e.count ?? 1) > 1);
      assert.ok(counted && (counted.lastAt ?? 0) > counted.at, 'a counted row keeps its first and last time');
    } finally {
      await engine.close();
    }
  });

  it('finding 6: successes stay one row each', async () => {
    const engine = await makeEngine();
    try {
      await engine.auth.createAccount({ username: 'each', password: PASSWORD, email: null, phone: null });
      for (let i = 0; i < 3; i++) assert.equal((await engine.auth.startLogin('each', PASSWORD, client)).status, 'enrollment_required');
      const accepted = (await engine.store.listAudit({ limit: 100 })).filter((e) => e.type === 'password_accepted');
      assert.equal(accepted.length, 3);
      assert.ok(accepted.every((e) => (e.count ?? 1) === 1));
    } finally {
      await engine.close();
    }
  });

  it('finding 6: audit rows older than OTPGATE_AUDIT_RETENTION_DAYS are swept, newer ones stay', async () => {
    assert.equal(loadConfig({ OTPGATE_DATA_DIR: '/tmp/x' }).auditRetentionDays, 365);
    assert.equal(loadConfig({ OTPGATE_DATA_DIR: '/tmp/x', OTPGATE_AUDIT_RETENTION_DAYS: '30' }).auditRetentionDays, 30);
    assert.throws(() => loadConfig({ OTPGATE_DATA_DIR: '/tmp/x', OTPGATE_AUDIT_RETENTION_DAYS: '0' }), /OTPGATE_AUDIT_RETENTION_DAYS/);

    const engine = await makeEngine({ auditRetentionDays: 30 });
    try {
      await engine.auth.createAccount({ username: 'old', password: PASSWORD, email: null, phone: null });
      await engine.auth.startLogin('old', 'wrong-password', client);
      await engine.auth.startLogin('old', PASSWORD, client);
      const old = await engine.store.listAudit({ limit: 100 });
      engine.advance(31 * DAY);
      await engine.auth.startLogin('old', PASSWORD, client);
      assert.ok((await engine.auth.sweep()) >= old.length);
      const left = await engine.store.listAudit({ limit: 100 });
      assert.deepEqual(left.map((e) => e.type), ['password_accepted'], 'only the event inside the retention is left');
    } finally {
      await engine.close();
    }
  });

  it('finding 6: otpgate audit and the account page still show refusals, with their count', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-audit-'));
    try {
      const runtime = await openRuntime({ config: loadConfig({ OTPGATE_DATA_DIR: dir }), quiet: true });
      try {
        await runtime.auth.createAccount({ username: 'shown', password: PASSWORD, email: null, phone: null });
        for (let i = 0; i < 3; i++) await runtime.auth.startLogin('shown', 'wrong-password', client);
        const [row] = (await runtime.auth.listAudit({ limit: 10 })).filter((e) => e.type === 'password_refused');
        assert.ok(row);
        assert.match(describeAuditEvent(row), /^Wrong password \(3 times, the last at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)$/);
      } finally {
        await runtime.close();
      }
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, 'audit'], { env: { PATH: process.env.PATH, OTPGATE_DATA_DIR: dir }, stdio: ['ignore', 'pipe', 'inherit'] });
        let text = '';
        child.stdout.on('data', (d: Buffer) => { text += d.toString(); });
        child.on('error', reject);
        child.on('close', () => resolve(text));
      });
      assert.match(out, /password_refused .* count=3 last=\d{4}-/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
