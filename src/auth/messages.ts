/** The texts people receive. A code appears only in the body, never in a subject (lock screens show subjects). */
import type { OutgoingMessage } from './ports.ts';

export function loginCodeMessage(options: { channel: 'email' | 'sms'; to: string; code: string; issuer: string; ttlMinutes: number; ip: string }): OutgoingMessage {
  const { channel, to, code, issuer, ttlMinutes, ip } = options;
  if (channel === 'sms') {
    // The last line lets phones offer the code for autofill (origin-bound one-time codes need a domain; plain text otherwise).
    return { channel, to, kind: 'code', subject: '', text: `${code} is your ${issuer} sign-in code. It expires in ${ttlMinutes} min. Never share it.` };
  }
  return {
    channel,
    to,
    kind: 'code',
    subject: `Your ${issuer} sign-in code`,
    text: [
      `Your ${issuer} sign-in code is:`,
      '',
      `    ${code}`,
      '',
      `It expires in ${ttlMinutes} minutes and works once.`,
      `Requested from ${ip}.`,
      '',
      `Didn't try to sign in? Someone knows your password: change it now.`,
    ].join('\n'),
  };
}

export function phoneVerificationMessage(options: { to: string; code: string; issuer: string; ttlMinutes: number }): OutgoingMessage {
  return {
    channel: 'sms',
    to: options.to,
    kind: 'code',
    subject: '',
    text: `${options.code} is your ${options.issuer} code to confirm this number. It expires in ${options.ttlMinutes} min.`,
  };
}

/** The only mail an unverified address receives: a code proving the person behind it wants it. */
export function emailVerificationMessage(options: { to: string; code: string; issuer: string; ttlMinutes: number; username: string }): OutgoingMessage {
  const { to, code, issuer, ttlMinutes, username } = options;
  return {
    channel: 'email',
    to,
    kind: 'code',
    subject: `Verify your email address for ${issuer}`,
    text: [
      `Someone gave this address for the ${issuer} account "${username}". To confirm it, enter this code:`,
      '',
      `    ${code}`,
      '',
      `It expires in ${ttlMinutes} minutes and works once.`,
      '',
      `Not you? Ignore this message: the address is not used until it is confirmed.`,
    ].join('\n'),
  };
}
