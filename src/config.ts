/**
 * The one validated configuration object, read from the OTPGATE_* environment
 * variables of API.md ("Configuration"). A bad value throws a ConfigError whose message
 * is one line naming the variable and what is wrong; start-up prints it and exits 1.
 * Values that may hold a secret (keys, URLs with passwords) are never echoed back.
 */
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { REFUSED_SMS_CODES, isCallingCode } from './auth/sms-policy.ts';

/** A configuration value that stops start-up; `message` is one line naming the variable. */
export class ConfigError extends Error {
  readonly code = 'invalid_config';
  /** The variable at fault, e.g. `OTPGATE_PORT`. */
  readonly variable: string;

  constructor(variable: string, problem: string, options?: { cause?: unknown }) {
    super(`${variable}: ${problem}`, options);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

export const FACTORS = ['totp', 'email', 'sms', 'recovery'] as const;
export type Factor = (typeof FACTORS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type DatabaseConfig = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: URL };

export type TLSConfig = { mode: 'auto' } | { mode: 'off' } | { mode: 'files'; certPath: string; keyPath: string };

export interface SMTPConfig {
  /** `smtps://…` (implicit TLS) or `smtp://…` (STARTTLS required unless `?starttls=off` on loopback). */
  url: URL;
  from: string;
  /** Extra CA certificates (PEM) trusted besides the system ones. */
  caPath?: string;
}

export interface SMSConfig {
  webhookURL: URL;
  /** HMAC-SHA256 key signing each webhook body. */
  webhookSecret: string;
}

/** Twilio's Messages API (OTPGATE_TWILIO_*): an alternative to the SMS webhook. */
export interface TwilioConfig {
  /** `AC` and 32 hex digits. */
  accountSID: string;
  authToken: string;
  /** An E.164 number, or a Messaging Service SID (`MG` and 32 hex digits). */
  from: string;
}

export interface Config {
  host: string;
  port: number;
  /** Absolute path. */
  dataDir: string;
  database: DatabaseConfig;
  /** The origin users see. With port 0 and no OTPGATE_PUBLIC_URL its port is `0` until main fills it in. */
  publicURL: URL;
  tls: TLSConfig;
  /** Addresses, CIDR ranges or proxy-addr names (`loopback`…) of trusted proxies; empty when none. */
  trustProxy: string[];
  /** 32 bytes from OTPGATE_SECRET_KEY, or undefined to use (or generate) the data dir's key file. */
  secretKey: Buffer | undefined;
  /** Keys used before a rotation (OTPGATE_PREVIOUS_SECRET_KEYS): they still open old secrets and check old code hashes. */
  previousSecretKeys: Buffer[];
  /** Audit events older than this many days are swept (OTPGATE_AUDIT_RETENTION_DAYS). */
  auditRetentionDays: number;
  smtp: SMTPConfig | undefined;
  sms: SMSConfig | undefined;
  twilio: TwilioConfig | undefined;
  signup: 'open' | 'closed';
  issuer: string;
  codeTTLSeconds: number;
  /** First back-off delay after 5 consecutive second-factor failures; doubles up to 15 min; 0: no delays (the lock at 100 stays). */
  backoffSeconds: number;
  loginTTLSeconds: number;
  factors: Factor[];
  sessionIdleSeconds: number;
  sessionMaxSeconds: number;
  logLevel: LogLevel;
  /** Range endpoint of a breached-password service (k-anonymity); undefined: off. */
  breachCheckURL: URL | undefined;
  /** Country calling codes SMS may go to (OTPGATE_SMS_COUNTRIES); undefined: all but the refused ranges. */
  smsCountries: string[] | undefined;
  /** Server-wide SMS per clock hour (OTPGATE_SMS_HOURLY_CAP); undefined: no cap. */
  smsHourlyCap: number | undefined;
  /** OTPGATE_ENV: `production` refuses the development console sender for every enabled channel. */
  env: 'development' | 'production';
  /** The forward-auth gate's YAML rules file (absolute path); undefined: every gate request is denied. */
  accessRulesPath: string | undefined;
  /** Parent domain the session cookie covers (`__Secure-otpgate-session; Domain=…`); undefined: `__Host-` cookie. */
  cookieDomain: string | undefined;
}

/** Every variable loadConfig reads; any other OTPGATE_* variable is refused as a likely typo. */
export const CONFIG_VARIABLES = [
  'OTPGATE_HOST',
  'OTPGATE_PORT',
  'OTPGATE_DATA_DIR',
  'OTPGATE_DATABASE_URL',
  'OTPGATE_PUBLIC_URL',
  'OTPGATE_TLS',
  'OTPGATE_TLS_CERT',
  'OTPGATE_TLS_KEY',
  'OTPGATE_TRUST_PROXY',
  'OTPGATE_SECRET_KEY',
  'OTPGATE_PREVIOUS_SECRET_KEYS',
  'OTPGATE_AUDIT_RETENTION_DAYS',
  'OTPGATE_SMTP_URL',
  'OTPGATE_MAIL_FROM',
  'OTPGATE_SMTP_CA',
  'OTPGATE_SMS_WEBHOOK_URL',
  'OTPGATE_SMS_WEBHOOK_SECRET',
  'OTPGATE_TWILIO_ACCOUNT_SID',
  'OTPGATE_TWILIO_AUTH_TOKEN',
  'OTPGATE_TWILIO_FROM',
  'OTPGATE_SIGNUP',
  'OTPGATE_ISSUER',
  'OTPGATE_CODE_TTL',
  'OTPGATE_LOGIN_TTL',
  'OTPGATE_BACKOFF',
  'OTPGATE_FACTORS',
  'OTPGATE_SESSION_IDLE',
  'OTPGATE_SESSION_MAX',
  'OTPGATE_LOG_LEVEL',
  'OTPGATE_BREACH_CHECK_URL',
  'OTPGATE_SMS_COUNTRIES',
  'OTPGATE_SMS_HOURLY_CAP',
  'OTPGATE_ENV',
  'OTPGATE_ACCESS_RULES',
  'OTPGATE_COOKIE_DOMAIN',
] as const;
type Variable = (typeof CONFIG_VARIABLES)[number];

/**
 * Reads and validates the configuration.
 * @throws ConfigError on the first bad value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Config {
  refuseUnknownVariables(env);
  // An empty value counts as unset, as `VAR=` in a compose file means.
  const get = (name: Variable): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };

  const host = parseHost(get('OTPGATE_HOST') ?? '127.0.0.1');
  const port = parseInteger('OTPGATE_PORT', get('OTPGATE_PORT'), 8443, 0, 65535, ' (0 picks a free port)');
  const dataDir = resolve(cwd, get('OTPGATE_DATA_DIR') ?? './data');
  const database = parseDatabase(get('OTPGATE_DATABASE_URL'), dataDir, cwd);
  const tls = parseTLS(get('OTPGATE_TLS'), get('OTPGATE_TLS_CERT'), get('OTPGATE_TLS_KEY'), cwd);
  const trustProxy = parseTrustProxy(get('OTPGATE_TRUST_PROXY'));
  if (tls.mode === 'off' && !isLoopbackHost(host) && trustProxy.length === 0) {
    throw new ConfigError(
      'OTPGATE_TLS',
      `off is only allowed when OTPGATE_HOST is loopback or OTPGATE_TRUST_PROXY is set (host is ${host})`,
    );
  }
  const publicURL = parsePublicURL(get('OTPGATE_PUBLIC_URL'), tls, port);
  const secretKey = parseSecretKey(get('OTPGATE_SECRET_KEY'));
  const previousSecretKeys = parsePreviousSecretKeys(get('OTPGATE_PREVIOUS_SECRET_KEYS'), secretKey);
  const auditRetentionDays = parseInteger('OTPGATE_AUDIT_RETENTION_DAYS', get('OTPGATE_AUDIT_RETENTION_DAYS'), 365, 1, 36500);
  const smtp = parseSMTP(get('OTPGATE_SMTP_URL'), get('OTPGATE_MAIL_FROM'), get('OTPGATE_SMTP_CA'), cwd);
  const sms = parseSMS(get('OTPGATE_SMS_WEBHOOK_URL'), get('OTPGATE_SMS_WEBHOOK_SECRET'));
  const twilio = parseTwilio(get('OTPGATE_TWILIO_ACCOUNT_SID'), get('OTPGATE_TWILIO_AUTH_TOKEN'), get('OTPGATE_TWILIO_FROM'));
  if (sms !== undefined && twilio !== undefined) {
    throw new ConfigError('OTPGATE_TWILIO_ACCOUNT_SID', 'cannot be used together with OTPGATE_SMS_WEBHOOK_URL; choose one SMS provider');
  }
  const signup = parseChoice('OTPGATE_SIGNUP', get('OTPGATE_SIGNUP'), ['open', 'closed'] as const, 'open');
  const issuer = parseIssuer(get('OTPGATE_ISSUER') ?? 'otpgate');
  const codeTTLSeconds = parseInteger('OTPGATE_CODE_TTL', get('OTPGATE_CODE_TTL'), 300, 1, 600);
  const loginTTLSeconds = parseInteger('OTPGATE_LOGIN_TTL', get('OTPGATE_LOGIN_TTL'), 600, 60, 3600);
  const backoffSeconds = parseInteger('OTPGATE_BACKOFF', get('OTPGATE_BACKOFF'), 1, 0, 60);
  const factors = parseFactors(get('OTPGATE_FACTORS'));
  const sessionIdleSeconds = parseInteger('OTPGATE_SESSION_IDLE', get('OTPGATE_SESSION_IDLE'), 3600, 60, 7 * 86400);
  const sessionMaxSeconds = parseInteger('OTPGATE_SESSION_MAX', get('OTPGATE_SESSION_MAX'), 86400, 300, 30 * 86400);
  if (sessionIdleSeconds > sessionMaxSeconds) {
    throw new ConfigError(
      'OTPGATE_SESSION_IDLE',
      `must not exceed OTPGATE_SESSION_MAX (${sessionMaxSeconds}), got ${sessionIdleSeconds}`,
    );
  }
  const logLevel = parseChoice('OTPGATE_LOG_LEVEL', get('OTPGATE_LOG_LEVEL'), LOG_LEVELS, 'info');
  const breachCheckURL = parseBreachCheckURL(get('OTPGATE_BREACH_CHECK_URL'));
  const smsCountries = parseSMSCountries(get('OTPGATE_SMS_COUNTRIES'));
  const smsHourlyCapRaw = get('OTPGATE_SMS_HOURLY_CAP');
  const smsHourlyCap = smsHourlyCapRaw === undefined ? undefined : parseInteger('OTPGATE_SMS_HOURLY_CAP', smsHourlyCapRaw, 0, 1, 1_000_000);
  const mode = parseChoice('OTPGATE_ENV', get('OTPGATE_ENV'), ['development', 'production'] as const, 'development');
  if (mode === 'production') refuseConsoleSender(factors, smtp !== undefined, sms !== undefined || twilio !== undefined);
  const accessRules = get('OTPGATE_ACCESS_RULES');
  const accessRulesPath = accessRules === undefined ? undefined : resolve(cwd, accessRules);
  const cookieDomain = parseCookieDomain(get('OTPGATE_COOKIE_DOMAIN'), publicURL);

  return {
    host,
    port,
    dataDir,
    database,
    publicURL,
    tls,
    trustProxy,
    secretKey,
    previousSecretKeys,
    auditRetentionDays,
    smtp,
    sms,
    twilio,
    signup,
    issuer,
    codeTTLSeconds,
    backoffSeconds,
    loginTTLSeconds,
    factors,
    sessionIdleSeconds,
    sessionMaxSeconds,
    logLevel,
    breachCheckURL,
    smsCountries,
    smsHourlyCap,
    env: mode,
    accessRulesPath,
    cookieDomain,
  };
}

/** A registrable parent of the public URL's host, lower-case, without a leading dot. */
function parseCookieDomain(raw: string | undefined, publicURL: URL): string | undefined {
  if (raw === undefined) return undefined;
  const domain = raw.toLowerCase().replace(/^\./, '');
  const label = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
  // At least two labels: a cookie for a whole top-level domain is refused by browsers anyway.
  if (!new RegExp(`^(?=.{1,253}$)${label}(?:\\.${label})+$`).test(domain)) {
    throw new ConfigError('OTPGATE_COOKIE_DOMAIN', `must be a domain name such as example.com, got ${shown(raw)}`);
  }
  const host = publicURL.hostname.toLowerCase();
  if (host !== domain && !host.endsWith(`.${domain}`)) {
    throw new ConfigError('OTPGATE_COOKIE_DOMAIN', `must be OTPGATE_PUBLIC_URL's host (${host}) or a parent of it, got ${shown(raw)}`);
  }
  return domain;
}

/** True for 127.0.0.0/8, ::1 (and its IPv4-mapped forms) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped?.[1]?.startsWith('127.') ?? false;
  }
  return false;
}

function refuseUnknownVariables(env: NodeJS.ProcessEnv): void {
  const known = new Set<string>(CONFIG_VARIABLES);
  for (const name of Object.keys(env)) {
    if (!name.startsWith('OTPGATE_') || known.has(name)) continue;
    const closest = closestName(name);
    const hint = closest === undefined ? `known variables are listed in API.md` : `did you mean ${closest}?`;
    throw new ConfigError(name, `unknown variable; ${hint}`);
  }
}

function closestName(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of CONFIG_VARIABLES) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  // Past a third of the name's tail it is no longer a typo but a different word.
  return bestDistance <= Math.max(2, Math.floor((name.length - 'OTPGATE_'.length) / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Quotes a value for an error message, shortened so the line stays readable. */
function shown(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
}

/** A URL for an error message, its password (and query, which may hold tokens) hidden. */
function shownURL(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password !== '') copy.password = '***';
  copy.search = '';
  return shown(copy.href);
}

function parseInteger(
  name: Variable,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
  note = '',
): number {
  if (raw === undefined) return fallback;
  const value = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max}${note}, got ${shown(raw)}`);
  }
  return value;
}

function parseChoice<const T extends readonly string[]>(
  name: Variable,
  raw: string | undefined,
  choices: T,
  fallback: T[number],
): T[number] {
  if (raw === undefined) return fallback;
  const value = raw.toLowerCase();
  const found = choices.find((c) => c === value);
  if (found === undefined) throw new ConfigError(name, `must be one of ${choices.join(', ')}, got ${shown(raw)}`);
  return found;
}

function parseHost(raw: string): string {
  const host = raw.replace(/^\[(.*)\]$/, '$1');
  // RFC 1123 host names, or an IP literal.
  const hostname = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
  if (isIP(host) === 0 && !hostname.test(host)) {
    throw new ConfigError('OTPGATE_HOST', `must be an IP address or a host name, got ${shown(raw)}`);
  }
  return host;
}

function parseURL(name: Variable, raw: string, expected: string): URL {
  try {
    return new URL(raw);
  } catch {
    // The raw text may hold a password: name the problem, not the value.
    throw new ConfigError(name, `must be ${expected}, and this is not a valid URL`);
  }
}

function parseDatabase(raw: string | undefined, dataDir: string, cwd: string): DatabaseConfig {
  if (raw === undefined) return { kind: 'sqlite', path: join(dataDir, 'otpgate.db') };
  const expected = 'sqlite:PATH or postgres://USER:PASSWORD@HOST/DATABASE';
  if (raw.startsWith('sqlite:')) {
    // sqlite:relative, sqlite:/absolute and sqlite:///absolute all name a file.
    const path = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new ConfigError('OTPGATE_DATABASE_URL', `must be ${expected}; the sqlite path is empty`);
    return { kind: 'sqlite', path: path === ':memory:' ? path : resolve(cwd, path) };
  }
  const url = parseURL('OTPGATE_DATABASE_URL', raw, expected);
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError('OTPGATE_DATABASE_URL', `must be ${expected}, got a ${url.protocol} URL`);
  }
  if (url.hostname === '' && !url.searchParams.has('host')) {
    throw new ConfigError('OTPGATE_DATABASE_URL', `must name a host, got ${shownURL(url)}`);
  }
  return { kind: 'postgres', url };
}

function parseTLS(mode: string | undefined, cert: string | undefined, key: string | undefined, cwd: string): TLSConfig {
  const value = mode?.toLowerCase();
  if (value !== undefined && !['auto', 'off', 'files'].includes(value)) {
    throw new ConfigError(
      'OTPGATE_TLS',
      `must be auto, off or files (with OTPGATE_TLS_CERT and OTPGATE_TLS_KEY), got ${shown(mode ?? '')}`,
    );
  }
  if (cert === undefined && key === undefined) {
    if (value === 'files') throw new ConfigError('OTPGATE_TLS', 'is files but OTPGATE_TLS_CERT and OTPGATE_TLS_KEY are not set');
    return value === 'off' ? { mode: 'off' } : { mode: 'auto' };
  }
  if (value === 'off' || value === 'auto') {
    throw new ConfigError(
      'OTPGATE_TLS',
      `is ${value} but OTPGATE_TLS_CERT/OTPGATE_TLS_KEY are set; unset OTPGATE_TLS or set it to files`,
    );
  }
  if (cert === undefined) throw new ConfigError('OTPGATE_TLS_CERT', 'must be set together with OTPGATE_TLS_KEY');
  if (key === undefined) throw new ConfigError('OTPGATE_TLS_KEY', 'must be set together with OTPGATE_TLS_CERT');
  return { mode: 'files', certPath: resolve(cwd, cert), keyPath: resolve(cwd, key) };
}

/** Validates addresses and CIDR ranges in the forms proxy-addr (Fastify's trustProxy) accepts. */
function parseTrustProxy(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const entries = raw.split(',').map((s) => s.trim());
  for (const entry of entries) {
    if (isProxyEntry(entry) && tooWide(entry)) {
      // Trusting (nearly) everyone lets any client write its own address and lifts the TLS rule.
      throw new ConfigError(
        'OTPGATE_TRUST_PROXY',
        `must not trust ranges wider than /8 (IPv4) or /32 (IPv6), got ${shown(entry)}`,
      );
    }
    if (!isProxyEntry(entry)) {
      throw new ConfigError(
        'OTPGATE_TRUST_PROXY',
        `must be comma-separated IP addresses or CIDR ranges (e.g. 10.0.0.0/8,::1), got ${shown(entry)}`,
      );
    }
  }
  return entries;
}

function isProxyEntry(entry: string): boolean {
  if (entry === 'loopback' || entry === 'linklocal' || entry === 'uniquelocal') return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/** True for a CIDR range shorter than /8 (IPv4, also IPv4-mapped: /104) or /32 (IPv6). */
function tooWide(entry: string): boolean {
  const [address = '', prefix] = entry.split('/');
  if (prefix === undefined || isIP(address) === 0) return false;
  const bits = Number(prefix);
  if (isIP(address) === 4) return bits < 8;
  return /^::ffff:/i.test(address) ? bits < 104 : bits < 32;
}

function parsePublicURL(raw: string | undefined, tls: TLSConfig, port: number): URL {
  if (raw === undefined) return new URL(`${tls.mode === 'off' ? 'http' : 'https'}://localhost:${port}`);
  const url = parseURL('OTPGATE_PUBLIC_URL', raw, 'an origin such as https://auth.example.com');
  const problem =
    url.protocol !== 'https:' && url.protocol !== 'http:'
      ? 'must be an https:// URL'
      : url.protocol === 'http:' && !isLoopbackHost(url.hostname)
        ? 'must be https:// (http:// only for localhost)'
        : url.username !== '' || url.password !== ''
          ? 'must not contain a user name or password'
          : url.pathname !== '/' || url.search !== '' || url.hash !== ''
            ? 'must be an origin only, without path, query or fragment'
            : url.port === '0'
              ? 'must not use port 0'
              : undefined;
  if (problem !== undefined) throw new ConfigError('OTPGATE_PUBLIC_URL', `${problem}, got ${shownURL(url)}`);
  return url;
}

