/**
 * Replay (I4; SECURITY.md item 5): a code is accepted at most once — one TOTP code sent
 * by 50 pending logins at once, half of them to a second server process on the same
 * data directory, gives exactly one session; so does a race on one email code or one
 * recovery code; and a used email or recovery code is refused afterwards.
 * OTPGATE_BACKOFF=0 so that no back-off answers instead of the code check.
 * OTPGATE_LONG_TESTS=1 races 200 pending logins instead of 50.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from 'node:https';
import type { RunningServer } from '../support/server.ts';
import { startServer } from '../support/server.ts';
import type { AttackClient, Authenticator, RawResponse } from '../support/attack.ts';
import {
  SecretLog, assertNoSecretsLogged, attackClient, consoleLoginCode, freshTOTPCode, keepAliveAgent, pool, signupWithAuthenticator, verifyEmailFromConsole,
} from '../support/attack.ts';

const PASSWORD = 'replay-Canary-Pw-27f0c3';
const RACERS = process.env.OTPGATE_LONG_TESTS === '1' ? 200 : 50;
const ENV = { OTPGATE_BACKOFF: '0', OTPGATE_TRUST_PROXY: '127.0.0.1', OTPGATE_LOG_LEVEL: 'trace' };

let a: RunningServer;
let b: RunningServer;
let agentA: Agent;
let agentB: Agent;
const secrets = new SecretLog();
secrets.add(PASSWORD);

before(async () => {
  a = await startServer(ENV);
  b = await startServer(ENV, { dataDir: a.dataDir }); // the same database, key and certificate
  agentA = keepAliveAgent(a, RACERS);
  agentB = keepAliveAgent(b, RACERS);
});
after(async () => {
  agentA.destroy();
  agentB.destroy();
  await b.stop();
  await a.stop();
});

/**
 * A pending login, opened on server A. (Opening them on both servers at once trips a
 * spurious per-username throttle — see the report: claims stamped before waiting for
 * the other process's write lock.)
 */
async function pendingLogin(username: string, i: number): Promise<AttackClient> {
  const c = attackClient(a, agentA, { ip: `198.51.100.${(i % 25) + 1}` });
  const r = await c.request('POST', '/api/login', { username, password: PASSWORD });
  assert.equal(r.status, 200, r.body);
  secrets.addCookies(c.cookies);
  return c;
}

/** The same browser (cookies, address) talking to server A (i even) or B (i odd). */
function via(i: number, c: AttackClient): AttackClient {
  const twin = i % 2 === 0 ? attackClient(a, agentA, { ip: c.ip ?? '' }) : attackClient(b, agentB, { ip: c.ip ?? '' });
  for (const [k, v] of c.cookies) twin.cookies.set(k, v);
  return twin;
}

function outcome(r: RawResponse): string {
  if (r.status === 200) return 'authenticated';
  const body = r.json<{ error?: string; locked?: boolean }>();
  return `${r.status} ${body.error ?? ''}${body.locked === true ? ' (locked)' : ''}`;
}

/**
 * What a losing racer may be told: the code is used (invalid), or — a defect reported to
 * the lead — a spurious 429 when the racers' claims cross between the two processes.
 */
const LOSING = new Set(['401 invalid_code', '429 too_many_attempts', '429 too_many_attempts (locked)']);
/** Every race's outcomes, for the check on spurious throttling. */
const races: string[][] = [];

function count(outcomes: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
  return counts;
}

