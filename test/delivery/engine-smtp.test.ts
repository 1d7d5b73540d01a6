/** The login engine (real SQLite store) sending its codes through the SMTP sender to a real SMTP server. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSMTPSender } from '../../src/delivery/smtp.ts';
import type { SMTPSender } from '../../src/delivery/smtp.ts';
import { createCompositeSender } from '../../src/delivery/composite.ts';
import { DeliveryError } from '../../src/delivery/errors.ts';
import type { StartResult } from '../../src/auth/index.ts';
import { client, makeEngine } from '../support/engine.ts';
import { startSMTPSink } from '../support/smtp-sink.ts';
import type { SMTPSink } from '../support/smtp-sink.ts';
import { closedPort, sixDigitRuns, startSilentServer, switchableSender } from './helpers.ts';

const PASSWORD = 'tangerine-kayak-91';
const SHORT = { connectionMs: 300, greetingMs: 300, socketMs: 1000, sendMs: 2000 };

function pendingId(result: StartResult): string {
  assert.equal(result.status, 'otp_required', JSON.stringify(result));
  return result.status === 'otp_required' ? result.pendingLoginId : '';
}

function codeIn(text: string): string {
  const code = /^ {4}(\d{6})$/m.exec(text)?.[1];
  assert.ok(code, `no code in ${JSON.stringify(text)}`);
  return code;
}

describe('the engine sending codes over SMTP', () => {
  let sink: SMTPSink;
  const senders: SMTPSender[] = [];
  const smtp = (url: string, ca?: string): SMTPSender => {
    const s = createSMTPSender({ url: new URL(url), from: 'otp@example.test', timeouts: SHORT, ...(ca === undefined ? {} : { ca }) });
    senders.push(s);
    return s;
  };
  before(async () => {
    sink = await startSMTPSink({ tls: 'starttls', auth: { user: 'u', pass: 'p' } });
  });
  after(async () => {
    for (const s of senders) s.close();
    await sink.close();
  });

  it('delivers the login code by email: in the body, not the subject, and it signs in', async () => {
    const e = await makeEngine({ sender: createCompositeSender({ email: smtp(sink.url, sink.ca) }) });
    await e.auth.createAccount({ username: 'alice', password: PASSWORD, email: 'alice@example.test' });
    const start = await e.auth.startLogin('alice', PASSWORD, client);
    assert.equal(start.status === 'otp_required' && start.sent, 'email');
    const mail = await sink.waitForMessage((m) => m.rcptTo.includes('alice@example.test') && /sign-in code/.test(m.subject));
    const code = codeIn(mail.text);
    assert.ok(!mail.subject.includes(code));
    assert.ok(mail.html.includes(`>${code}</p>`));
    assert.equal((await e.auth.verifyLogin(pendingId(start), 'email', code, client)).status, 'authenticated');
    await e.auth.context.settle();
    await e.close();
  });

  for (const [name, peer] of [
    ['a refused connection', async () => ({ url: `smtp://127.0.0.1:${await closedPort()}`, expected: 'connection_refused', close: async () => {} })],
    ['a server that never greets', async () => {
      const silent = await startSilentServer();
      return { url: `smtp://127.0.0.1:${silent.port}`, expected: 'timeout', close: () => silent.close() };
    }],
  ] as const) {
    it(`answers delivery_failed for ${name}, logs no code, and keeps the pending login usable`, async () => {
      const broken = await peer();
      const errors: unknown[] = [];
      const sender = switchableSender(createCompositeSender({ email: smtp(broken.url) }));
      const e = await makeEngine({ sender, onDeliveryError: (error) => errors.push(error) });
      try {
        await e.auth.createAccount({ username: 'bob', password: PASSWORD, email: 'bob@example.test' });
        const start = await e.auth.startLogin('bob', PASSWORD, client);
        assert.equal(start.status === 'otp_required' && start.deliveryFailed, 'email');
        const id = pendingId(start);
        assert.equal(errors.length, 1);
        const error = errors[0];
        assert.ok(error instanceof DeliveryError);
        assert.equal(error.code, broken.expected);
        assert.deepEqual(sixDigitRuns(`${error.message} ${error.cause instanceof Error ? error.cause.message : ''}`), []);
        const events = await e.auth.listAudit({ limit: 10 });
        assert.ok(events.some((x) => x.type === 'delivery_failed' && x.method === 'email'));

        // The mail server is back: a resend on the same pending login works and signs in.
        sender.target = createCompositeSender({ email: smtp(sink.url, sink.ca) });
        e.advance(30_000);
        assert.equal((await e.auth.sendLoginCode(id, 'email', client)).status, 'sent');
        const mail = await sink.waitForMessage((m) => m.rcptTo.includes('bob@example.test') && /sign-in code/.test(m.subject));
        assert.equal((await e.auth.verifyLogin(id, 'email', codeIn(mail.text), client)).status, 'authenticated');
        await e.auth.context.settle();
        sink.messages.length = 0;
      } finally {
        await broken.close();
        await e.close();
      }
    });
  }
});