function parseSecretKey(raw: string | undefined, variable = 'OTPGATE_SECRET_KEY', which = 'must be'): Buffer | undefined {
  if (raw === undefined) return undefined;
  const hint = 'e.g. from `openssl rand -base64 32`';
  // Buffer.from skips characters outside the alphabet: check the alphabet first.
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(raw)) {
    throw new ConfigError(variable, `${which} 32 bytes in base64 (${hint}); it is not base64`);
  }
  const key = Buffer.from(raw, 'base64');
  if (key.length !== 32) {
    throw new ConfigError(variable, `${which} 32 bytes in base64 (${hint}), got ${key.length} bytes`);
  }
  return key;
}

/** Comma-separated keys, each checked like OTPGATE_SECRET_KEY (and never echoed back). */
function parsePreviousSecretKeys(raw: string | undefined, current: Buffer | undefined): Buffer[] {
  if (raw === undefined) return [];
  const keys = raw.split(',').map((part, i) => {
    if (part.trim() === '') throw new ConfigError('OTPGATE_PREVIOUS_SECRET_KEYS', `key ${i + 1} is empty`);
    // A string in gives a key out (only an unset variable gives undefined).
    return parseSecretKey(part.trim(), 'OTPGATE_PREVIOUS_SECRET_KEYS', `key ${i + 1} must be`) as Buffer;
  });
  if (current !== undefined && keys.some((k) => k.equals(current))) {
    throw new ConfigError('OTPGATE_PREVIOUS_SECRET_KEYS', 'holds the current OTPGATE_SECRET_KEY; list only the keys used before it');
  }
  return keys;
}

