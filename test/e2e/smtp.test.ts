/**
 * The real server (`npm start`) with OTPGATE_SMTP_URL pointing at an SMTP server on
 * loopback (STARTTLS with a test CA, AUTH): sign in with the code from the received mail.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SMTPSink } from '../support/smtp-sink.ts';
import { startSMTPSink } from '../support/smtp-sink.ts';
import type { RunningServer } from '../support/server.ts';
import { httpsClient, startServer } from '../support/server.ts';

const PASSWORD = 'juniper-ferry-204';
let sink: SMTPSink;
let server: RunningServer;
let dir: string;

before(async () => {
  sink = await startSMTPSink({ tls: 'starttls', auth: { user: 'mailer', pass: 'smtp-secret-9' } });
  dir = await mkdtemp(join(tmpdir(), 'otpgate-e2e-smtp-'));
  const caPath = join(dir, 'ca.pem');
  await writeFile(caPath, sink.ca);
  const url = new URL(sink.url);
  url.username = 'mailer';
  url.password = 'smtp-secret-9';
  server = await startServer({ OTPGATE_SMTP_URL: url.href, OTPGATE_SMTP_CA: caPath, OTPGATE_MAIL_FROM: 'otpgate <no-reply@example.test>' });
});

after(async () => {
  await server.stop();
  await sink.close();
  await rm(dir, { recursive: true, force: true });
});

describe('npm start with OTPGATE_SMTP_URL', () => {
  it('says at start-up that email goes over SMTP', async () => {
    await server.waitForOutput(/delivery: email: smtp \(smtp:\/\/127\.0\.0\.1:\d+ with STARTTLS\)/);
    assert.ok(!server.output().includes('smtp-secret-9'), 'no credential in the start-up lines');
  });

  it('signs in with the code from the received mail', async () => {
    const c = httpsClient(server);
    assert.equal((await c.request('POST', '/api/signup', { username: 'mira', password: PASSWORD, email: 'mira@example.test' })).status, 201);
    // The address counts once verified with the code mailed at sign-up.
    const check = await sink.waitForMessage((m) => m.rcptTo.includes('mira@example.test') && /verify your email/i.test(m.subject), 15_000);
    assert.equal((await c.request('POST', '/api/email/verify', { code: /\b(\d{6})\b/.exec(check.text)?.[1] ?? '' })).status, 200);
    const started = await c.request('POST', '/api/login', { username: 'mira', password: PASSWORD });
    assert.deepEqual(started.json(), { status: 'otp_required', methods: ['email'], sent: 'email' });
    const mail = await sink.waitForMessage((m) => m.rcptTo.includes('mira@example.test') && /sign-in code/i.test(m.subject), 15_000);
    assert.equal(mail.secure, true, 'STARTTLS was used');
    assert.equal(mail.authUser, 'mailer');
    const code = /\b(\d{6})\b/.exec(mail.text)?.[1] ?? '';
    assert.match(code, /^\d{6}$/);
    assert.ok(!mail.subject.includes(code), 'the code is not in the subject');
    assert.ok(mail.html.includes(code), 'the HTML body carries it too');
    const verified = await c.request('POST', '/api/login/verify', { method: 'email', code });
    assert.deepEqual(verified.json(), { status: 'authenticated' });
    assert.equal((await c.request('GET', '/api/me')).json<{ level: number }>().level, 2);
    assert.ok(!server.output().includes(code), 'with SMTP configured the code is not printed');
  });
});
