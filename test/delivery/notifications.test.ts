/** Security notifications, each on its event, read from a real SMTP server; none carries a secret. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSMTPSender } from '../../src/delivery/smtp.ts';
import type { SMTPSender } from '../../src/delivery/smtp.ts';
import { createCompositeSender } from '../../src/delivery/composite.ts';
import { DeliveryError } from '../../src/delivery/errors.ts';
import type { ClientInfo, Sender } from '../../src/auth/index.ts';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';
import { client, makeEngine } from '../support/engine.ts';
import { startSMTPSink } from '../support/smtp-sink.ts';
import type { ReceivedMail, SMTPSink } from '../support/smtp-sink.ts';
import { memorySender, startSilentServer } from './helpers.ts';
import { NOTIFY_WINDOW_MS } from '../../src/auth/notifications.ts';

const PASSWORD = 'tangerine-kayak-91';
const NEW_PASSWORD = 'marmalade-canoe-47';
const SHORT = { connectionMs: 300, greetingMs: 300, socketMs: 1000, sendMs: 2000 };
// Mail that should arrive gets the production timeouts: a loaded machine must not fail these tests.
const NORMAL = { connectionMs: 10_000, greetingMs: 10_000, socketMs: 20_000, sendMs: 30_000 };
const elsewhere: ClientInfo = { ip: '198.51.100.7', userAgent: 'Other/2.0 <script>alert(1)</script>' };

type Engine = Awaited<ReturnType<typeof makeEngine>>;

let sink: SMTPSink;
const closers: Array<() => void> = [];
before(async () => {
  sink = await startSMTPSink({ tls: 'starttls', auth: { user: 'u', pass: 'p' } });
});
after(async () => {
  for (const close of closers) close();
  await sink.close();
});

function smtp(url = sink.url, ca: string | undefined = sink.ca, timeouts = NORMAL): SMTPSender {
  const s = createSMTPSender({ url: new URL(url), from: 'otpgate <otp@example.test>', timeouts, ...(ca === undefined ? {} : { ca }) });
  closers.push(() => s.close());
  return s;
}

async function engine(sender: Sender = createCompositeSender({ email: smtp(), sms: memorySender() }), onDeliveryError?: (error: unknown) => void) {
  // Email is not a second factor here: the accounts have a verified address (for the
  // notifications) and still enroll an authenticator from a password-only session.
  return makeEngine({ sender, issuer: 'Example', factors: ['totp', 'sms', 'recovery'], ...(onDeliveryError ? { onDeliveryError } : {}) });
}

/** An account with an email address and a confirmed authenticator; every secret it was given. */
async function enrolledUser(e: Engine, name: string, label = 'Phone') {
  const email = `${name}@example.test`;
  const created = await e.auth.createAccount({ username: name, password: PASSWORD });
  assert.ok(created.status === 'ok');
  const start = await e.auth.startLogin(name, PASSWORD, client);
  assert.ok(start.status === 'enrollment_required');
  // Set in the store as a verified address (notifications go only to a verified one).
  await e.store.updateUser(created.user.id, { email, emailVerifiedAt: e.now() });
  const enrolled = await e.auth.beginTOTPEnrollment(start.session.session, label);
  assert.ok(enrolled.status === 'ok');
  const secret = decodeBase32(enrolled.enrollment.secret);
  const confirmed = await e.auth.confirmTOTPEnrollment(start.session.session, enrolled.enrollment.factorId, generateTOTP(secret, e.now()), client);
  assert.ok(confirmed.status === 'ok' && confirmed.session);
  e.advance(30_000);
  const recoveryCodes = confirmed.recoveryCodes ?? [];
  return {
    email,
    secret,
    factorId: enrolled.enrollment.factorId,
    session: confirmed.session.session,
    recoveryCodes,
    secrets: [PASSWORD, NEW_PASSWORD, enrolled.enrollment.secret, enrolled.enrollment.otpauthURI, ...recoveryCodes, ...recoveryCodes.map((c) => c.replace(/-/g, ''))],
  };
}

async function loginWithTOTP(e: Engine, name: string, secret: Uint8Array, from: ClientInfo = client): Promise<void> {
  const start = await e.auth.startLogin(name, PASSWORD, from);
  assert.ok(start.status === 'otp_required', JSON.stringify(start));
  const result = await e.auth.verifyLogin(start.pendingLoginId, 'totp', generateTOTP(secret, e.now()), from);
  assert.equal(result.status, 'authenticated');
  e.advance(30_000);
}

