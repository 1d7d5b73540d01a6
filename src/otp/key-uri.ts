// Google Authenticator Key URI Format:
// otpauth://TYPE/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER[&algorithm=…&digits=…&period=…][&counter=…]
import { decodeBase32, encodeBase32 } from './base32.ts';
import { resolveDigits, resolveHMACName } from './hotp.ts';
import type { HashAlgorithm } from './key.ts';

/** The contents of an otpauth:// key URI. */
export interface KeyURI {
  type: 'totp' | 'hotp';
  issuer?: string;
  accountName: string;
  secret: Uint8Array;
  algorithm: HashAlgorithm;
  digits: number;
  periodInSeconds: number;
  /** Initial counter; HOTP only. */
  counter?: number;
}

/** What createKeyURI needs: the secret and account name, the rest defaulting to TOTP, SHA1, 6 digits, 30 s. */
export interface KeyURIParams {
  issuer?: string;
  accountName: string;
  secret: Uint8Array;
  type?: 'totp' | 'hotp';
  algorithm?: HashAlgorithm;
  digits?: number;
  periodInSeconds?: number;
  counter?: number;
}

const SCHEME = 'otpauth://';
const DEFAULT_ALGORITHM = 'SHA1';
const DEFAULT_DIGITS = 6;
const DEFAULT_PERIOD_IN_SECONDS = 30;