void describe('replay: a code works once, also under concurrency and across two server processes', () => {
  let victim: Authenticator;

  void it(`one TOTP code sent by ${RACERS} prepared pending logins at once (half to each server): exactly one session`, async () => {
    const owner = attackClient(a, agentA, { ip: '192.0.2.1' });
    victim = await signupWithAuthenticator(owner, 'replay-victim', PASSWORD);
    secrets.addAuthenticator(victim);
    secrets.addCookies(owner.cookies);

    const logins = await pool(Array.from({ length: RACERS }, (_, i) => () => pendingLogin('replay-victim', i)), 4); // ≤ 4 at once: the per-username counter counts attempts in flight
    const { code, step } = freshTOTPCode(victim);
    secrets.add(code);
    const answers = await Promise.all(logins.map((c, i) => via(i, c).request('POST', '/api/login/verify', { method: 'totp', code })));
    const outcomes = answers.map(outcome);
    console.log(`# replay, TOTP: ${JSON.stringify(count(outcomes))}`);
    assert.equal(outcomes.filter((o) => o === 'authenticated').length, 1, JSON.stringify(count(outcomes)));
    assert.deepEqual(outcomes.filter((o) => o !== 'authenticated' && !LOSING.has(o)), []);
    races.push(outcomes);
    victim.lastStep = step;
    for (const c of logins) secrets.addCookies(c.cookies);

    // And later, in a new login on either server: still refused.
    for (const i of [0, 1]) {
      const again = await pendingLogin('replay-victim', 100 + i);
      const r = await via(i, again).request('POST', '/api/login/verify', { method: 'totp', code });
      // Refused: as used, or — after 100 failures among many racers — as locked.
      assert.ok(LOSING.has(outcome(r)), outcome(r));
    }
  });

  void it('one recovery code sent by 20 pending logins at once: exactly one session; the used code is refused later', async () => {
    const logins = await pool(Array.from({ length: 20 }, (_, i) => () => pendingLogin('replay-victim', 200 + i)), 4); // ≤ 4 at once: the per-username counter counts attempts in flight
    const code = victim.recoveryCodes[1] ?? '';
    const outcomes = (await Promise.all(logins.map((c, i) => via(i, c).request('POST', '/api/login/verify', { method: 'recovery', code })))).map(outcome);
    console.log(`# replay, recovery code: ${JSON.stringify(count(outcomes))}`);
    assert.equal(outcomes.filter((o) => o === 'authenticated').length, 1, JSON.stringify(count(outcomes)));
    assert.deepEqual(outcomes.filter((o) => o !== 'authenticated' && !LOSING.has(o)), []);
    races.push(outcomes);
    for (const c of logins) secrets.addCookies(c.cookies);

    for (const i of [0, 1]) {
      const again = await pendingLogin('replay-victim', 300 + i);
      // Spaces and capitals are the same code: still refused.
      for (const variant of [code, code.toUpperCase().replace(/-/g, ' ')]) {
        const r = await via(i, again).request('POST', '/api/login/verify', { method: 'recovery', code: variant });
        assert.equal(outcome(r), '401 invalid_code', variant.slice(0, 4));
      }
    }
  });

  void it('one email code sent 10 times at once on its pending login: exactly one session; the used code fails in a new login', async () => {
    const email = 'replay-mail@example.test';
    const owner = attackClient(a, agentA, { ip: '192.0.2.2' });
    const signedUp = a.output().length;
    assert.equal((await owner.request('POST', '/api/signup', { username: 'replay-mail', password: PASSWORD, email })).status, 201);
    secrets.add(await verifyEmailFromConsole(owner, a, email, signedUp));
    secrets.addCookies(owner.cookies);

    const mark = a.output().length;
    const c = await pendingLogin('replay-mail', 0); // server A: the code is printed there
    const code = await consoleLoginCode(a, email, mark);
    secrets.add(code);
    const outcomes = (await Promise.all(Array.from({ length: 10 }, (_, i) => {
      // The same pending cookie, half of the requests through server B.
      return via(i, c).request('POST', '/api/login/verify', { method: 'email', code });
    }))).map(outcome);
    console.log(`# replay, email code on one pending login: ${JSON.stringify(count(outcomes))}`);
    assert.equal(outcomes.filter((o) => o === 'authenticated').length, 1, JSON.stringify(count(outcomes)));
    assert.deepEqual(outcomes.filter((o) => !['authenticated', '401 invalid_code', '401 login_expired'].includes(o)), []);

    const mark2 = a.output().length;
    const again = await pendingLogin('replay-mail', 2);
    secrets.add(await consoleLoginCode(a, email, mark2)); // the new login's own code
    const r = await again.request('POST', '/api/login/verify', { method: 'email', code });
    assert.equal(outcome(r), '401 invalid_code');
  });

  void it('throttles no racer spuriously: with OTPGATE_BACKOFF=0 no delay is ever due (only the lock at 100)', () => {
    assert.ok(races.length > 0);
    assert.deepEqual(races.flat().filter((o) => o === '429 too_many_attempts'), []);
  });

  void it('logged none of the secrets it used (either server)', () => {
    assertNoSecretsLogged(a.output(), secrets);
    assertNoSecretsLogged(b.output(), secrets);
  });
});
