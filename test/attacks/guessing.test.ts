/**
 * Guessing the second factor against the real server (I5; SECURITY.md items 7, 8, 16,
 * 17, 23): wrong codes spread over many pending logins, client addresses (X-Forwarded-
 * For from a trusted 127.0.0.1) and parallel requests still lock the account at 100
 * consecutive failures; a resent email code does not reset the count; a recovery code
 * has its own counter and lifts the lock. With the default back-off, the 6th
 * consecutive failure is answered 429 with Retry-After.
 *
 * OTPGATE_LONG_TESTS=1 sends 1,000 wrong codes per attack instead of 200.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from 'node:https';
import type { RunningServer } from '../support/server.ts';
import { startServer } from '../support/server.ts';
import type { AttackClient, Authenticator, RawResponse } from '../support/attack.ts';
import {
  SecretLog, assertNoSecretsLogged, attackClient, consoleLoginCode, freshTOTPCode, keepAliveAgent, otherCode, pool, signupWithAuthenticator, wrongRecoveryCode, wrongTOTPCode, verifyEmailFromConsole,
} from '../support/attack.ts';

const PASSWORD = 'guess-Canary-Pw-51d2a7';
const TRUSTED_PROXY = { OTPGATE_TRUST_PROXY: '127.0.0.1', OTPGATE_LOG_LEVEL: 'trace' };
const LONG = process.env.OTPGATE_LONG_TESTS === '1';
/** Pending logins per attack, 5 wrong codes each: 200 guesses (1,000 with OTPGATE_LONG_TESTS=1). */
const PENDING_LOGINS = LONG ? 200 : 40;
const ADDRESSES = LONG ? 100 : 20;
const CODES_PER_LOGIN = 5;

type Method = 'totp' | 'email' | 'recovery';

interface Tally {
  invalid: number;
  locked: number;
  other: string[];
}

function describeAnswer(r: RawResponse): string {
  return `${r.status} ${r.body.slice(0, 200)}`;
}

/** The harness for one server: accounts, pending logins from given addresses, guesses. */
function harness(env: Record<string, string>) {
  const state = { server: undefined as RunningServer | undefined, agent: undefined as Agent | undefined };
  const secrets = new SecretLog();
  secrets.add(PASSWORD);

  before(async () => {
    state.server = await startServer(env);
    state.agent = keepAliveAgent(state.server, 16);
  });
  after(async () => {
    state.agent?.destroy();
    await state.server?.stop();
  });

  const server = (): RunningServer => {
    if (!state.server) throw new Error('server not started');
    return state.server;
  };
  const client = (ip: string): AttackClient => {
    if (!state.agent) throw new Error('server not started');
    return attackClient(server(), state.agent, { ip });
  };

  /** A new account with a confirmed authenticator (and an email address when given); its own level-2 client. */
  async function account(username: string, email?: string): Promise<{ owner: AttackClient; auth: Authenticator }> {
    const owner = client('192.0.2.1');
    const mark = server().output().length;
    const auth = await signupWithAuthenticator(owner, username, PASSWORD, email === undefined ? {} : { email });
    if (email !== undefined) secrets.add(await verifyEmailFromConsole(owner, server(), email, mark));
    secrets.addAuthenticator(auth);
    secrets.addCookies(owner.cookies);
    return { owner, auth };
  }

  /** Passes the password step from `ip`: the client holds the pending-login cookie. */
  async function pendingLogin(username: string, ip: string): Promise<AttackClient> {
    const c = client(ip);
    const r = await c.request('POST', '/api/login', { username, password: PASSWORD });
    assert.equal(r.status, 200, describeAnswer(r));
    assert.equal(r.json().status, 'otp_required');
    secrets.addCookies(c.cookies);
    return c;
  }

  const verify = (c: AttackClient, method: Method, code: string): Promise<RawResponse> => {
    secrets.add(code);
    return c.request('POST', '/api/login/verify', { method, code });
  };

  /**
   * `PENDING_LOGINS` pending logins from `ADDRESSES` addresses, 8 at a time, each sent
   * `CODES_PER_LOGIN` wrong codes in turn; every answer is tallied.
   */
  async function guessWidely(username: string, method: Method, wrongCode: () => string, firstAddress = 0): Promise<Tally> {
    const ip = (i: number) => `198.51.100.${((firstAddress + i) % ADDRESSES) + 1}`;
    const logins = await pool(Array.from({ length: PENDING_LOGINS }, (_, i) => () => pendingLogin(username, ip(i))), 4);
    const tally: Tally = { invalid: 0, locked: 0, other: [] };
    await pool(logins.map((c) => async () => {
      for (let k = 0; k < CODES_PER_LOGIN; k++) {
        const r = await verify(c, method, wrongCode());
        const body = r.json<{ error?: string; locked?: boolean }>();
        if (r.status === 401 && body.error === 'invalid_code') tally.invalid++;
        else if (r.status === 429 && body.error === 'too_many_attempts' && body.locked === true) tally.locked++;
        else tally.other.push(describeAnswer(r));
      }
    }), 8);
    return tally;
  }

  return { server, client, account, pendingLogin, verify, guessWidely, secrets };
}

