import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSMTPSender, describeSMTPURL } from '../../src/delivery/smtp.ts';
import type { SMTPSender, SMTPSenderOptions } from '../../src/delivery/smtp.ts';
import { DeliveryError } from '../../src/delivery/errors.ts';
import { loginCodeMessage } from '../../src/auth/messages.ts';
import type { OutgoingMessage } from '../../src/auth/index.ts';
import { createTestCA, startSMTPSink } from '../support/smtp-sink.ts';
import type { SMTPSink } from '../support/smtp-sink.ts';
import { closedPort, startSilentServer } from './helpers.ts';

const FROM = 'otpgate <otp@example.test>';
const SHORT = { connectionMs: 400, greetingMs: 400, socketMs: 1000, sendMs: 3000 };
const CODE = '402913';
const message = loginCodeMessage({ channel: 'email', to: 'alice@example.test', code: CODE, issuer: 'Example <Corp>', ttlMinutes: 5, ip: '192.0.2.10' });

const senders: SMTPSender[] = [];
function sender(url: string, options: Partial<SMTPSenderOptions> = {}): SMTPSender {
  const s = createSMTPSender({ url: new URL(url), from: FROM, timeouts: SHORT, ...options });
  senders.push(s);
  return s;
}

async function refusal(s: SMTPSender, m: OutgoingMessage = message): Promise<DeliveryError> {
  const error = await s.send(m).then(() => assert.fail('expected the send to fail'), (e: unknown) => e);
  assert.ok(error instanceof DeliveryError, String(error));
  // Neither our message nor what nodemailer said (the logged cause) carries the code or the text.
  const response = (error.cause as { response?: unknown } | undefined)?.response;
  const cause = error.cause instanceof Error ? `${error.cause.message} ${typeof response === 'string' ? response : ''}` : '';
  for (const text of [error.message, error.stack ?? '', cause]) {
    assert.ok(!text.includes(CODE), text);
    assert.ok(!text.includes('sign-in code is'), text);
  }
  return error;
}

