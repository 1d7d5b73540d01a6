/**
 * Crash safety of the real server: `npm start` on one data directory is SIGKILLed (its
 * whole process group) in the middle of a mixed load — sign-ups, sign-ins with recovery
 * and TOTP codes, authenticators added and confirmed, recovery codes regenerated,
 * passwords changed — at the moment a chosen number of writes has been acknowledged, not
 * after a timer. After each kill, with the server dead, the SQLite file opened
 * read-only passes `PRAGMA integrity_check` and holds every acknowledged write; after
 * the restart on the same directory the accounts answer over HTTP as acknowledged
 * (`/api/me`, a full sign-in). A write whose answer never came may have happened or not:
 * both are accepted, and that account is only checked for its acknowledged state after.
 *
 * OTPGATE_LONG_TESTS=1 runs 20 kill cycles instead of 5.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { decodeBase32 } from '../../src/otp/index.ts';
import { verifyPassword } from '../../src/auth/password-hash.ts';
import { hashToken } from '../../src/auth/tokens.ts';
import type { RawResponse } from '../support/attack.ts';
import { attackClient, freshTOTPCode, keepAliveAgent, totpCodeAt, totpStep } from '../support/attack.ts';
import type { RunningServer } from '../support/server.ts';
import { startServer } from '../support/server.ts';

const LONG = process.env.OTPGATE_LONG_TESTS === '1';
const CYCLES = LONG ? 20 : 5;
const WORKERS = 4;
const ENV = { OTPGATE_TRUST_PROXY: '127.0.0.1' };
const SESSION = '__Host-otpgate-session';

interface Factor {
  seed: Uint8Array;
  lastStep: number;
  confirmed: boolean;
}

interface Account {
  username: string;
  /** The sign-up was answered 201 (else the account may or may not exist). */
  acknowledged: boolean;
  ip: string;
  /** The last acknowledged password, and one whose change was in flight at a kill. */
  password: string;
  maybePassword?: string;
  /** The worker's session (its cookies); undefined when it may have been rotated unseen. */
  cookies: Map<string, string> | undefined;
  factors: Map<string, Factor>;
  /** The unused codes of the last acknowledged batch; undefined once unknown (a write in flight at a kill). */
  recoveryCodes: string[] | undefined;
  /** An answer never came for one of its writes: checked, never used again. */
  retired: boolean;
}

class Stopped extends Error {}

