/**
 * Email over SMTP (nodemailer), configured by OTPGATE_SMTP_URL:
 *
 * - `smtps://user:pass@host:465`: TLS from the first byte;
 * - `smtp://user:pass@host:587`: STARTTLS required; a server that does not offer it is
 *   refused before the password is sent. `?starttls=off` (config allows it only on
 *   loopback) talks plain SMTP to a local relay.
 *
 * The server certificate is always verified (host name included) against Node's CA
 * bundle, the operating system's store and OTPGATE_SMTP_CA. The user name and password
 * come percent-decoded from the URL. A small pool of connections is kept open, and
 * timeouts are short enough that a dead server fails a login's send in seconds, not
 * minutes. Errors never carry the message: see errors.ts.
 */
import { isIP } from 'node:net';
import { getCACertificates } from 'node:tls';
import nodemailer from 'nodemailer';
import type { NodemailerError, SMTPPoolOptions } from 'nodemailer';
import type { DeliveryChannel, OutgoingMessage, Sender } from '../auth/ports.ts';
import type { DeliveryErrorCode } from './errors.ts';
import { DeliveryError } from './errors.ts';
import { renderEmail } from './templates.ts';

export interface SMTPTimeouts {
  /** TCP (and implicit TLS) connection. */
  connectionMs: number;
  /** From connected to the server's 220 greeting. */
  greetingMs: number;
  /** Inactivity on an open connection. */
  socketMs: number;
  /** The whole send, queueing in the pool included. */
  sendMs: number;
}

export const SMTP_TIMEOUTS: SMTPTimeouts = { connectionMs: 10_000, greetingMs: 10_000, socketMs: 20_000, sendMs: 30_000 };

export interface SMTPSenderOptions {
  url: URL;
  /** The From header: `otp@example.com` or `Name <otp@example.com>`. */
  from: string;
  /** Extra CA certificates (PEM text) trusted besides the system ones. */
  ca?: string;
  /** Tests shorten these. */
  timeouts?: Partial<SMTPTimeouts>;
  maxConnections?: number;
}

export interface SMTPSender extends Sender {
  /** Closes the pooled connections (shutdown, tests). */
  close(): void;
}

/** `smtps://mail.example.com:465`, `smtp://…:587 with STARTTLS`: never the credentials, for the start-up line. */
export function describeSMTPURL(url: URL): string {
  const secure = url.protocol === 'smtps:';
  const port = url.port === '' ? (secure ? 465 : 587) : Number(url.port);
  const plain = url.searchParams.get('starttls') === 'off';
  return `${secure ? 'smtps' : 'smtp'}://${url.hostname}:${port}${plain ? ' without TLS (loopback relay)' : secure ? '' : ' with STARTTLS'}`;
}

export function createSMTPSender(options: SMTPSenderOptions): SMTPSender {
  const { url } = options;
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new TypeError('The SMTP URL must be smtp:// or smtps://');
  const timeouts = { ...SMTP_TIMEOUTS, ...options.timeouts };
  const secure = url.protocol === 'smtps:';
  const plain = !secure && url.searchParams.get('starttls') === 'off';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? (secure ? 465 : 587) : Number(url.port);
  const where = `(${host.includes(':') ? `[${host}]` : host}:${port})`;
  const user = decode(url.username);

  const transportOptions: SMTPPoolOptions & { pool: true } = {
    pool: true,
    maxConnections: options.maxConnections ?? 3,
    maxMessages: 100,
    // A connection dropped mid-send is retried once, not five times: someone is waiting.
    maxRequeues: 1,
    idleTimeout: 60_000,
    host,
    port,
    secure,
    requireTLS: !secure && !plain,
    ignoreTLS: plain,
    ...(user === '' ? {} : { auth: { user, pass: decode(url.password) } }),
    tls: {
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      ca: trustedCAs(options.ca),
      ...(isIP(host) === 0 ? { servername: host } : {}),
    },
    connectionTimeout: timeouts.connectionMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
    dnsTimeout: timeouts.connectionMs,
    logger: false,
    debug: false,
  };
  const transporter = nodemailer.createTransport(transportOptions);

  return {
    supports: (channel: DeliveryChannel) => channel === 'email',
    async send(message: OutgoingMessage): Promise<void> {
      if (message.channel !== 'email') throw new DeliveryError('smtp', 'no_sender', `cannot deliver ${message.channel}`);
      // One plain address: a comma or angle bracket here could add recipients.
      if (!/^[^\s<>(),;:"\\@]+@[^\s<>(),;:"\\@]+$/.test(message.to)) {
        throw new DeliveryError('smtp', 'invalid_recipient', 'the address is not a single plain email address');
      }
      const { subject, text, html } = renderEmail(message);
      try {
        await transporter.sendMail({
          from: options.from,
          to: message.to,
          subject,
          text,
          html,
          // RFC 3834: no vacation replies to a machine.
          headers: { 'Auto-Submitted': 'auto-generated' },
          disableFileAccess: true,
          disableUrlAccess: true,
          signal: AbortSignal.timeout(timeouts.sendMs),
        });
      } catch (error) {
        scrubCodes(error, text);
        throw smtpError(error, where, timeouts);
      }
    },
    close: () => transporter.close(),
  };
}