function parseSMTP(
  raw: string | undefined,
  from: string | undefined,
  caPath: string | undefined,
  cwd: string,
): SMTPConfig | undefined {
  if (raw === undefined) {
    if (from !== undefined) throw new ConfigError('OTPGATE_MAIL_FROM', 'is set but OTPGATE_SMTP_URL is not');
    if (caPath !== undefined) throw new ConfigError('OTPGATE_SMTP_CA', 'is set but OTPGATE_SMTP_URL is not');
    return undefined;
  }
  const expected = 'smtps://USER:PASSWORD@HOST:465 or smtp://USER:PASSWORD@HOST:587';
  const url = parseURL('OTPGATE_SMTP_URL', raw, expected);
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new ConfigError('OTPGATE_SMTP_URL', `must be ${expected}, got a ${url.protocol} URL`);
  }
  if (url.hostname === '') throw new ConfigError('OTPGATE_SMTP_URL', 'must name a host');
  const starttls = url.searchParams.get('starttls');
  if (starttls !== null) {
    if (url.protocol !== 'smtp:' || starttls !== 'off') {
      throw new ConfigError('OTPGATE_SMTP_URL', 'accepts only ?starttls=off, and only on smtp://');
    }
    // Without STARTTLS the password and the codes cross the network in clear text.
    if (!isLoopbackHost(url.hostname)) {
      throw new ConfigError('OTPGATE_SMTP_URL', `?starttls=off is only allowed for a relay on loopback, got ${shownURL(url)}`);
    }
  }
  if (from === undefined) throw new ConfigError('OTPGATE_MAIL_FROM', 'must be set when OTPGATE_SMTP_URL is set');
  // One address, optionally with a display name; no line breaks (header injection).
  if (/[\r\n]/.test(from) || !/^(?:[^<>]*<[^<>\s@]+@[^<>\s@]+>|[^<>\s@]+@[^<>\s@]+)$/.test(from)) {
    throw new ConfigError('OTPGATE_MAIL_FROM', `must be an address like otpgate@example.com or "Name <otpgate@example.com>", got ${shown(from)}`);
  }
  return caPath === undefined ? { url, from } : { url, from, caPath: resolve(cwd, caPath) };
}