/** The notifications `email` received (after every one in flight has been sent). */
async function notifications(e: Engine, email: string, subject?: RegExp): Promise<ReceivedMail[]> {
  await e.auth.context.settle();
  return sink.messages.filter((m) => m.rcptTo.includes(email) && (subject === undefined || subject.test(m.subject)));
}

function assertNoSecrets(mail: ReceivedMail, secrets: string[]): void {
  for (const secret of secrets) {
    for (const [part, value] of [['raw', mail.raw], ['text', mail.text], ['html', mail.html], ['subject', mail.subject]] as const) {
      assert.ok(!value.includes(secret), `the ${part} of "${mail.subject}" contains a secret`);
    }
  }
  assert.equal(/\b\d{6}\b/.exec(mail.text), null, 'no code-like number');
  assert.ok(!/<a\b|<script/i.test(mail.html), 'no links, no markup from the client');
}

describe('security notifications', () => {
  it('authenticator added: its label, when, address and browser', async () => {
    const e = await engine();
    const u = await enrolledUser(e, 'ada', '<b>Work</b> phone');
    const [mail, ...rest] = await notifications(e, u.email);
    assert.ok(mail);
    assert.equal(rest.length, 0);
    assert.equal(mail.subject, 'Authenticator added to your Example account');
    assert.match(mail.text, /named "<b>Work<\/b> phone" was added to your Example account "ada"/);
    assert.match(mail.text, /^When: 2026-01-01 12:00:00 UTC$/m);
    assert.match(mail.text, /^Address: 192\.0\.2\.10$/m);
    assert.match(mail.text, /^Browser: test-agent\/1\.0$/m);
    assert.match(mail.html, /&#60;b&#62;Work&#60;\/b&#62; phone/);
    assertNoSecrets(mail, u.secrets);
    await e.close();
  });

  it('new sign-in: once per new browser or address, never again for a familiar one', async () => {
    const e = await engine();
    const u = await enrolledUser(e, 'bea');
    await loginWithTOTP(e, 'bea', u.secret);
    const first = await notifications(e, u.email, /New sign-in/);
    assert.equal(first.length, 1);
    assert.equal(first[0]?.subject, 'New sign-in to your Example account');
    assert.match(first[0]?.text ?? '', /with a code from an authenticator app/);
    assert.match(first[0]?.text ?? '', /^Address: 192\.0\.2\.10$/m);

    await loginWithTOTP(e, 'bea', u.secret);
    assert.equal((await notifications(e, u.email, /New sign-in/)).length, 1, 'same address and browser: no mail');

    e.advance(NOTIFY_WINDOW_MS); // one mail per kind per 10 minutes (issue 12 finding 10)
    await loginWithTOTP(e, 'bea', u.secret, elsewhere);
    const all = await notifications(e, u.email, /New sign-in/);
    assert.equal(all.length, 2);
    const mail = all[1];
    assert.ok(mail);
    assert.match(mail.text, /^Address: 198\.51\.100\.7$/m);
    assert.match(mail.text, /^Browser: Other\/2\.0 <script>alert\(1\)<\/script>$/m);
    assert.match(mail.html, /Other\/2\.0 &#60;script&#62;/);
    for (const m of all) assertNoSecrets(m, u.secrets);
    await e.close();
  });

  it('right password, wrong code: one notification per pending login, at its first failure', async () => {
    const e = await engine();
    const u = await enrolledUser(e, 'cleo');
    for (const from of [client, elsewhere]) {
      e.advance(NOTIFY_WINDOW_MS); // one mail per kind per 10 minutes (issue 12 finding 10)
      const start = await e.auth.startLogin('cleo', PASSWORD, from);
      assert.ok(start.status === 'otp_required');
      const right = generateTOTP(u.secret, e.now());
      const wrong = right === '000000' ? '111111' : '000000';
      for (let i = 0; i < 2; i++) assert.equal((await e.auth.verifyLogin(start.pendingLoginId, 'totp', wrong, from)).status, 'invalid_code');
    }
    const mails = await notifications(e, u.email, /Failed sign-in/);
    assert.equal(mails.length, 2, 'one per pending login, not one per guess');
    assert.equal(mails[0]?.subject, 'Failed sign-in to your Example account');
    assert.match(mails[0]?.text ?? '', /entered the right password for your Example account "cleo", then a one-time code that was not accepted/);
    assert.match(mails[0]?.text ?? '', /^Address: 192\.0\.2\.10$/m);
    assert.match(mails[1]?.text ?? '', /^Address: 198\.51\.100\.7$/m);
    assert.match(mails[0]?.text ?? '', /change it now/);
    for (const m of mails) assertNoSecrets(m, u.secrets);
    await e.close();
  });

  it('authenticator removed', async () => {
    const e = await engine();
    const u = await enrolledUser(e, 'dora');
    assert.equal((await e.auth.removeTOTPFactor(u.session, u.factorId, { password: PASSWORD }, client)).status, 'ok');
    const [mail] = await notifications(e, u.email, /removed/);
    assert.ok(mail);
    assert.equal(mail.subject, 'Authenticator removed from your Example account');
    assert.match(mail.text, /"Phone" was removed/);
    assertNoSecrets(mail, u.secrets);
    await e.close();
  });

  it('recovery code used: how many are left', async () => {
    const e = await engine();
    const u = await enrolledUser(e, 'edda');
    const start = await e.auth.startLogin('edda', PASSWORD, client);
    assert.ok(start.status === 'otp_required');
    const used = await e.auth.verifyLogin(start.pendingLoginId, 'recovery', u.recoveryCodes[0] ?? '', client);
    assert.equal(used.status === 'authenticated' && used.recoveryCodesLeft, 9);
    const mails = await notifications(e, u.email, /Recovery code used/);
    assert.equal(mails.length, 1);
    assert.match(mails[0]?.text ?? '', /A recovery code was used to sign in to your Example account "edda"\. Each code works once; 9 recovery codes are left\./);
    assert.doesNotMatch(mails[0]?.text ?? '', /generate a new set/, 'no prompt while many are left');
    assert.equal((await notifications(e, u.email, /New sign-in/)).length, 0, 'one mail for this sign-in');
    for (const m of await notifications(e, u.email)) assertNoSecrets(m, u.secrets);
    await e.close();
  });

  it('new recovery codes', async () => {
    const e = await engine();
    const u = await enrolledUser(e, 'faye');
    const regenerated = await e.auth.regenerateRecoveryCodes(u.session, { password: PASSWORD }, client);
    assert.ok(regenerated.status === 'ok');
    const [mail] = await notifications(e, u.email, /New recovery codes/);
    assert.ok(mail);
    assert.match(mail.text, /The previous codes no longer work/);
    assertNoSecrets(mail, [...u.secrets, ...regenerated.recoveryCodes]);
    await e.close();
  });

  it('password changed, with the other sessions signed out', async () => {
    const e = await engine();
    const u = await enrolledUser(e, 'gina');
    await loginWithTOTP(e, 'gina', u.secret);
    const changed = await e.auth.changePassword(u.session, PASSWORD, NEW_PASSWORD, client);
    assert.equal(changed.status, 'ok');
    assert.equal(changed.status === 'ok' ? changed.revokedSessions : null, 1);
    const [mail] = await notifications(e, u.email, /password was changed/);
    assert.ok(mail);
    assert.equal(mail.subject, 'Your Example password was changed');
    assert.match(mail.text, /The password of your Example account "gina" was changed\. 1 other session was signed out\./);
    assertNoSecrets(mail, u.secrets);
    await e.close();
  });

  it('phone number confirmed, the number masked', async () => {
    const sms = memorySender();
    const e = await engine(createCompositeSender({ email: smtp(), sms }));
    const u = await enrolledUser(e, 'hana');
    assert.equal((await e.auth.startPhoneVerification(u.session, '+1 415 555 0123', client)).status, 'sent');
    const code = /\d{6}/.exec(sms.messages[0]?.text ?? '')?.[0] ?? '';
    assert.equal((await e.auth.confirmPhoneVerification(u.session, code, client)).status, 'ok');
    const [mail] = await notifications(e, u.email, /Phone number/);
    assert.ok(mail);
    assert.match(mail.text, /The phone number \+14•••••0123 was confirmed/);
    assert.ok(!mail.text.includes('+14155550123'));
    assertNoSecrets(mail, [...u.secrets, code]);
    await e.close();
  });

  it('a mail server that never answers delays and fails nothing; the error is reported', async () => {
    const silent = await startSilentServer();
    const errors: unknown[] = [];
    const e = await engine(createCompositeSender({ email: smtp(`smtp://127.0.0.1:${silent.port}`, undefined, SHORT) }), (error) => errors.push(error));
    try {
      const u = await enrolledUser(e, 'iris');
      await loginWithTOTP(e, 'iris', u.secret, elsewhere);
      // The sign-in finished while both notifications were still waiting for the server.
      assert.equal(errors.length, 0, 'still in flight');
      await e.auth.context.settle();
      assert.equal(errors.length, 2, 'authenticator added, new sign-in');
      for (const error of errors) {
        assert.ok(error instanceof DeliveryError);
        assert.equal(error.code, 'timeout');
      }
    } finally {
      await silent.close();
      await e.close();
    }
  });
});
