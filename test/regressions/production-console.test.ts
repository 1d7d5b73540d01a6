/**
 * Issue 12, finding 20 (delivery part): with SMTP configured and SMS not, SMS codes went to
 * stdout, and nothing refused the development console sender in production.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createSender } from '../../src/runtime.ts';
import { startServer } from '../support/server.ts';

const REPO = resolve(import.meta.dirname, '..', '..');
const SMTP = { OTPGATE_SMTP_URL: 'smtp://127.0.0.1:2525?starttls=off', OTPGATE_MAIL_FROM: 'otpgate@example.com' };
const WEBHOOK = { OTPGATE_SMS_WEBHOOK_URL: 'https://sms.example.com/hook', OTPGATE_SMS_WEBHOOK_SECRET: 'whsec-0123456789abcdef' };

/** Runs `node src/main.ts` with `env` (no other OTPGATE_* variable) until it exits. */
async function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'otpgate-prod-'));
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTPGATE_')));
  return new Promise((done) => {
    const child = execFile(process.execPath, ['src/main.ts'], { cwd: REPO, env: { ...base, OTPGATE_PORT: '0', OTPGATE_DATA_DIR: dataDir, ...env }, timeout: 30_000 }, (_error, stdout, stderr) => {
      done({ code: child.exitCode, stdout, stderr });
    });
  });
}

describe('finding 20: production refuses the console sender', () => {
  it('finding 20: OTPGATE_ENV=production stops start-up with one line when an enabled channel would print its codes to the terminal', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-prod-config-'));
    for (const [env, pattern] of [
      [{}, /email codes would be printed to the terminal/],
      [{ ...WEBHOOK }, /email codes would be printed to the terminal/],
      [{ ...SMTP }, /SMS codes would be printed to the terminal/],
      [{ ...WEBHOOK, OTPGATE_FACTORS: 'totp,email,recovery' }, /email codes would be printed/],
    ] as const) {
      assert.throws(() => loadConfig({ OTPGATE_DATA_DIR: dir, OTPGATE_ENV: 'production', ...env }), (error: Error) => {
        assert.ok(error.message.startsWith('OTPGATE_ENV: '), error.message);
        assert.match(error.message, pattern);
        assert.ok(!error.message.includes('\n'));
        return true;
      });
    }
    // Configured channels, or channels left out of the factors, start.
    assert.equal(loadConfig({ OTPGATE_DATA_DIR: dir, OTPGATE_ENV: 'production', ...SMTP, ...WEBHOOK }).env, 'production');
    assert.equal(loadConfig({ OTPGATE_DATA_DIR: dir, OTPGATE_ENV: 'production', ...SMTP, OTPGATE_FACTORS: 'totp,email,recovery' }).env, 'production');
    assert.equal(loadConfig({ OTPGATE_DATA_DIR: dir, OTPGATE_ENV: 'production', OTPGATE_FACTORS: 'totp,recovery' }).env, 'production');
    assert.equal(loadConfig({ OTPGATE_DATA_DIR: dir }).env, 'development');
  });

  it('finding 20: in production nothing falls back to the terminal, even for messages of a channel left out of the factors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-prod-sender-'));
    const config = loadConfig({ OTPGATE_DATA_DIR: dir, OTPGATE_ENV: 'production', OTPGATE_FACTORS: 'totp,recovery' });
    const { sender, names } = createSender(config, { quiet: true });
    assert.equal(sender.supports('email'), false);
    assert.equal(sender.supports('sms'), false);
    assert.ok(!names.some((n) => /printed/.test(n)), names.join('; '));
  });

  it('finding 20: the server started with OTPGATE_ENV=production and no SMTP exits 1 with one line on stderr', async () => {
    const result = await run({ OTPGATE_ENV: 'production' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^OTPGATE_ENV: is production but email codes would be printed to the terminal[^\n]*\n$/);
    assert.doesNotMatch(result.stdout, /listening/);
  });

  it('finding 20: with SMTP configured and SMS not, start-up states that SMS codes are printed to the terminal', async () => {
    const server = await startServer({ ...SMTP });
    try {
      assert.match(server.output(), /delivery: sms: console \(development\): SMS codes are printed to this terminal, not sent/);
      assert.match(server.output(), /delivery: email: smtp/);
    } finally {
      await server.stop();
    }
  });
});
