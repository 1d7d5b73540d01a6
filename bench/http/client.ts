/**
 * The driver's HTTP side: undici pools with keep-alive that trust only the server's
 * certificate, and the three requests the bench sends. Each answer is reduced to an
 * outcome: 'ok', or a label naming what went wrong (counted as a failure).
 *
 * Throttles: the server trusts 127.0.0.1 as a proxy (OTPGATE_TRUST_PROXY) and every
 * password attempt carries its own X-Forwarded-For address, so the per-address token
 * bucket (30 burst, 1 per 2 s) sees many clients instead of one driver.
 */
import { Pool } from 'undici';
import type { BenchServer } from './server.ts';
import { COOKIE } from '../../src/http/cookies.ts';

export const USER_AGENT = 'otpgate-bench-http/1';
const PENDING_COOKIE = COOKIE.pending;

/** A keep-alive pool of `connections` HTTPS connections to the server (one request in flight on each). */
export function openPool(server: Pick<BenchServer, 'port' | 'ca'>, connections: number): Pool {
  return new Pool(`https://127.0.0.1:${server.port}`, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 60_000,
    connect: { ca: server.ca, servername: 'localhost', rejectUnauthorized: true },
  });
}

let addressSerial = 0;
/** A client address not used before in this run (10.0.0.1 … 10.255.255.254), for X-Forwarded-For. */
export function nextClientAddress(): string {
  addressSerial = (addressSerial % 16_777_213) + 1;
  return `10.${(addressSerial >>> 16) & 255}.${(addressSerial >>> 8) & 255}.${addressSerial & 255}`;
}

/** 'ok', or a label of what went wrong (`verify 401 invalid_code`). */
export type Outcome = string;

export interface Requester {
  pool: Pool;
  /** The server's public origin, sent as Origin like a browser does. */
  origin: string;
}

async function failure(step: string, statusCode: number, body: { text(): Promise<string> }): Promise<string> {
  let code = '';
  try {
    const parsed: unknown = JSON.parse(await body.text());
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed && typeof parsed.error === 'string') code = ` ${parsed.error}`;
  } catch {
    // not JSON: the status says enough
  }
  return `${step} ${statusCode}${code}`;
}

function pendingCookie(setCookie: string | string[] | undefined): string | undefined {
  for (const line of Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie]) {
    const match = new RegExp(`^${PENDING_COOKIE}=([A-Za-z0-9_-]{43});`).exec(line);
    if (match) return match[1];
  }
  return undefined;
}

/** POST /api/login: the password step. On success, the pending-login id from the cookie. */
export async function postLogin(r: Requester, username: string, password: string, address: string): Promise<{ outcome: Outcome; pendingId?: string }> {
  const response = await r.pool.request({
    path: '/api/login',
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: r.origin, 'user-agent': USER_AGENT, 'x-forwarded-for': address },
    body: JSON.stringify({ username, password }),
  });
  if (response.statusCode !== 200) return { outcome: await failure('login', response.statusCode, response.body) };
  const text = await response.body.text();
  const pendingId = pendingCookie(response.headers['set-cookie']);
  if (!text.includes('"otp_required"') || pendingId === undefined) return { outcome: 'login 200 without a pending login' };
  return { outcome: 'ok', pendingId };
}

/** POST /api/login/verify with a TOTP code: the OTP step. */
export async function postVerify(r: Requester, pendingId: string, code: string, address: string): Promise<Outcome> {
  const response = await r.pool.request({
    path: '/api/login/verify',
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      origin: r.origin,
      'user-agent': USER_AGENT,
      'x-forwarded-for': address,
      cookie: `${PENDING_COOKIE}=${pendingId}`,
    },
    body: JSON.stringify({ code, method: 'totp' }),
  });
  if (response.statusCode !== 200) return failure('verify', response.statusCode, response.body);
  const text = await response.body.text();
  return text.includes('"authenticated"') ? 'ok' : 'verify 200 not authenticated';
}

/** GET /api/health. */
export async function getHealth(r: Requester): Promise<Outcome> {
  const response = await r.pool.request({ path: '/api/health', method: 'GET', headers: { 'user-agent': USER_AGENT } });
  if (response.statusCode !== 200) return failure('health', response.statusCode, response.body);
  await response.body.dump();
  return 'ok';
}