/**
 * A server's reply text ends up in the cause's message; should it quote the code (a
 * content filter might), blank it there too, since the cause is logged with the error.
 */
function scrubCodes(error: unknown, text: string): void {
  const codes = [...new Set(text.match(/\d{6,}/g) ?? [])];
  if (codes.length === 0 || !(error instanceof Error)) return;
  const scrub = (value: string): string => codes.reduce((v, code) => v.split(code).join('[code]'), value);
  const e = error as NodemailerError;
  e.message = scrub(e.message);
  if (e.stack !== undefined) e.stack = scrub(e.stack);
  if (typeof e.response === 'string') e.response = scrub(e.response);
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Node's bundled roots, the operating system's store, and the operator's extra PEM. */
function trustedCAs(extra: string | undefined): string[] {
  const all = new Set(getCACertificates('default'));
  try {
    for (const cert of getCACertificates('system')) all.add(cert);
  } catch {
    // no readable system store here: the bundled roots remain
  }
  if (extra !== undefined) all.add(extra);
  return [...all];
}

const TLS_ERROR = /CERT|SSL|TLS|SELF_SIGNED|ALTNAME|UNABLE_TO|HOSTNAME/;

/**
 * A DeliveryError from what nodemailer threw. Only the error's code, the SMTP reply
 * code and the socket's errno go into the message; the server's reply text might quote
 * what was sent, so it stays in `cause` only.
 */
export function smtpError(error: unknown, where: string, timeouts: SMTPTimeouts): DeliveryError {
  const e = (error ?? {}) as NodemailerError & { cause?: unknown };
  // nodemailer replaces a socket error's code (ECONNREFUSED…) by its own (ESOCKET); the message keeps it.
  const socketCode = codeOfCause(e.cause) ?? (typeof e.syscall === 'string' ? codeOf(e) : undefined);
  const reply = typeof e.responseCode === 'number' ? ` ${e.responseCode}` : '';
  const fail = (code: DeliveryErrorCode, detail: string): DeliveryError => new DeliveryError('smtp', code, `${detail} ${where}`, { cause: error });
  const message = error instanceof Error ? error.message : '';

  if (socketCode === 'ECONNREFUSED' || /ECONNREFUSED/.test(message)) return fail('connection_refused', 'connection refused');
  switch (e.code) {
    case 'ETIMEDOUT':
      if (/greeting/i.test(message)) return fail('timeout', `no greeting within ${timeouts.greetingMs} ms`);
      if (/connection timeout/i.test(message)) return fail('timeout', `not connected within ${timeouts.connectionMs} ms`);
      return fail('timeout', 'timed out');
    case 'EABORT':
      return fail('timeout', `not delivered within ${timeouts.sendMs} ms`);
    case 'EDNS':
      return fail('connection_failed', 'host not found');
    case 'ETLS':
    case 'EREQUIRETLS':
      return fail('tls_failed', /STARTTLS/i.test(message) ? 'the server offers no STARTTLS' : 'TLS failed');
    case 'EAUTH':
    case 'ENOAUTH':
      return fail('auth_failed', `authentication failed${reply}`);
    case 'EENVELOPE':
      return fail(e.permanent === false ? 'unavailable' : 'rejected', `recipient refused${reply}`);
    case 'EMESSAGE':
      return fail(e.permanent === false ? 'unavailable' : 'rejected', `message refused${reply}`);
    case 'EPROTOCOL':
      return fail('protocol_error', `unexpected reply${reply}`);
    default:
  }
  const tlsCode = [socketCode, typeof e.code === 'string' ? e.code : undefined].find((c) => c !== undefined && TLS_ERROR.test(c));
  if (/altnames|does not match certificate/i.test(message)) return fail('tls_failed', 'TLS failed: the certificate is not for this host');
  if (/unable to verify|self.signed|unable to get (local )?issuer/i.test(message)) {
    return fail('tls_failed', 'TLS failed: the certificate is not trusted (set OTPGATE_SMTP_CA for a private CA)');
  }
  if (/certificate has expired|not yet valid/i.test(message)) return fail('tls_failed', 'TLS failed: the certificate is expired or not yet valid');
  if (tlsCode !== undefined || /certificate|TLS|SSL/i.test(message)) return fail('tls_failed', `TLS failed${tlsCode === undefined ? '' : `: ${tlsCode}`}`);
  if (socketCode === 'ECONNRESET' || socketCode === 'EPIPE') return fail('connection_failed', 'connection reset');
  if (socketCode === 'EHOSTUNREACH' || socketCode === 'ENETUNREACH') return fail('connection_failed', 'host unreachable');
  if (e.code === 'ECONNECTION' || e.code === 'ESOCKET') return fail('connection_failed', 'connection closed');
  return fail('connection_failed', `failed${typeof e.code === 'string' && /^[A-Z_]{2,32}$/.test(e.code) ? `: ${e.code}` : ''}`);
}

function codeOf(e: { message?: unknown }): string | undefined {
  return typeof e.message === 'string' ? /\b(E[A-Z]{3,}|ERR_[A-Z_]+)\b/.exec(e.message)?.[1] : undefined;
}

function codeOfCause(cause: unknown): string | undefined {
  if (typeof cause !== 'object' || cause === null || !('code' in cause)) return undefined;
  const { code } = cause;
  return typeof code === 'string' ? code : undefined;
}
