/** createSender(): the engine's sender and the start-up lines from the configuration. */
import { after, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { createSender } from '../../src/runtime.ts';
import { startSMTPSink } from '../support/smtp-sink.ts';
import { answer, startReceiver } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'otpgate-sender-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SMS_SECRET = 'whsec-0123456789abcdef';
const TWILIO = {
  OTPGATE_TWILIO_ACCOUNT_SID: `AC${'0123456789abcdef'.repeat(2)}`,
  OTPGATE_TWILIO_AUTH_TOKEN: 'f00dfeedf00dfeedf00dfeedf00dfeed',
  OTPGATE_TWILIO_FROM: '+14155550100',
};

describe('createSender()', () => {
  it('with nothing configured, prints codes to the terminal and says it is for development', async () => {
    const { sender, names } = createSender(loadConfig({}, dir), { quiet: true });
    assert.deepEqual(names, [
      'email: console (development): email codes are printed to this terminal, not sent; configure OTPGATE_SMTP_URL',
      'sms: console (development): SMS codes are printed to this terminal, not sent; configure OTPGATE_SMS_WEBHOOK_URL or OTPGATE_TWILIO_*',
    ]);
    assert.equal(sender.supports('email'), true);
    assert.equal(sender.supports('sms'), true);
    const spy = mock.method(process.stderr, 'write', () => true);
    try {
      await sender.send({ channel: 'sms', to: '+14155550123', kind: 'code', subject: '', text: '123456 is your code' });
    } finally {
      spy.mock.restore();
    }
    assert.match(spy.mock.calls.map((call) => String(call.arguments[0])).join(''), /\[console sender\] SMS to \+14155550123/);
    sender.close();
  });

  it('sends email over SMTP (trusting OTPGATE_SMTP_CA) and SMS to the webhook, never to the console', async () => {
    const sink = await startSMTPSink({ auth: { user: 'mailer', pass: 'hunter2-smtp' } });
    const receiver = await startReceiver((_req, _i, res) => answer(res, 204));
    const caPath = join(dir, 'ca.pem');
    writeFileSync(caPath, sink.ca);
    const config = loadConfig({
      OTPGATE_SMTP_URL: sink.url,
      OTPGATE_MAIL_FROM: 'otpgate <otp@example.test>',
      OTPGATE_SMTP_CA: caPath,
      OTPGATE_SMS_WEBHOOK_URL: new URL('/sms?token=hook-token-1', receiver.url).href,
      OTPGATE_SMS_WEBHOOK_SECRET: SMS_SECRET,
    }, dir);
    const { sender, names } = createSender(config);
    try {
      assert.deepEqual(names, [
        `email: smtp (smtp://127.0.0.1:${sink.port} with STARTTLS)`,
        `sms: webhook (${receiver.url.origin}, signed)`,
      ]);
      for (const secret of ['hunter2-smtp', 'mailer', 'hook-token-1', SMS_SECRET]) assert.ok(!names.join('\n').includes(secret), secret);
      await sender.send({ channel: 'email', to: 'a@example.test', kind: 'code', subject: 'Code', text: '    123456' });
      assert.equal((await sink.waitForMessage()).authUser, 'mailer');
      await sender.send({ channel: 'sms', to: '+14155550123', kind: 'code', subject: '', text: '123456' });
      assert.equal(receiver.requests.length, 1);
    } finally {
      sender.close();
      await receiver.close();
      await sink.close();
    }
  });

  it('names Twilio without its token, and keeps the console for email', () => {
    const { names, sender } = createSender(loadConfig(TWILIO, dir), { quiet: true });
    assert.deepEqual(names, [
      'sms: twilio (account AC0123…, from +14155550100)',
      'email: console (development): email codes are printed to this terminal, not sent; configure OTPGATE_SMTP_URL',
    ]);
    assert.ok(!names.join('\n').includes(TWILIO.OTPGATE_TWILIO_AUTH_TOKEN));
    sender.close();
  });

  it('refuses an unreadable or non-PEM OTPGATE_SMTP_CA with one line', () => {
    const env = { OTPGATE_SMTP_URL: 'smtps://mail.example.com', OTPGATE_MAIL_FROM: 'otp@example.com' };
    assert.throws(() => createSender(loadConfig({ ...env, OTPGATE_SMTP_CA: join(dir, 'missing.pem') }, dir)), (error: unknown) =>
      error instanceof ConfigError && error.variable === 'OTPGATE_SMTP_CA' && /cannot read .*missing\.pem: ENOENT/.test(error.message));
    writeFileSync(join(dir, 'not.pem'), 'hello');
    assert.throws(() => createSender(loadConfig({ ...env, OTPGATE_SMTP_CA: join(dir, 'not.pem') }, dir)), /OTPGATE_SMTP_CA: .* holds no PEM certificate/);
  });
});
