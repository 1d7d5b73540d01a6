/**
 * Issue 12, finding 18: credentials in the webhook or breach-check URL ended up in the
 * log (fetch quotes the whole URL in its error, with `user:password@` and, for the
 * breach check, the SHA-1 prefix of the new password).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/http/logging.ts';
import { createRangeBreachCheck } from '../../src/auth/breach-check.ts';
import { createSMSWebhookSender } from '../../src/delivery/sms-webhook.ts';
import { closedPort } from '../delivery/helpers.ts';

const USER = 'hookuser';
const PASS = 'hunter2-Secret-Pw';
const QUERY = 'tok-9f8e7d6c5b4a';

/** A logger as the server's (same options), writing into a string. */
function memoryLogger() {
  let text = '';
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { text += chunk.toString('utf8'); done(); } });
  return { logger: createLogger('info', stream), text: () => text };
}

function assertClean(logged: string, secrets: string[]): void {
  assert.ok(logged.length > 0, 'something was logged');
  for (const secret of secrets) assert.ok(!logged.includes(secret), `the log holds ${secret}: ${logged}`);
}

describe('finding 18: no credentials in outbound URLs or their error logs', () => {
  it('finding 18: OTPGATE_SMS_WEBHOOK_URL and OTPGATE_BREACH_CHECK_URL with user:password@ stop start-up with one line that does not echo the password', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-urls-'));
    const cases: Array<Record<string, string>> = [
      { OTPGATE_SMS_WEBHOOK_URL: `https://${USER}:${PASS}@sms.example.com/hook`, OTPGATE_SMS_WEBHOOK_SECRET: 'whsec-0123456789abcdef' },
      { OTPGATE_SMS_WEBHOOK_URL: `https://${USER}@sms.example.com/hook`, OTPGATE_SMS_WEBHOOK_SECRET: 'whsec-0123456789abcdef' },
      { OTPGATE_BREACH_CHECK_URL: `https://${USER}:${PASS}@pwned.example.com/range/` },
    ];
    for (const env of cases) {
      const name = Object.keys(env)[0] ?? '';
      assert.throws(() => loadConfig({ OTPGATE_DATA_DIR: dir, ...env }), (error: Error) => {
        assert.ok(error.message.startsWith(`${name}: `), error.message);
        assert.match(error.message, /user name or password/);
        assert.ok(!error.message.includes('\n') && !error.message.includes(PASS), error.message);
        return true;
      });
    }
    // SMTP URLs carry credentials by design.
    const smtp = loadConfig({ OTPGATE_DATA_DIR: dir, OTPGATE_SMTP_URL: `smtps://${USER}:${PASS}@mail.example.com:465`, OTPGATE_MAIL_FROM: 'otpgate@example.com' });
    assert.equal(smtp.smtp?.url.password, PASS);
  });

  it('finding 18: a failed breach check logs neither the URL\'s user:password@ nor the SHA-1 prefix of the password', async () => {
    const password = 'correct-horse-battery-41';
    const prefix = createHash('sha1').update(password).digest('hex').slice(0, 5).toUpperCase();
    const port = await closedPort();
    for (const base of [`https://${USER}:${PASS}@127.0.0.1:${port}/range/`, `https://127.0.0.1:${port}/range/?key=${QUERY}`]) {
      const { logger, text } = memoryLogger();
      // As the server wires it (main.ts): the error goes to logger.warn({ err }).
      const check = createRangeBreachCheck(new URL(base), { onError: (error) => logger.warn({ err: error }, 'breached-password check failed') });
      assert.equal(await check(password), null);
      assertClean(text(), [PASS, `${USER}:`, QUERY, prefix, prefix.toLowerCase()]);
    }
  });

  it('finding 18: a failed SMS webhook delivery logs neither the URL\'s user:password@ nor its query', async () => {
    const port = await closedPort();
    for (const url of [`http://${USER}:${PASS}@127.0.0.1:${port}/hook?token=${QUERY}`, `http://127.0.0.1:${port}/hook?token=${QUERY}`]) {
      const { logger, text } = memoryLogger();
      const sender = createSMSWebhookSender({ url: new URL(url), secret: 'whsec-0123456789abcdef', retryDelayMs: 0 });
      const error = await sender.send({ channel: 'sms', to: '+14155550123', kind: 'code', subject: '', text: '402913 is your code' }).then(() => assert.fail('sent'), (e: unknown) => e);
      logger.warn({ err: error, channel: 'sms' }, 'delivery failed');
      assertClean(text(), [PASS, `${USER}:`, QUERY, '402913']);
    }
  });
});
