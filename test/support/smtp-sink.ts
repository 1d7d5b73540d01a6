/**
 * A real SMTP server on 127.0.0.1 (smtp-server) that keeps every message it receives,
 * for tests that send email: STARTTLS, implicit TLS or plain; optional AUTH PLAIN/LOGIN.
 * Its certificate comes from a throwaway CA made at test time (no openssl binary).
 *
 *     const sink = await startSMTPSink({ tls: 'starttls', auth: { user: 'u', pass: 'p' } });
 *     // OTPGATE_SMTP_URL=sink.url OTPGATE_SMTP_CA=<sink.ca written to a file>
 *     const mail = await sink.waitForMessage((m) => m.to.includes('alice@example.test'));
 *     await sink.close();
 */
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerOptions } from 'smtp-server';

export interface TestCA {
  /** PEM */
  cert: string;
  key: string;
}

export interface ReceivedMail {
  /** Envelope sender (MAIL FROM). */
  mailFrom: string;
  /** Envelope recipients (RCPT TO). */
  rcptTo: string[];
  /** Header values, decoded (RFC 2047); names lower-case. */
  headers: Map<string, string>;
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The message as received, CRLF line ends. */
  raw: string;
  /** The session was encrypted (implicit TLS or after STARTTLS). */
  secure: boolean;
  authUser: string | null;
  authMethod: string | null;
}

export interface SMTPSinkOptions {
  /** Default `starttls`. */
  tls?: 'starttls' | 'implicit' | 'none';
  /** When set, AUTH is required and only these credentials pass. */
  auth?: { user: string; pass: string };
  /** Default both. */
  authMethods?: Array<'PLAIN' | 'LOGIN'>;
  /** The CA that signs the server certificate; default: one shared by this process. */
  ca?: TestCA;
  /** Names and addresses in the certificate; default localhost and 127.0.0.1. */
  certHosts?: string[];
  /** Answer DATA with this error instead of accepting (e.g. 550 or 451). */
  rejectData?: { code: number; message: string };
}