function parseBreachCheckURL(raw: string | undefined): URL | undefined {
  if (raw === undefined || raw === 'off') return undefined;
  const url = parseURL('OTPGATE_BREACH_CHECK_URL', raw, 'an https:// URL of a range endpoint');
  refuseUserinfo('OTPGATE_BREACH_CHECK_URL', url);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new ConfigError('OTPGATE_BREACH_CHECK_URL', `must be an https:// URL (http:// only on loopback), got ${shownURL(url)}`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new ConfigError('OTPGATE_BREACH_CHECK_URL', `must end in the path the 5-character prefix is added to, without ? or #, got ${shownURL(url)}`);
  }
  return url;
}

/**
 * Outbound HTTP URLs carry no `user:password@`: fetch refuses them and quotes the whole
 * URL in its error, which would reach the log (SMTP URLs carry credentials by design).
 */
function refuseUserinfo(name: Variable, url: URL): void {
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(name, `must not contain a user name or password (user:password@); put a token in a header or use OTPGATE_SMS_WEBHOOK_SECRET, got ${shownURL(url)}`);
  }
}

/** Comma-separated country calling codes (`1,44,49`), none of them a range refused always. */
function parseSMSCountries(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const codes = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const code of codes) {
    if (!isCallingCode(code)) {
      throw new ConfigError('OTPGATE_SMS_COUNTRIES', `must be comma-separated country calling codes without + (e.g. 1,44,49); ${shown(code)} is not a country calling code`);
    }
    if (REFUSED_SMS_CODES.includes(code)) {
      throw new ConfigError('OTPGATE_SMS_COUNTRIES', `+${code} is a premium, satellite or international-network range, always refused`);
    }
  }
  if (codes.length === 0) throw new ConfigError('OTPGATE_SMS_COUNTRIES', 'lists no calling code; leave it unset to allow all, or take sms out of OTPGATE_FACTORS');
  return [...new Set(codes)];
}

