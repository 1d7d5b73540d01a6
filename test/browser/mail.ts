/** Sign-in codes as a person gets them: from the mail the server sent to the SMTP sink. */
import assert from 'node:assert/strict';
import type { SMTPSink } from '../support/smtp-sink.ts';

/** The sink's message count now: pass it to `nextSignInCode` to read only mail sent after this point. */
export function mailMark(sink: SMTPSink): number {
  return sink.messages.length;
}

/** The 6-digit code of the first sign-in mail to `address` received after `mark`. */
export async function nextSignInCode(sink: SMTPSink, address: string, mark: number): Promise<string> {
  const mail = await sink.waitForMessage(
    (m) => sink.messages.indexOf(m) >= mark && m.rcptTo.includes(address) && /sign-in code/i.test(m.subject),
    15_000,
  );
  const code = /^\s*(\d{6})\s*$/m.exec(mail.text)?.[1];
  assert.ok(code, `no code in the mail:\n${mail.text}`);
  return code;
}

/** The 6-digit code of the first address-verification mail to `address` received after `mark`. */
export async function nextVerificationCode(sink: SMTPSink, address: string, mark: number): Promise<string> {
  const mail = await sink.waitForMessage(
    (m) => sink.messages.indexOf(m) >= mark && m.rcptTo.includes(address) && /verify your email/i.test(m.subject),
    15_000,
  );
  const code = /^\s*(\d{6})\s*$/m.exec(mail.text)?.[1];
  assert.ok(code, `no code in the mail:\n${mail.text}`);
  return code;
}