export interface SMTPSink {
  host: '127.0.0.1';
  port: number;
  /** PEM of the CA that signed the server certificate (OTPGATE_SMTP_CA). */
  ca: string;
  /** An OTPGATE_SMTP_URL for this sink, credentials included. */
  url: string;
  messages: ReceivedMail[];
  authAttempts: Array<{ method: string; username: string; ok: boolean }>;
  /** The first message (already received or yet to come) matching `predicate`. */
  waitForMessage(predicate?: (mail: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

let sharedCA: Promise<TestCA> | undefined;

/** A fresh CA certificate and key (EC P-256: fast). */
export async function createTestCA(name = 'otpgate test CA'): Promise<TestCA> {
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A server certificate for `hosts` (DNS names or IP addresses) signed by `ca`. */
export async function issueServerCert(ca: TestCA, hosts = ['localhost', '127.0.0.1']): Promise<TestCA> {
  const pems = await generate([{ name: 'commonName', value: hosts[0] ?? 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 86_400_000),
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: hosts.map((h) => (/^[\d.]+$|:/.test(h) ? { type: 7 as const, ip: h } : { type: 2 as const, value: h })) },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

export async function startSMTPSink(options: SMTPSinkOptions = {}): Promise<SMTPSink> {
  const mode = options.tls ?? 'starttls';
  const ca = options.ca ?? (await (sharedCA ??= createTestCA()));
  const server = await issueServerCert(ca, options.certHosts);
  const messages: ReceivedMail[] = [];
  const authAttempts: SMTPSink['authAttempts'] = [];
  const waiters = new Set<{ predicate: (mail: ReceivedMail) => boolean; resolve: (mail: ReceivedMail) => void }>();

  const serverOptions: SMTPServerOptions = {
    secure: mode === 'implicit',
    key: server.key,
    cert: server.cert,
    name: 'sink.test',
    logger: false,
    disableReverseLookup: true,
    // Idle pooled client connections must not hold close() for the default 30 s.
    closeTimeout: 50,
    authOptional: options.auth === undefined,
    authMethods: options.authMethods ?? ['PLAIN', 'LOGIN'],
    ...(mode === 'none' ? { disabledCommands: ['STARTTLS'], allowInsecureAuth: true } : {}),
    onAuth(auth, _session, callback) {
      const ok = options.auth !== undefined && auth.username === options.auth.user && auth.password === options.auth.pass;
      authAttempts.push({ method: auth.method, username: auth.username ?? '', ok });
      if (ok) callback(null, { user: { name: auth.username, method: auth.method } });
      else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (options.rejectData) {
          callback(Object.assign(new Error(options.rejectData.message), { responseCode: options.rejectData.code }));
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        const parsed = parseMessage(raw);
        const user = session.user as { name: string; method: string } | undefined;
        const mail: ReceivedMail = {
          mailFrom: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          ...parsed,
          raw,
          secure: session.secure,
          authUser: user?.name ?? null,
          authMethod: user?.method ?? null,
        };
        messages.push(mail);
        for (const waiter of waiters) {
          if (waiter.predicate(mail)) {
            waiters.delete(waiter);
            waiter.resolve(mail);
          }
        }
        callback();
      });
    },
  };
  const smtp = new SMTPServer(serverOptions);
  smtp.on('error', () => undefined); // a client hanging up mid-session is not a test failure
  await new Promise<void>((resolve, reject) => {
    smtp.server.once('error', reject);
    smtp.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (smtp.server.address() as AddressInfo).port;
  const credentials = options.auth ? `${encodeURIComponent(options.auth.user)}:${encodeURIComponent(options.auth.pass)}@` : '';
  const url = mode === 'implicit'
    ? `smtps://${credentials}127.0.0.1:${port}`
    : `smtp://${credentials}127.0.0.1:${port}${mode === 'none' ? '?starttls=off' : ''}`;

  return {
    host: '127.0.0.1',
    port,
    ca: ca.cert,
    url,
    messages,
    authAttempts,
    waitForMessage(predicate = () => true, timeoutMs = 5000): Promise<ReceivedMail> {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (mail: ReceivedMail) => {
            clearTimeout(timer);
            resolve(mail);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching message within ${timeoutMs} ms (${messages.length} received)`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close: () => new Promise<void>((resolve) => smtp.close(() => resolve())),
  };
}

// --- a small MIME reader: enough for what nodemailer writes ---------------------------

type Parsed = Pick<ReceivedMail, 'headers' | 'from' | 'to' | 'subject' | 'text' | 'html'>;

/** Headers, and the first text/plain and text/html parts, decoded. */
export function parseMessage(raw: string): Parsed {
  const { headers, body } = splitEntity(raw);
  const parts = { text: '', html: '' };
  collectParts(headers, body, parts);
  return { headers, from: headers.get('from') ?? '', to: headers.get('to') ?? '', subject: headers.get('subject') ?? '', ...parts };
}

function splitEntity(entity: string): { headers: Map<string, string>; body: string } {
  const normalized = entity.replace(/\r\n/g, '\n');
  const end = normalized.indexOf('\n\n');
  const head = end === -1 ? normalized : normalized.slice(0, end);
  const body = end === -1 ? '' : normalized.slice(end + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), decodeWords(line.slice(colon + 1).trim()));
  }
  return { headers, body };
}

function collectParts(headers: Map<string, string>, body: string, into: { text: string; html: string }): void {
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    const sections = body.split(`--${boundary}`).slice(1);
    for (const section of sections) {
      if (section.startsWith('--')) break;
      const part = splitEntity(section.replace(/^\n/, ''));
      collectParts(part.headers, part.body, into);
    }
    return;
  }
  const decoded = decodeBody(body, headers.get('content-transfer-encoding') ?? '7bit');
  if (/^text\/plain/i.test(type) && into.text === '') into.text = decoded;
  if (/^text\/html/i.test(type) && into.html === '') into.html = decoded;
}

function decodeBody(body: string, encoding: string): string {
  switch (encoding.toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    case 'quoted-printable':
      return decodeQuotedPrintable(body.replace(/=\n/g, ''));
    default:
      return body;
  }
}

function decodeQuotedPrintable(value: string): string {
  const binary = value.replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(binary, 'latin1').toString('utf8');
}

/** RFC 2047 encoded words (`=?UTF-8?Q?…?=`, `=?UTF-8?B?…?=`). */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([QB])\?([^?]*)\?=/gi, (_, _charset: string, kind: string, text: string) =>
      kind.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : decodeQuotedPrintable(text.replace(/_/g, ' ')),
    );
}