/** In production no enabled channel may fall back to printing codes on the terminal. */
function refuseConsoleSender(factors: Factor[], email: boolean, sms: boolean): void {
  if (factors.includes('email') && !email) {
    throw new ConfigError('OTPGATE_ENV', 'is production but email codes would be printed to the terminal: set OTPGATE_SMTP_URL, or take email out of OTPGATE_FACTORS');
  }
  if (factors.includes('sms') && !sms) {
    throw new ConfigError('OTPGATE_ENV', 'is production but SMS codes would be printed to the terminal: set OTPGATE_SMS_WEBHOOK_URL or OTPGATE_TWILIO_*, or take sms out of OTPGATE_FACTORS');
  }
}

function parseSMS(raw: string | undefined, secret: string | undefined): SMSConfig | undefined {
  if (raw === undefined) {
    if (secret !== undefined) throw new ConfigError('OTPGATE_SMS_WEBHOOK_SECRET', 'is set but OTPGATE_SMS_WEBHOOK_URL is not');
    return undefined;
  }
  const url = parseURL('OTPGATE_SMS_WEBHOOK_URL', raw, 'an https:// URL');
  refuseUserinfo('OTPGATE_SMS_WEBHOOK_URL', url);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new ConfigError('OTPGATE_SMS_WEBHOOK_URL', `must be an https:// URL (http:// only on loopback), got ${shownURL(url)}`);
  }
  if (secret === undefined) {
    throw new ConfigError('OTPGATE_SMS_WEBHOOK_SECRET', 'must be set when OTPGATE_SMS_WEBHOOK_URL is set (it signs each request)');
  }
  if (secret.length < 16) {
    throw new ConfigError('OTPGATE_SMS_WEBHOOK_SECRET', `must be at least 16 characters, got ${secret.length}`);
  }
  return { webhookURL: url, webhookSecret: secret };
}

