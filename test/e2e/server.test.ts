/**
 * The real server, started with `npm start` over HTTPS on a free port: every flow of the
 * product once, then the log canary — none of the secrets used may appear in the
 * server's output, except the codes the console sender prints on purpose.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';
import type { RunningServer } from '../support/server.ts';
import { httpsClient, startServer } from '../support/server.ts';

const PASSWORD = 'canary-Pw-7f3a9c2e';
const NEW_PASSWORD = 'canary-Pw2-0b8d4e61';
const WRONG_PASSWORD = 'canary-Wrong-5c1e77';

let server: RunningServer;
/** Every secret the suite used, for the canary check. */
const secrets = new Set<string>([PASSWORD, NEW_PASSWORD, WRONG_PASSWORD]);

/** The newest code the console sender printed for `to`, after output offset `from`. */
async function consoleCode(to: string, from: number): Promise<string> {
  const escaped = to.replace(/[.+]/g, '\\$&');
  const match = await server.waitForOutput(new RegExp(`\\[console sender\\] (?:email|SMS) to ${escaped}[^\\n]*\\n(?:  \\|[^\\n]*\\n)*?  \\|[^\\n]*?\\b(\\d{6})\\b`), from);
  return match[1] ?? '';
}

function rememberCookies(cookies: Map<string, string>): void {
  for (const value of cookies.values()) secrets.add(value);
}

before(async () => {
  server = await startServer({ OTPGATE_LOG_LEVEL: 'trace' });
});
after(async () => {
  await server.stop();
});

describe('npm start, end to end over HTTPS', () => {
  it('serves health with HSTS', async () => {
    const r = await httpsClient(server).request('GET', '/api/health');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { status: 'ok' });
    assert.match(String(r.headers['strict-transport-security']), /max-age=31536000; includeSubDomains/);
  });

  it('signs up, signs in with the emailed code, enrolls an authenticator, and every flow works', async () => {
    const c = httpsClient(server);
    const signedUp = server.output().length;
    const signup = await c.request('POST', '/api/signup', { username: 'zoe', password: PASSWORD, email: 'zoe@example.test' });
    assert.equal(signup.status, 201, signup.body);
    rememberCookies(c.cookies);
    // The address counts once verified with the code mailed at sign-up.
    const verification = await consoleCode('zoe@example.test', signedUp);
    secrets.add(verification);
    assert.equal((await c.request('POST', '/api/email/verify', { code: verification })).status, 200);
    rememberCookies(c.cookies);
    assert.equal((await c.request('POST', '/api/logout')).status, 204);

    // A wrong password, then the right one: the code goes to the console sender.
    assert.equal((await c.request('POST', '/api/login', { username: 'zoe', password: WRONG_PASSWORD })).status, 401);
    const mark = server.output().length;
    const login = await c.request('POST', '/api/login', { username: 'zoe', password: PASSWORD });
    assert.deepEqual(login.json(), { status: 'otp_required', methods: ['email'], sent: 'email' });
    rememberCookies(c.cookies);
    const code = await consoleCode('zoe@example.test', mark);
    const wrong = code === '000000' ? '111111' : '000000';
    assert.equal((await c.request('POST', '/api/login/verify', { method: 'email', code: wrong })).status, 401);
    const verified = await c.request('POST', '/api/login/verify', { method: 'email', code });
    assert.equal(verified.status, 200, verified.body);
    rememberCookies(c.cookies);
    const me = await c.request('GET', '/api/me');
    assert.equal(me.json<{ level: number }>().level, 2);
    assert.equal(me.headers['cache-control'], 'no-store');

    // Enroll an authenticator: the seed and the recovery codes are secrets from now on.
    const begun = (await c.request('POST', '/api/factors/totp', { label: 'Phone' })).json<{ factor_id: string; secret: string; otpauth_uri: string }>();
    secrets.add(begun.secret);
    secrets.add(begun.otpauth_uri);
    const seed = decodeBase32(begun.secret);
    secrets.add(Buffer.from(seed).toString('hex'));
    secrets.add(Buffer.from(seed).toString('base64'));
    const totpCode = generateTOTP(seed, Date.now());
    secrets.add(totpCode);
    const confirmed = await c.request('POST', '/api/factors/totp/verify', { factor_id: begun.factor_id, code: totpCode });
    assert.equal(confirmed.status, 200, confirmed.body);
    const recoveryCodes = confirmed.json<{ recovery_codes: string[] }>().recovery_codes;
    for (const rc of recoveryCodes) secrets.add(rc);

    // Log out: the old cookie is refused on the server.
    const oldToken = c.cookies.get('__Host-otpgate-session') ?? '';
    assert.equal((await c.request('POST', '/api/logout')).status, 204);
    const stale = httpsClient(server);
    stale.cookies.set('__Host-otpgate-session', oldToken);
    assert.equal((await stale.request('GET', '/api/me')).status, 401);

    // Sign in with a recovery code (the TOTP step of enrollment is used up).
    const r = httpsClient(server);
    const started = await r.request('POST', '/api/login', { username: 'zoe', password: PASSWORD });
    assert.deepEqual(started.json(), { status: 'otp_required', methods: ['totp', 'email', 'recovery'] });
    rememberCookies(r.cookies);
    const byRecovery = await r.request('POST', '/api/login/verify', { method: 'recovery', code: recoveryCodes[0] });
    assert.deepEqual(byRecovery.json(), { status: 'authenticated', recovery_codes_left: 9 });
    rememberCookies(r.cookies);

    // Change the password; the other session (c is logged out; r stays) and a regenerate.
    assert.equal((await r.request('POST', '/api/password', { current_password: PASSWORD, new_password: NEW_PASSWORD })).status, 200);
    const fresh = await r.request('POST', '/api/recovery-codes', { password: NEW_PASSWORD });
    for (const rc of fresh.json<{ recovery_codes: string[] }>().recovery_codes) secrets.add(rc);
    const sessions = await r.request('GET', '/api/sessions');
    assert.equal(sessions.json<{ sessions: unknown[] }>().sessions.length, 1);
  });

  it('never writes a password, seed, recovery code, session token or pending id to its output', () => {
    // The console sender's blocks are the one place codes are printed on purpose.
    const output = server.output().replace(/\[console sender\][^\n]*\n(?: {2}\|[^\n]*\n)*/g, '');
    assert.ok(output.includes('"statusCode"') || output.includes('request'), 'the server logged requests (level trace)');
    assert.ok(secrets.size > 25, `collected ${secrets.size} secrets`);
    for (const secret of secrets) {
      assert.ok(!output.includes(secret), `the output contains a secret: ${secret.slice(0, 4)}…`);
    }
  });
});
