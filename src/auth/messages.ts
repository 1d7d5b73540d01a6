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

/** The link that lifts the password lock for strangers: sent once, when the lock engages. */
export function unlockLinkMessage(options: { to: string; username: string; issuer: string; link: string; ttlDays: number }): OutgoingMessage {
  const { to, username, issuer, link, ttlDays } = options;
  return {
    channel: 'email',
    to,
    kind: 'code',
    subject: `Sign-in from new browsers to ${issuer} is paused`,
    text: [
      `Someone entered a wrong password for your ${issuer} account "${username}" many times in a row.`,
      'Sign-in from browsers that never signed in to your account is paused; browsers you signed in with before still work.',
      '',
      'To allow new browsers again, open this link and confirm:',
      '',
      `    ${link}`,
      '',
      `It works once, for ${ttlDays} days.`,
      `If you didn't expect this, change your password once you are signed in.`,
    ].join('\n'),
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
