/**
 * Helpers for the black-box attack and crash suites against a server from
 * `startServer`: a keep-alive HTTPS client for many requests (any method, header and
 * raw body, an optional X-Forwarded-For address), accounts with an authenticator, the
 * console sender's codes, and the log canary.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { randomInt } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';
import type { RunningServer } from './server.ts';
import { cookieHeader, startServer, updateCookies } from './server.ts';

type ServerAddress = Pick<RunningServer, 'origin' | 'port' | 'ca'>;

/** Longest any single request may take before the suite calls it a hang. */
export const REQUEST_TIMEOUT_MS = 15_000;

export interface RawRequest {
  method: string;
  /** Path and query, sent as they are. */
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

/**
 * For a test file: starts the server (as `npm start` runs it) with `env` before its tests,
 * hands it and a keep-alive agent of `sockets` to `use` (awaited: the file's further set-up
 * goes there), and stops both after the tests.
 */
export function serverForFile(env: Record<string, string>, sockets: number, use: (server: RunningServer, agent: Agent) => void | Promise<void>): void {
  let server: RunningServer | undefined;
  let agent: Agent | undefined;
  before(async () => {
    server = await startServer(env);
    agent = keepAliveAgent(server, sockets);
    await use(server, agent);
  });
  after(async () => {
    agent?.destroy();
    await server?.stop();
  });
}

/** A keep-alive agent that trusts only the server's certificate. */
export function keepAliveAgent(server: ServerAddress, maxSockets = 8): Agent {
  return new Agent({ keepAlive: true, maxSockets, ca: server.ca, servername: 'localhost' });
}

/**
 * Sends one request exactly as given (no Origin, cookie or content type added) and
 * reads the whole answer. Content-Length is set for a body; everything else is the caller's.
 */
export function sendRaw(server: ServerAddress, agent: Agent, raw: RawRequest, timeoutMs = REQUEST_TIMEOUT_MS): Promise<RawResponse> {
  return new Promise((resolveResponse, reject) => {
    const headers: Record<string, string | string[] | number> = { ...raw.headers };
    if (raw.body !== undefined) headers['content-length'] = Buffer.byteLength(raw.body);
    const req = request({
      host: '127.0.0.1',
      servername: 'localhost',
      port: server.port,
      method: raw.method,
      path: raw.path,
      ca: server.ca,
      agent,
      headers,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        const body = Buffer.concat(chunks).toString('utf8');
        resolveResponse({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`${raw.method} ${raw.path.slice(0, 80)}: no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(raw.body);
  });
}

export { cookieHeader, updateCookies };

export interface AttackClient {
  cookies: Map<string, string>;
  /** The client address the server is told (X-Forwarded-For), when it trusts 127.0.0.1 as a proxy. */
  ip: string | undefined;
  /** JSON body, our Origin on writes, the cookies; like `httpsClient` but over the keep-alive agent. */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<RawResponse>;
  /** A urlencoded form POST with our Origin and the cookies. */
  form(path: string, fields: Record<string, string>, headers?: Record<string, string>): Promise<RawResponse>;
}

/** A browser-like client (cookies, same-origin writes) sending through `agent`. */
export function attackClient(server: ServerAddress, agent: Agent, options: { ip?: string } = {}): AttackClient {
  const cookies = new Map<string, string>();
  const send = async (method: string, path: string, body: string | undefined, type: string | undefined, headers: Record<string, string>): Promise<RawResponse> => {
    const response = await sendRaw(server, agent, {
      method,
      path,
      headers: {
        'user-agent': 'otpgate-attack-suite',
        ...(method === 'GET' || method === 'HEAD' ? {} : { origin: server.origin }),
        ...(type === undefined ? {} : { 'content-type': type }),
        ...(cookies.size > 0 ? { cookie: cookieHeader(cookies) } : {}),
        ...(options.ip === undefined ? {} : { 'x-forwarded-for': options.ip }),
        ...headers,
      },
      ...(body === undefined ? {} : { body }),
    });
    updateCookies(cookies, response.headers['set-cookie']);
    return response;
  };
  return {
    cookies,
    ip: options.ip,
    request: (method, path, body, headers = {}) =>
      send(method, path, body === undefined ? undefined : JSON.stringify(body), body === undefined ? undefined : 'application/json', headers),
    form: (path, fields, headers = {}) => send('POST', path, new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded', headers),
  };
}

/** The anti-CSRF token of the first form in a page. */
export function csrfTokenOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error('no _csrf field in the page');
  return match[1];
}

// --- one-time passwords ----------------------------------------------------------

const PERIOD_MS = 30_000;

export function totpStep(now = Date.now()): number {
  return Math.floor(now / PERIOD_MS);
}

export function totpCodeAt(seed: Uint8Array, step: number): string {
  return generateTOTP(seed, step * PERIOD_MS);
}

/** The code for the earliest step the server will still accept from `a` (after `a.lastStep`, within ±1 of now). */
export function freshTOTPCode(a: Pick<Authenticator, 'seed' | 'lastStep'>, now = Date.now()): { code: string; step: number } {
  const step = Math.max(a.lastStep + 1, totpStep(now));
  if (step > totpStep(now) + 1) throw new Error('no fresh TOTP step before the next period');
  return { code: totpCodeAt(a.seed, step), step };
}

/** A 6-digit code that is none of the seed's codes for 5 steps either side of now: surely wrong. */
export function wrongTOTPCode(seed: Uint8Array, now = Date.now()): string {
  const step = totpStep(now);
  const near = new Set<string>();
  for (let s = step - 5; s <= step + 5; s++) near.add(totpCodeAt(seed, s));
  for (;;) {
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    if (!near.has(code)) return code;
  }
}

/** A recovery-code-shaped guess (16 base32 characters in groups of four) not in `real`. */
export function wrongRecoveryCode(real: readonly string[]): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  for (;;) {
    const raw = Array.from({ length: 16 }, () => alphabet[randomInt(0, 32)] ?? 'a').join('');
    const code = raw.match(/.{4}/g)?.join('-') ?? raw;
    if (!real.includes(code)) return code;
  }
}

/** A 6-digit code different from `code`. */
export function otherCode(code: string): string {
  for (;;) {
    const guess = String(randomInt(0, 1_000_000)).padStart(6, '0');
    if (guess !== code) return guess;
  }
}

export interface Authenticator {
  factorId: string;
  /** Base32, as the enrollment answer showed it. */
  secret: string;
  otpauthURI: string;
  seed: Uint8Array;
  /** The time step the confirming code used: the server accepts only later ones. */
  lastStep: number;
  recoveryCodes: string[];
}

/**
 * Adds and confirms an authenticator with the client's session (level 1 or 2); the
 * session cookie is replaced when the level rises. Throws unless both steps succeed.
 */
export async function enrollAuthenticator(c: AttackClient, label = 'Phone'): Promise<Authenticator> {
  const begun = await c.request('POST', '/api/factors/totp', { label });
  if (begun.status !== 201) throw new Error(`enroll: ${begun.status} ${begun.body}`);
  const { factor_id: factorId, secret, otpauth_uri: otpauthURI } = begun.json<{ factor_id: string; secret: string; otpauth_uri: string }>();
  const seed = decodeBase32(secret);
  const step = totpStep();
  const confirmed = await c.request('POST', '/api/factors/totp/verify', { factor_id: factorId, code: totpCodeAt(seed, step) });
  if (confirmed.status !== 200) throw new Error(`confirm: ${confirmed.status} ${confirmed.body}`);
  const recoveryCodes = confirmed.json<{ recovery_codes?: string[] }>().recovery_codes ?? [];
  return { factorId, secret, otpauthURI, seed, lastStep: step, recoveryCodes };
}

/** Signs up (no email: the account must enroll) and confirms an authenticator; the client ends at level 2. */
export async function signupWithAuthenticator(c: AttackClient, username: string, password: string, extra: { email?: string } = {}): Promise<Authenticator> {
  const signup = await c.request('POST', '/api/signup', { username, password, ...extra });
  if (signup.status !== 201) throw new Error(`signup ${username}: ${signup.status} ${signup.body}`);
  return enrollAuthenticator(c);
}

// --- the console sender and the log canary -----------------------------------------

/** The newest code the console sender printed for `to` after output offset `from`. */
export async function consoleCode(server: Pick<RunningServer, 'waitForOutput'>, to: string, from: number): Promise<string> {
  const escaped = to.replace(/[.+]/g, '\\$&');
  const match = await server.waitForOutput(new RegExp(`\\[console sender\\] (?:email|SMS) to ${escaped}[^\\n]*\\n(?:  \\|[^\\n]*\\n)*?  \\|[^\\n]*?\\b(\\d{6})\\b`), from, 10_000);
  return match[1] ?? '';
}

/** The login code the console sender printed for the address `to` after output offset `from`. */
export async function consoleLoginCode(server: Pick<RunningServer, 'waitForOutput'>, to: string, from: number): Promise<string> {
  const escaped = to.replace(/[.+]/g, '\\$&');
  const match = await server.waitForOutput(new RegExp(`\\[console sender\\] email to ${escaped}: [^\\n]*sign-in code\\n(?:  \\|[^\\n]*\\n)*?  \\| +(\\d{6})\\n`), from, 10_000);
  return match[1] ?? '';
}

/**
 * Enters the verification code the console sender printed for `email` after output offset
 * `from` (mailed at sign-up or at a change): the address then counts as a factor. Answers the code.
 */
export async function verifyEmailFromConsole(c: AttackClient, server: Pick<RunningServer, 'waitForOutput'>, email: string, from: number): Promise<string> {
  const code = await consoleCode(server, email, from);
  const r = await c.request('POST', '/api/email/verify', { code });
  if (r.status !== 200) throw new Error(`verify ${email}: ${r.status} ${r.body}`);
  return code;
}

/** The server's output without the console sender's blocks, which print codes on purpose. */
export function outputWithoutConsoleSender(output: string): string {
  return output.replace(/\[console sender\][^\n]*\n(?: {2}\|[^\n]*\n)*/g, '');
}

/** Every secret a suite used, to look for in the server's output at the end. */
export class SecretLog {
  readonly values = new Set<string>();

  add(...values: Array<string | undefined>): void {
    for (const value of values) if (value !== undefined && value !== '') this.values.add(value);
  }

  /** The session, pending and CSRF cookie values a client holds now. */
  addCookies(cookies: Map<string, string>): void {
    for (const value of cookies.values()) this.add(value);
  }

  addAuthenticator(a: Authenticator): void {
    this.add(a.secret, a.otpauthURI, Buffer.from(a.seed).toString('hex'), Buffer.from(a.seed).toString('base64'), ...a.recoveryCodes);
    for (const code of a.recoveryCodes) this.add(code.replace(/-/g, ''));
  }

  /**
   * Secrets found in `output` (console sender blocks excluded), shortened for a message.
   * An all-digit secret (a code) counts only standing alone, not inside a longer number
   * such as a timestamp.
   */
  leaks(output: string): string[] {
    const scrubbed = outputWithoutConsoleSender(output);
    const found = (secret: string): boolean =>
      /^\d+$/.test(secret) ? new RegExp(`(?<!\\d)${secret}(?!\\d)`).test(scrubbed) : scrubbed.includes(secret);
    return [...this.values].filter(found).map((secret) => `${secret.slice(0, 4)}… (${secret.length} chars)`);
  }
}

/** Asserts the server logged its requests (level trace or debug) and none of `secrets`. */
export function assertNoSecretsLogged(output: string, secrets: SecretLog): void {
  assert.match(output, /"msg":"request completed"/, 'the server logged its requests (OTPGATE_LOG_LEVEL=trace)');
  assert.deepEqual(secrets.leaks(output), [], 'secrets in the server output');
}

/** Runs `tasks` with at most `concurrency` at a time; results in order. */
export async function pool<T>(tasks: ReadonlyArray<() => Promise<T>>, concurrency: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const index = next++;
      const task = tasks[index];
      if (task) results[index] = await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
  return results;
}

/** The median of some numbers (NaN for none). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}