function checkLabelPart(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${what} must be a non-empty string`);
  }
  // The spec forbids colons in either part: the first colon separates issuer from account.
  if (value.includes(':')) {
    throw new TypeError(`${what} must not contain a colon`);
  }
  if (!value.isWellFormed()) {
    throw new TypeError(`${what} must be well-formed Unicode`);
  }
  return value;
}

function checkPeriod(period: number): number {
  if (!Number.isSafeInteger(period) || period < 1) {
    throw new RangeError('Period must be a positive whole number of seconds');
  }
  return period;
}

function checkCounter(counter: number): number {
  if (!Number.isSafeInteger(counter) || counter < 0) {
    throw new RangeError('Counter must be a non-negative safe integer');
  }
  return counter;
}

/**
 * Builds an otpauth:// key URI for an authenticator app. Algorithm, digits and (TOTP)
 * period are always written, defaults included: an app never has to guess them.
 */
export function createKeyURI(params: KeyURIParams): string {
  const type = params.type ?? 'totp';
  if (type !== 'totp' && type !== 'hotp') {
    throw new TypeError("Type must be 'totp' or 'hotp'");
  }
  const accountName = checkLabelPart(params.accountName, 'Account name');
  // Apps strip spaces after the colon, so a leading space would not survive the round trip.
  if (accountName.startsWith(' ')) {
    throw new TypeError('Account name must not start with a space');
  }
  const issuer = params.issuer === undefined ? undefined : checkLabelPart(params.issuer, 'Issuer');
  if (!(params.secret instanceof Uint8Array) || params.secret.byteLength === 0) {
    throw new TypeError('Secret must be a non-empty Uint8Array');
  }
  const algorithm = params.algorithm ?? DEFAULT_ALGORITHM;
  resolveHMACName(algorithm);
  const digits = resolveDigits(params.digits);

  const label = issuer === undefined ? encodeURIComponent(accountName) : `${encodeURIComponent(issuer)}:${encodeURIComponent(accountName)}`;
  let query = `secret=${encodeBase32(params.secret, { padding: false })}`;
  if (issuer !== undefined) query += `&issuer=${encodeURIComponent(issuer)}`;
  query += `&algorithm=${algorithm}&digits=${digits}`;
  if (type === 'totp') {
    if (params.counter !== undefined) {
      throw new TypeError('Counter applies only to HOTP');
    }
    const period = checkPeriod(params.periodInSeconds ?? DEFAULT_PERIOD_IN_SECONDS);
    query += `&period=${period}`;
  } else {
    if (params.periodInSeconds !== undefined) {
      throw new TypeError('Period applies only to TOTP');
    }
    // The spec makes counter required for HOTP.
    query += `&counter=${checkCounter(params.counter ?? 0)}`;
  }
  return `${SCHEME}${type}/${label}?${query}`;
}

function decodeComponent(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch (cause) {
    throw new TypeError(`Key URI ${what} has malformed percent-encoding`, { cause });
  }
}

function parseQuery(query: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = decodeComponent(equals < 0 ? pair : pair.slice(0, equals), 'parameter name').toLowerCase();
    const value = equals < 0 ? '' : decodeComponent(pair.slice(equals + 1), `parameter '${name}'`);
    if (params.has(name)) {
      throw new TypeError(`Key URI has more than one '${name}' parameter`);
    }
    params.set(name, value);
  }
  return params;
}

function parseAlgorithm(text: string | undefined): HashAlgorithm {
  switch (text?.toUpperCase()) {
    case undefined:
    case 'SHA1':
      return 'SHA1';
    case 'SHA256':
      return 'SHA256';
    case 'SHA512':
      return 'SHA512';
    default:
      throw new TypeError('Key URI algorithm must be SHA1, SHA256 or SHA512');
  }
}

function parseWholeNumber(text: string, what: string): number {
  const value = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    throw new TypeError(`Key URI ${what} must be a whole number`);
  }
  return value;
}

/** Parses an otpauth:// key URI; a malformed one throws a TypeError saying what is wrong. */
export function parseKeyURI(uri: string): KeyURI {
  if (typeof uri !== 'string') {
    throw new TypeError('Key URI must be a string');
  }
  if (uri.slice(0, SCHEME.length).toLowerCase() !== SCHEME) {
    throw new TypeError('Key URI must start with otpauth://');
  }
  const hash = uri.indexOf('#');
  const rest = uri.slice(SCHEME.length, hash < 0 ? undefined : hash);
  const slash = rest.indexOf('/');
  const question = rest.indexOf('?');
  if (slash < 0 || (question >= 0 && question < slash)) {
    throw new TypeError('Key URI must have a label after the type');
  }
  const type = rest.slice(0, slash).toLowerCase();
  if (type !== 'totp' && type !== 'hotp') {
    throw new TypeError(`Key URI type must be totp or hotp, not '${rest.slice(0, slash)}'`);
  }
  const rawLabel = rest.slice(slash + 1, question < 0 ? undefined : question);
  const params = parseQuery(question < 0 ? '' : rest.slice(question + 1));

  // The issuer prefix ends at the first colon, literal or percent-encoded; spaces may follow it.
  const separator = /:|%3a/i.exec(rawLabel);
  const labelIssuer = separator ? decodeComponent(rawLabel.slice(0, separator.index), 'label') : undefined;
  const accountName = decodeComponent(separator ? rawLabel.slice(separator.index + separator[0].length) : rawLabel, 'label').replace(/^ +/, '');
  if (accountName === '') {
    throw new TypeError('Key URI label must name an account');
  }
  const issuerParam = params.get('issuer') || undefined;
  if (labelIssuer !== undefined && issuerParam !== undefined && labelIssuer !== issuerParam) {
    throw new TypeError(`Key URI issuer parameter '${issuerParam}' does not match the label's issuer '${labelIssuer}'`);
  }
  const issuer = issuerParam ?? (labelIssuer || undefined);

  const secretText = params.get('secret');
  if (secretText === undefined || secretText === '') {
    throw new TypeError('Key URI secret is missing');
  }
  let secret: Uint8Array;
  try {
    secret = decodeBase32(secretText);
  } catch (cause) {
    throw new TypeError(`Key URI secret is not valid base32: ${(cause as Error).message}`, { cause });
  }
  if (secret.byteLength === 0) {
    throw new TypeError('Key URI secret is missing');
  }

  const algorithm = parseAlgorithm(params.get('algorithm'));
  const digitsText = params.get('digits');
  const digits = digitsText === undefined ? DEFAULT_DIGITS : parseWholeNumber(digitsText, 'digits');
  if (digits < 6 || digits > 10) {
    throw new TypeError('Key URI digits must be between 6 and 10');
  }
  const result: KeyURI = { type, accountName, secret, algorithm, digits, periodInSeconds: DEFAULT_PERIOD_IN_SECONDS };
  if (issuer !== undefined) {
    result.issuer = issuer;
  }
  if (type === 'totp') {
    const periodText = params.get('period');
    if (periodText !== undefined) {
      result.periodInSeconds = parseWholeNumber(periodText, 'period');
      if (result.periodInSeconds < 1) {
        throw new TypeError('Key URI period must be at least 1 second');
      }
    }
  } else {
    const counterText = params.get('counter');
    if (counterText === undefined) {
      throw new TypeError('Key URI counter is required for HOTP');
    }
    result.counter = parseWholeNumber(counterText, 'counter');
  }
  return result;
}