let dataDir = '';
let server: RunningServer | undefined;
let agent: Agent | undefined;
const accounts: Account[] = [];
let serial = 0;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'otpgate-crash-'));
});
after(async () => {
  agent?.destroy();
  await server?.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

async function restart(): Promise<RunningServer> {
  agent?.destroy();
  server = await startServer(ENV, { dataDir });
  agent = keepAliveAgent(server, WORKERS * 2);
  return server;
}

/** One cycle's load: stops every worker and kills the server at the `target`-th acknowledged write. */
function loadUntilKill(target: number) {
  const s = server;
  const a = agent;
  if (!s || !a) throw new Error('no server');
  let acknowledged = 0;
  let killed: Promise<void> | undefined;
  const counts: Record<string, number> = {};

  /** Sends one request as `cookies`' browser; a write's 2xx counts, and may trigger the kill at once. */
  async function send(account: Account, jar: Map<string, string>, method: string, path: string, body: unknown, write: string | null): Promise<RawResponse> {
    if (killed) throw new Stopped();
    const c = attackClient(s!, a!, { ip: account.ip });
    for (const [k, v] of jar) c.cookies.set(k, v);
    let r: RawResponse;
    try {
      r = await c.request(method, path, body);
    } catch (error) {
      if (killed) throw new Stopped(); // the kill cut it off: unanswered
      throw error;
    }
    jar.clear();
    for (const [k, v] of c.cookies) jar.set(k, v);
    if (write !== null && r.status >= 200 && r.status < 300) {
      acknowledged++;
      counts[write] = (counts[write] ?? 0) + 1;
      if (acknowledged === target) killed = s!.kill('SIGKILL'); // the signal goes out now, before any other answer is read
    }
    return r;
  }

  function expectStatus(r: RawResponse, status: number, what: string): void {
    if (r.status !== status) throw new Error(`${what}: ${r.status} ${r.body.slice(0, 200)}`);
  }

  async function signup(): Promise<Account> {
    const n = serial++;
    const account: Account = { username: `crash-${n}`, acknowledged: false, ip: `198.51.100.${(n % 200) + 1}`, password: `crash-Pw-${n}-${randomInt(1e9)}`, cookies: new Map(), factors: new Map(), recoveryCodes: [], retired: true };
    accounts.push(account); // retired until the sign-up is acknowledged: it may or may not exist
    const r = await send(account, account.cookies!, 'POST', '/api/signup', { username: account.username, password: account.password }, 'signup');
    expectStatus(r, 201, 'signup');
    account.acknowledged = true;
    return account; // in use once its first authenticator is confirmed (the session is level 2 then)
  }

  async function addAuthenticator(account: Account): Promise<void> {
    const jar = account.cookies!;
    const begun = await send(account, jar, 'POST', '/api/factors/totp', { label: `k${account.factors.size}` }, 'enroll');
    expectStatus(begun, 201, 'enroll');
    const { factor_id: id, secret } = begun.json<{ factor_id: string; secret: string }>();
    const factor: Factor = { seed: decodeBase32(secret), lastStep: totpStep(), confirmed: false };
    account.factors.set(id, factor);
    account.retired = true; // until the confirmation's answer: the session may rotate, codes may be issued
    const confirmed = await send(account, jar, 'POST', '/api/factors/totp/verify', { factor_id: id, code: totpCodeAt(factor.seed, factor.lastStep) }, 'confirm');
    expectStatus(confirmed, 200, 'confirm');
    factor.confirmed = true;
    const codes = confirmed.json<{ recovery_codes?: string[] }>().recovery_codes;
    if (codes) account.recoveryCodes = [...codes];
    account.retired = false;
  }

  async function regenerate(account: Account): Promise<void> {
    account.retired = true;
    const r = await send(account, account.cookies!, 'POST', '/api/recovery-codes', { password: account.password }, 'regenerate');
    expectStatus(r, 200, 'regenerate');
    account.recoveryCodes = r.json<{ recovery_codes: string[] }>().recovery_codes;
    account.retired = false;
  }

  async function changePassword(account: Account): Promise<void> {
    const next = `crash-Pw2-${randomInt(1e9)}-${account.username}`;
    account.maybePassword = next;
    account.retired = true;
    const r = await send(account, account.cookies!, 'POST', '/api/password', { current_password: account.password, new_password: next }, 'password');
    expectStatus(r, 200, 'password');
    account.password = next;
    delete account.maybePassword;
    account.retired = false;
  }

  async function signIn(account: Account, how: 'totp' | 'recovery'): Promise<void> {
    const jar = new Map<string, string>();
    const started = await send(account, jar, 'POST', '/api/login', { username: account.username, password: account.password }, null);
    expectStatus(started, 200, 'login');
    if (how === 'totp') {
      const [id, factor] = [...account.factors].find(([, f]) => f.confirmed) ?? [];
      if (!id || !factor) return;
      let code: { code: string; step: number };
      try {
        code = freshTOTPCode(factor);
      } catch {
        return; // this factor's next step has not come yet
      }
      factor.lastStep = code.step; // used or not, never try this step again
      const r = await send(account, jar, 'POST', '/api/login/verify', { method: 'totp', code: code.code }, 'login');
      expectStatus(r, 200, 'login with TOTP');
      return;
    }
    const code = account.recoveryCodes?.[0];
    if (code === undefined) return;
    account.retired = true;
    const r = await send(account, jar, 'POST', '/api/login/verify', { method: 'recovery', code }, 'login');
    expectStatus(r, 200, 'login with a recovery code');
    account.recoveryCodes = account.recoveryCodes?.slice(1);
    account.retired = false;
  }

  async function worker(): Promise<void> {
    let account = accounts.find((x) => !x.retired && !claimed.has(x));
    if (account) claimed.add(account);
    for (let step = 0; step < 1000; step++) {
      if (!account || account.retired) {
        account = await signup();
        claimed.add(account);
        await addAuthenticator(account);
        continue;
      }
      const choice = randomInt(100);
      const codesLeft = account.recoveryCodes?.length ?? 0;
      if (choice < 10) account = undefined; // a new account next
      else if (choice < 25 && account.factors.size < 3) await addAuthenticator(account);
      else if (choice < 45 || codesLeft < 3) await regenerate(account);
      else if (choice < 60) await changePassword(account);
      else if (choice < 80) await signIn(account, 'recovery');
      else await signIn(account, 'totp');
    }
    throw new Error('a worker ran 1000 steps without the kill');
  }

  const claimed = new Set<Account>();
  const run = async (): Promise<void> => {
    const results = await Promise.allSettled(Array.from({ length: WORKERS }, worker));
    for (const result of results) {
      if (result.status === 'rejected' && !(result.reason instanceof Stopped)) throw result.reason;
    }
    if (!killed) throw new Error('the load ended without the kill');
    await killed;
  };
  return { run, counts: () => counts };
}

/** Checks the data directory's database with the server dead: integrity, and every acknowledged write. */
async function checkDatabase(): Promise<{ problems: string[]; checked: number }> {
  const problems: string[] = [];
  let checked = 0;
  const db = new DatabaseSync(join(dataDir, 'otpgate.db'), { readOnly: true });
  try {
    const integrity = db.prepare('PRAGMA integrity_check').all().map((row) => row.integrity_check);
    if (integrity.join() !== 'ok') problems.push(`integrity_check: ${integrity.join('; ')}`);
    const foreign = db.prepare('PRAGMA foreign_key_check').all();
    if (foreign.length > 0) problems.push(`foreign_key_check: ${JSON.stringify(foreign.slice(0, 3))}`);
    for (const account of accounts) {
      const user = db.prepare('SELECT id, password_hash FROM users WHERE username = ?').get(account.username);
      if (!user) {
        if (account.acknowledged) problems.push(`${account.username}: acknowledged but missing`);
        continue; // an unanswered sign-up may not have happened
      }
      checked++;
      const hash = String(user.password_hash);
      if (await verifyPassword(hash, account.password)) {
        // The change in flight did not happen.
      } else if (account.maybePassword !== undefined && (await verifyPassword(hash, account.maybePassword))) {
        account.password = account.maybePassword;
      } else {
        problems.push(`${account.username}: the acknowledged password does not verify`);
      }
      delete account.maybePassword;
      const factors = new Map(db.prepare('SELECT id, confirmed_at FROM totp_factors WHERE user_id = ?').all(String(user.id)).map((row) => [String(row.id), row.confirmed_at]));
      for (const [id, factor] of account.factors) {
        if (!factors.has(id)) problems.push(`${account.username}: authenticator ${id} missing`);
        else if (factor.confirmed && factors.get(id) === null) problems.push(`${account.username}: authenticator ${id} lost its confirmation`);
      }
      if (account.recoveryCodes !== undefined && !account.retired) {
        const left = Number(db.prepare('SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL').get(String(user.id))?.n);
        if (left !== account.recoveryCodes.length) problems.push(`${account.username}: ${left} recovery codes left, ${account.recoveryCodes.length} acknowledged`);
      }
      const token = account.cookies?.get(SESSION);
      if (token !== undefined && !account.retired && !db.prepare('SELECT 1 FROM sessions WHERE token_hash = ?').get(hashToken(token))) {
        problems.push(`${account.username}: its acknowledged session is gone`);
      }
    }
  } finally {
    db.close();
  }
  // An account whose write went unanswered no longer has a known session or batch.
  for (const account of accounts) {
    if (account.retired) {
      account.cookies = undefined;
      account.recoveryCodes = undefined;
    }
  }
  return { problems, checked };
}

/** After the restart: the live accounts answer as acknowledged over HTTP; a few sign in in full. */
async function checkOverHTTP(cycle: number): Promise<string[]> {
  const s = server;
  const a = agent;
  if (!s || !a) throw new Error('no server');
  const problems: string[] = [];
  const live = accounts.filter((x) => !x.retired && x.cookies !== undefined);
  for (const account of live) {
    const c = attackClient(s, a, { ip: account.ip });
    for (const [k, v] of account.cookies ?? []) c.cookies.set(k, v);
    const me = await c.request('GET', '/api/me');
    if (me.status !== 200) {
      problems.push(`${account.username}: /api/me ${me.status}`);
      continue;
    }
    const body = me.json<{ factors: Array<{ id: string }>; recovery_codes_left: number }>();
    const ids = new Set(body.factors.map((f) => f.id));
    for (const [id, f] of account.factors) if (f.confirmed && !ids.has(id)) problems.push(`${account.username}: /api/me lacks authenticator ${id}`);
    if (account.recoveryCodes !== undefined && body.recovery_codes_left !== account.recoveryCodes.length) {
      problems.push(`${account.username}: /api/me says ${body.recovery_codes_left} recovery codes, ${account.recoveryCodes.length} acknowledged`);
    }
  }
  // A full sign-in for a few: the password, then a code of the acknowledged batch.
  for (const account of live.filter((_, i) => i % 5 === cycle % 5).slice(0, 4)) {
    const code = account.recoveryCodes?.[0];
    if (code === undefined) continue;
    const c = attackClient(s, a, { ip: account.ip });
    const started = await c.request('POST', '/api/login', { username: account.username, password: account.password });
    const verified = started.status === 200 ? await c.request('POST', '/api/login/verify', { method: 'recovery', code }) : started;
    if (verified.status !== 200) problems.push(`${account.username}: sign-in after the restart: ${verified.status} ${verified.body.slice(0, 120)}`);
    else account.recoveryCodes = account.recoveryCodes?.slice(1);
  }
  return problems;
}

void describe(`SIGKILL during a mixed load, ${CYCLES} times on one data directory`, () => {
  void it('keeps every acknowledged write and an intact database', async () => {
    await restart();
    const summary: string[] = [];
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const target = 20 + randomInt(21);
      const load = loadUntilKill(target);
      await load.run();
      const db = await checkDatabase();
      assert.deepEqual(db.problems, [], `cycle ${cycle}: after the kill`);
      await restart();
      const httpProblems = await checkOverHTTP(cycle);
      assert.deepEqual(httpProblems, [], `cycle ${cycle}: after the restart`);
      summary.push(`${target} (${Object.entries(load.counts()).map(([k, n]) => `${k} ${n}`).join(', ')}; ${db.checked} accounts checked)`);
    }
    const live = accounts.filter((x) => !x.retired).length;
    console.log(`# crash: ${CYCLES} kills, after acknowledged writes: ${summary.join('; ')}; ${accounts.length} accounts, ${live} still in use`);
  });
});