void describe('second-factor guessing with OTPGATE_BACKOFF=0 (only the lock at 100)', () => {
  const h = harness({ ...TRUSTED_PROXY, OTPGATE_BACKOFF: '0' });

  void describe('an authenticator (TOTP)', () => {
    let victim: { owner: AttackClient; auth: Authenticator };
    let failures = 0;

    void it('closes a pending login after 5 wrong codes: the 6th is answered login_expired', async () => {
      victim = await h.account('totp-victim');
      const c = await h.pendingLogin('totp-victim', '198.51.100.200');
      const pendingId = c.cookies.get('__Host-otpgate-pending') ?? '';
      for (let k = 1; k <= 5; k++) {
        const r = await h.verify(c, 'totp', wrongTOTPCode(victim.auth.seed));
        assert.equal(r.status, 401, describeAnswer(r));
        assert.deepEqual([r.json().error, r.json().attempts_left], ['invalid_code', 5 - k]);
        failures++;
      }
      assert.equal(c.cookies.has('__Host-otpgate-pending'), false, 'the pending cookie is cleared with the last attempt');
      c.cookies.set('__Host-otpgate-pending', pendingId); // the server, not the client, must refuse it
      const sixth = await h.verify(c, 'totp', wrongTOTPCode(victim.auth.seed));
      assert.equal(sixth.status, 401, describeAnswer(sixth));
      assert.equal(sixth.json().error, 'login_expired');
    });

    void it(`locks at 100 failures: ${PENDING_LOGINS * CODES_PER_LOGIN} wrong codes over ${PENDING_LOGINS} pending logins, ${ADDRESSES} addresses, 8 in parallel`, async () => {
      const tally = await h.guessWidely('totp-victim', 'totp', () => wrongTOTPCode(victim.auth.seed));
      failures += tally.invalid;
      console.log(`# TOTP: ${failures} answered invalid_code in all, ${tally.locked} too_many_attempts (locked), ${tally.other.length} other`);
      assert.deepEqual(tally.other, []);
      assert.ok(failures <= 100, `${failures} wrong codes were checked; at most 100 may be`);
      assert.ok(tally.locked >= PENDING_LOGINS * CODES_PER_LOGIN - 100, `${tally.locked} answered locked`);
      const me = await victim.owner.request('GET', '/api/me');
      assert.equal(me.json().second_factors_locked, true);
    });

    void it('then refuses the right code (locked), accepts a recovery code, and the recovery code lifts the lock', async () => {
      const c = await h.pendingLogin('totp-victim', '198.51.100.201');
      const right = freshTOTPCode(victim.auth);
      const refused = await h.verify(c, 'totp', right.code);
      assert.equal(refused.status, 429, describeAnswer(refused));
      assert.deepEqual([refused.json().error, refused.json().locked], ['too_many_attempts', true]);

      const recovery = await h.verify(c, 'recovery', victim.auth.recoveryCodes[0] ?? '');
      assert.equal(recovery.status, 200, describeAnswer(recovery));
      assert.deepEqual(recovery.json(), { status: 'authenticated', recovery_codes_left: 9 });
      h.secrets.addCookies(c.cookies);

      const again = await h.pendingLogin('totp-victim', '198.51.100.202');
      const code = freshTOTPCode(victim.auth);
      const accepted = await h.verify(again, 'totp', code.code);
      assert.equal(accepted.status, 200, describeAnswer(accepted));
      victim.auth.lastStep = code.step;
      h.secrets.addCookies(again.cookies);
    });
  });

  void describe('recovery codes (item 23)', () => {
    let victim: { owner: AttackClient; auth: Authenticator };

    void it(`lock at 100 failures: ${PENDING_LOGINS * CODES_PER_LOGIN} wrong recovery codes over ${PENDING_LOGINS} pending logins and ${ADDRESSES} addresses`, async () => {
      victim = await h.account('recovery-victim');
      const tally = await h.guessWidely('recovery-victim', 'recovery', () => wrongRecoveryCode(victim.auth.recoveryCodes), 7);
      console.log(`# recovery codes: ${tally.invalid} answered invalid_code, ${tally.locked} too_many_attempts (locked), ${tally.other.length} other`);
      assert.deepEqual(tally.other, []);
      assert.ok(tally.invalid <= 100, `${tally.invalid} wrong recovery codes were checked; at most 100 may be`);
      assert.ok(tally.locked >= PENDING_LOGINS * CODES_PER_LOGIN - 100);
    });

    void it('then refuses a right recovery code; the authenticator (its own counter) still works and lifts the lock', async () => {
      const c = await h.pendingLogin('recovery-victim', '198.51.100.210');
      const refused = await h.verify(c, 'recovery', victim.auth.recoveryCodes[0] ?? '');
      assert.equal(refused.status, 429, describeAnswer(refused));
      assert.deepEqual([refused.json().error, refused.json().locked], ['too_many_attempts', true]);

      const code = freshTOTPCode(victim.auth);
      const accepted = await h.verify(c, 'totp', code.code);
      assert.equal(accepted.status, 200, describeAnswer(accepted));
      victim.auth.lastStep = code.step;

      const again = await h.pendingLogin('recovery-victim', '198.51.100.211');
      const recovery = await h.verify(again, 'recovery', victim.auth.recoveryCodes[0] ?? '');
      assert.equal(recovery.status, 200, describeAnswer(recovery));
      h.secrets.addCookies(c.cookies);
      h.secrets.addCookies(again.cookies);
    });
  });

  void describe('email codes (items 16, 17)', () => {
    const EMAIL = 'email-victim@example.test';
    let failures = 0;
    let resent: { client: AttackClient; code: string };
    let sends = 0;

    const send = async (c: AttackClient): Promise<RawResponse> => {
      const r = await c.request('POST', '/api/login/send', { method: 'email' });
      if (r.status === 202) sends++;
      return r;
    };

    void it('answers a rapid resend 429 with Retry-After', async () => {
      await h.account('email-victim', EMAIL);
      const c = await h.pendingLogin('email-victim', '198.51.100.220');
      const mark = h.server().output().length;
      const first = await send(c);
      assert.equal(first.status, 202, describeAnswer(first));
      h.secrets.add(await consoleLoginCode(h.server(), EMAIL, mark));
      const rapid = await send(c);
      assert.equal(rapid.status, 429, describeAnswer(rapid));
      assert.equal(rapid.json().error, 'rate_limited');
      assert.ok(Number(rapid.headers['retry-after']) >= 1, `Retry-After: ${rapid.headers['retry-after']}`);
    });

    void it('counts 50 failures, a resend, and more failures together: the lock comes at 100, and the resent code is refused', async () => {
      // 50 failures over 10 pending logins from 10 addresses.
      const logins = await pool(Array.from({ length: 10 }, (_, i) => () => h.pendingLogin('email-victim', `198.51.100.${30 + i}`)), 4);
      for (const c of logins) {
        for (let k = 0; k < CODES_PER_LOGIN; k++) {
          const r = await h.verify(c, 'email', otherCode('------'));
          assert.equal(r.status, 401, describeAnswer(r));
          assert.equal(r.json().error, 'invalid_code');
          failures++;
        }
      }
      assert.equal(failures, 50);

      // The resend: a new code on a new pending login.
      const c = await h.pendingLogin('email-victim', '198.51.100.60');
      const mark = h.server().output().length;
      const r = await send(c);
      assert.equal(r.status, 202, describeAnswer(r));
      resent = { client: c, code: await consoleLoginCode(h.server(), EMAIL, mark) };
      h.secrets.add(resent.code);
      assert.equal((await send(c)).status, 429, 'a rapid resend of the new code is refused too');

      // More failures, elsewhere: the count goes on from 50.
      const tally = await h.guessWidely('email-victim', 'email', () => otherCode(resent.code), 3);
      failures += tally.invalid;
      console.log(`# email codes: ${failures} answered invalid_code in all (50 before the resend), ${tally.locked} too_many_attempts (locked)`);
      assert.deepEqual(tally.other, []);
      assert.ok(failures <= 100, `${failures} wrong email codes were checked; at most 100 may be`);
      assert.ok(tally.invalid <= 50, `${tally.invalid} failures after the resend: the resend reset the count`);

      const refused = await h.verify(resent.client, 'email', resent.code);
      assert.equal(refused.status, 429, describeAnswer(refused));
      assert.deepEqual([refused.json().error, refused.json().locked], ['too_many_attempts', true]);
    });

    void it('caps code sends per account: from fresh pending logins and addresses, 10 an hour, then 429', async () => {
      const answers: number[] = [];
      for (let i = 0; i < 12 && !answers.includes(429); i++) {
        const c = await h.pendingLogin('email-victim', `198.51.100.${70 + i}`);
        const r = await send(c);
        answers.push(r.status);
        if (r.status === 429) {
          assert.equal(r.json().error, 'rate_limited');
          assert.ok(Number(r.headers['retry-after']) >= 1);
        }
      }
      console.log(`# email sends accepted for one account before 429: ${sends}`);
      assert.equal(answers.at(-1), 429, `answers: ${answers.join(',')}`);
      assert.ok(sends <= 10, `${sends} codes were sent to one account`);
    });
  });

  void it('logged none of the passwords, codes, seeds, recovery codes or cookies it used', () => {
    assert.ok(h.secrets.values.size > 100, `${h.secrets.values.size} secrets collected`);
    assertNoSecretsLogged(h.server().output(), h.secrets);
  });
});