function parseTwilio(sid: string | undefined, token: string | undefined, from: string | undefined): TwilioConfig | undefined {
  if (sid === undefined && token === undefined && from === undefined) return undefined;
  const all = 'OTPGATE_TWILIO_ACCOUNT_SID, OTPGATE_TWILIO_AUTH_TOKEN and OTPGATE_TWILIO_FROM must be set together';
  if (sid === undefined) throw new ConfigError('OTPGATE_TWILIO_ACCOUNT_SID', `is not set; ${all}`);
  if (token === undefined) throw new ConfigError('OTPGATE_TWILIO_AUTH_TOKEN', `is not set; ${all}`);
  if (from === undefined) throw new ConfigError('OTPGATE_TWILIO_FROM', `is not set; ${all}`);
  if (!/^AC[0-9a-f]{32}$/i.test(sid)) {
    throw new ConfigError('OTPGATE_TWILIO_ACCOUNT_SID', `must be an Account SID (AC and 32 hex digits), got ${shown(sid)}`);
  }
  // The token is a password: its length may be told, never its value.
  if (token.length < 16 || /\s/.test(token)) {
    throw new ConfigError('OTPGATE_TWILIO_AUTH_TOKEN', `must be the account's auth token (at least 16 characters, no spaces), got ${token.length} characters`);
  }
  if (!/^\+[1-9]\d{7,14}$/.test(from) && !/^MG[0-9a-f]{32}$/i.test(from)) {
    throw new ConfigError('OTPGATE_TWILIO_FROM', `must be an E.164 number such as +14155550123 or a Messaging Service SID (MG…), got ${shown(from)}`);
  }
  return { accountSID: sid, authToken: token, from };
}