describe('createSMTPSender()', () => {
  let sink: SMTPSink;
  before(async () => {
    sink = await startSMTPSink({ tls: 'starttls', auth: { user: 'mailer', pass: 'relay-pass' }, authMethods: ['PLAIN'] });
  });
  after(async () => {
    for (const s of senders) s.close();
    await sink.close();
  });

  it('delivers over STARTTLS with AUTH PLAIN, the certificate verified against OTPGATE_SMTP_CA', async () => {
    await sender(sink.url, { ca: sink.ca }).send(message);
    const mail = await sink.waitForMessage();
    assert.equal(mail.secure, true);
    assert.equal(mail.authMethod, 'PLAIN');
    assert.equal(mail.authUser, 'mailer');
    assert.deepEqual(mail.rcptTo, ['alice@example.test']);
    assert.equal(mail.mailFrom, 'otp@example.test');
    assert.equal(mail.headers.get('auto-submitted'), 'auto-generated');
    assert.equal(mail.subject, 'Your Example <Corp> sign-in code');
    assert.ok(!mail.subject.includes(CODE), 'no code in the subject');
    // Text: code, expiry, issuer, client address, the "wasn't you" line.
    assert.match(mail.text, new RegExp(`^    ${CODE}$`, 'm'));
    assert.match(mail.text, /expires in 5 minutes/);
    assert.match(mail.text, /Example <Corp>/);
    assert.match(mail.text, /192\.0\.2\.10/);
    assert.match(mail.text, /Didn't try to sign in\? .*change it now/);
    // HTML: the code large, alone, escaped text, no links.
    assert.match(mail.html, new RegExp(`font-size:32px[^>]*>${CODE}</p>`));
    assert.match(mail.html, /Example &#60;Corp&#62;/);
    assert.ok(!mail.html.includes('<Corp>'), 'the issuer is escaped');
    assert.ok(!/<a\b|href=/i.test(mail.html), 'no links');
    assert.match(mail.html, /Didn&#39;t try to sign in\?/);
  });

  it('uses AUTH LOGIN when that is what the server offers, with percent-decoded credentials', async () => {
    const login = await startSMTPSink({ tls: 'starttls', auth: { user: 'otp@example.test', pass: 'p@ss:w/rd %20' }, authMethods: ['LOGIN'] });
    try {
      assert.match(login.url, /otp%40example\.test:p%40ss%3Aw%2Frd%20%2520@/);
      await sender(login.url, { ca: login.ca }).send(message);
      const mail = await login.waitForMessage();
      assert.equal(mail.authMethod, 'LOGIN');
      assert.deepEqual(login.authAttempts, [{ method: 'LOGIN', username: 'otp@example.test', ok: true }]);
    } finally {
      await login.close();
    }
  });

  it('delivers over implicit TLS (smtps://)', async () => {
    const implicit = await startSMTPSink({ tls: 'implicit', auth: { user: 'u', pass: 'p' } });
    try {
      assert.match(implicit.url, /^smtps:/);
      await sender(implicit.url, { ca: implicit.ca }).send(message);
      assert.equal((await implicit.waitForMessage()).secure, true);
    } finally {
      await implicit.close();
    }
  });

  it('refuses a server whose certificate is not trusted, before AUTH', async () => {
    const before = sink.authAttempts.length;
    const error = await refusal(sender(sink.url));
    assert.equal(error.code, 'tls_failed');
    assert.match(error.message, /^smtp: TLS failed: the certificate is not trusted .*\(127\.0\.0\.1:\d+\)$/);
    const stranger = await createTestCA('someone else');
    assert.equal((await refusal(sender(sink.url, { ca: stranger.cert }))).code, 'tls_failed');
    const implicit = await startSMTPSink({ tls: 'implicit' });
    try {
      assert.equal((await refusal(sender(implicit.url))).code, 'tls_failed');
    } finally {
      await implicit.close();
    }
    assert.equal(sink.authAttempts.length, before, 'the password was never sent');
  });

  it('refuses a trusted certificate issued for another host', async () => {
    const other = await startSMTPSink({ certHosts: ['mail.example.com'] });
    try {
      const error = await refusal(sender(other.url, { ca: other.ca }));
      assert.equal(error.code, 'tls_failed');
      assert.match(error.message, /not for this host/);
    } finally {
      await other.close();
    }
  });

  it('refuses a server that offers no STARTTLS on smtp://, so the password never crosses in clear', async () => {
    const plain = await startSMTPSink({ tls: 'none', auth: { user: 'u', pass: 'p' } });
    try {
      const error = await refusal(sender(plain.url.replace('?starttls=off', ''), { ca: plain.ca }));
      assert.equal(error.code, 'tls_failed');
      assert.match(error.message, /offers no STARTTLS/);
      assert.deepEqual(plain.authAttempts, []);
      assert.equal(plain.messages.length, 0);
    } finally {
      await plain.close();
    }
  });

  it('talks plain SMTP to a loopback relay with ?starttls=off', async () => {
    const relay = await startSMTPSink({ tls: 'none' });
    try {
      await sender(relay.url).send(message);
      assert.equal((await relay.waitForMessage()).secure, false);
    } finally {
      await relay.close();
    }
  });

  it('reports a wrong password as auth_failed', async () => {
    const error = await refusal(sender(sink.url.replace('relay-pass', 'wrong-pass'), { ca: sink.ca }));
    assert.equal(error.code, 'auth_failed');
    assert.match(error.message, /^smtp: authentication failed 535 \(127\.0\.0\.1:\d+\)$/);
  });

  it('reports a refused connection at once', async () => {
    const port = await closedPort();
    const error = await refusal(sender(`smtp://127.0.0.1:${port}`));
    assert.equal(error.code, 'connection_refused');
    assert.equal(error.message, `smtp: connection refused (127.0.0.1:${port})`);
  });

  it('gives up on a server that accepts the connection but never greets', async () => {
    const silent = await startSilentServer();
    try {
      const error = await refusal(sender(`smtp://127.0.0.1:${silent.port}`));
      assert.equal(error.code, 'timeout');
      assert.match(error.message, /no greeting within 400 ms/);
      const implicit = await refusal(sender(`smtps://127.0.0.1:${silent.port}`));
      assert.equal(implicit.code, 'timeout');
    } finally {
      await silent.close();
    }
  });

  it('reports permanent (550) and temporary (451) refusals without the reply text, even one quoting the code', async () => {
    for (const [code, expected] of [[550, 'rejected'], [451, 'unavailable']] as const) {
      const refusing = await startSMTPSink({ rejectData: { code, message: `Content ${CODE} looks like spam` } });
      try {
        const error = await refusal(sender(refusing.url, { ca: refusing.ca }));
        assert.equal(error.code, expected);
        assert.match(error.message, new RegExp(`^smtp: message refused ${code} \\(127\\.0\\.0\\.1:\\d+\\)$`));
      } finally {
        await refusing.close();
      }
    }
  });

  it('refuses a recipient that could smuggle in others', async () => {
    const s = sender(sink.url, { ca: sink.ca });
    for (const to of ['a@example.test, b@example.test', 'A <a@example.test>', 'a@example.test\r\nBcc: b@example.test', '']) {
      assert.equal((await refusal(s, { ...message, to })).code, 'invalid_recipient');
    }
  });

  it('supports email only', () => {
    const s = sender(sink.url);
    assert.equal(s.supports('email'), true);
    assert.equal(s.supports('sms'), false);
  });
});

describe('describeSMTPURL()', () => {
  it('shows scheme, host and port, never the credentials', () => {
    assert.equal(describeSMTPURL(new URL('smtps://user:hunter2@mail.example.com')), 'smtps://mail.example.com:465');
    assert.equal(describeSMTPURL(new URL('smtp://user:hunter2@mail.example.com')), 'smtp://mail.example.com:587 with STARTTLS');
    assert.equal(describeSMTPURL(new URL('smtp://127.0.0.1:2525?starttls=off')), 'smtp://127.0.0.1:2525 without TLS (loopback relay)');
  });
});