void describe('second-factor guessing with the default back-off', () => {
  const h = harness(TRUSTED_PROXY);

  void it('answers the 6th consecutive failure 429 too_many_attempts with Retry-After, even with the right code', async () => {
    const { auth } = await h.account('backoff-victim');
    const first = await h.pendingLogin('backoff-victim', '198.51.100.1');
    const second = await h.pendingLogin('backoff-victim', '198.51.100.2');
    for (let k = 1; k <= 5; k++) {
      const r = await h.verify(first, 'totp', wrongTOTPCode(auth.seed));
      assert.equal(r.status, 401, describeAnswer(r));
      assert.equal(r.json().error, 'invalid_code');
    }
    const sixth = await h.verify(second, 'totp', wrongTOTPCode(auth.seed));
    assert.equal(sixth.status, 429, describeAnswer(sixth));
    const body = sixth.json<{ error: string; retry_after: number }>();
    assert.equal(body.error, 'too_many_attempts');
    assert.ok(body.retry_after >= 1);
    assert.equal(sixth.headers['retry-after'], String(body.retry_after));

    const right = await h.verify(second, 'totp', freshTOTPCode(auth).code);
    assert.equal(right.status, 429, describeAnswer(right));
    assert.equal(right.json().error, 'too_many_attempts');
  });

  void it('logged none of the secrets it used', () => {
    assertNoSecretsLogged(h.server().output(), h.secrets);
  });
});