function parseIssuer(raw: string): string {
  // Key URI format: neither issuer nor account name may contain a colon.
  if (raw.length > 64 || raw.includes(':') || /\p{Cc}/u.test(raw)) {
    throw new ConfigError('OTPGATE_ISSUER', `must be at most 64 characters, without ":" or control characters, got ${shown(raw)}`);
  }
  return raw;
}

function parseFactors(raw: string | undefined): Factor[] {
  if (raw === undefined) return [...FACTORS];
  const chosen = new Set<Factor>();
  for (const item of raw.split(',').map((s) => s.trim().toLowerCase())) {
    const factor = FACTORS.find((f) => f === item);
    if (factor === undefined) {
      throw new ConfigError('OTPGATE_FACTORS', `must be a comma-separated subset of ${FACTORS.join(',')}, got ${shown(item)}`);
    }
    chosen.add(factor);
  }
  // Recovery codes back up another factor; alone, nobody could ever enrol.
  if (!FACTORS.some((f) => f !== 'recovery' && chosen.has(f))) {
    throw new ConfigError('OTPGATE_FACTORS', `must include at least one of totp, email, sms, got ${shown(raw)}`);
  }
  // SMS is a restricted authenticator: it counts only beside an authenticator app (SECURITY.md item 19).
  if (chosen.has('sms') && !chosen.has('totp')) {
    throw new ConfigError('OTPGATE_FACTORS', `sms counts only beside totp (SMS is a restricted authenticator): add totp or leave out sms, got ${shown(raw)}`);
  }
  return FACTORS.filter((f) => chosen.has(f));
}
