/**
 * Account enumeration at the password step (I11; SECURITY.md item 32): a wrong password
 * for an existing account and any password for an unknown name get the same status,
 * headers and body, and take the same time — the unknown name is verified against a
 * dummy argon2id hash. Tries are interleaved and sequential, each name is tried at most
 * four times (under the per-username back-off) and addresses are spread with
 * X-Forwarded-For (under the per-address bucket), so no throttle answers instead.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { Agent } from 'node:https';
import type { RunningServer } from '../support/server.ts';
import type { RawResponse } from '../support/attack.ts';
import { SecretLog, assertNoSecretsLogged, attackClient, csrfTokenOf, serverForFile, median, pool } from '../support/attack.ts';

const LONG = process.env.OTPGATE_LONG_TESTS === '1';
const TRIES = LONG ? 1000 : 200;
const TRIES_PER_ACCOUNT = 4; // the 5th consecutive failure would start the per-username back-off
const ACCOUNTS = TRIES / TRIES_PER_ACCOUNT;
const ADDRESSES = 100; // ≤ 2 × TRIES / ADDRESSES per address: under the bucket's burst of 30
const THRESHOLD_MS = 5;
const PASSWORD = 'enum-Canary-Pw-93be01';
const WRONG_PASSWORD = 'enum-Wrong-Pw-4c7d22';

let server: RunningServer;
let agent: Agent;
const secrets = new SecretLog();
secrets.add(PASSWORD, WRONG_PASSWORD);

serverForFile({ OTPGATE_TRUST_PROXY: '127.0.0.1', OTPGATE_LOG_LEVEL: 'trace' }, 4, (s, a) => {
  server = s;
  agent = a;
});

const addressOf = (i: number) => `203.0.113.${(i % ADDRESSES) + 1}`;

/** The parts of an answer that must not depend on whether the account exists. */
function shape(r: RawResponse): string {
  const names = Object.keys(r.headers).filter((n) => n !== 'date').sort();
  return JSON.stringify({ status: r.status, headers: names, body: r.body });
}

void describe('an unknown username and a wrong password look alike (item 32)', () => {
  void it(`answer alike and take the same time: ${TRIES} interleaved tries each`, async () => {
    const signups = await pool(Array.from({ length: ACCOUNTS + 2 }, (_, i) => async () => {
      const c = attackClient(server, agent, { ip: `192.0.2.${(i % 50) + 1}` }); // sign-ups are limited per address
      const r = await c.request('POST', '/api/signup', { username: `enum-user-${i}`, password: PASSWORD });
      secrets.addCookies(c.cookies);
      return r.status;
    }), 2);
    assert.ok(signups.every((s) => s === 201), `signups: ${signups.join(',')}`);

    const attempt = async (username: string, ip: string): Promise<{ ms: number; response: RawResponse }> => {
      const c = attackClient(server, agent, { ip });
      const started = performance.now();
      const response = await c.request('POST', '/api/login', { username, password: WRONG_PASSWORD });
      return { ms: performance.now() - started, response };
    };
    // Warm-up, unmeasured: the dummy hash, JIT, TLS sessions (accounts ACCOUNTS and ACCOUNTS + 1).
    for (let i = 0; i < 4; i++) {
      await attempt(`enum-user-${ACCOUNTS + (i % 2)}`, addressOf(i));
      await attempt(`enum-warmup-${i}`, addressOf(i));
    }

    const known: number[] = [];
    const unknown: number[] = [];
    const shapes = new Map<string, number>();
    for (let i = 0; i < TRIES; i++) {
      // Alternate which kind goes first, so neither always follows the other.
      const pair = [
        { list: known, name: `enum-user-${i % ACCOUNTS}` },
        { list: unknown, name: `enum-nobody-${i}` },
      ];
      if (i % 2 === 1) pair.reverse();
      for (const { list, name } of pair) {
        const { ms, response } = await attempt(name, addressOf(i));
        list.push(ms);
        const key = shape(response);
        shapes.set(key, (shapes.get(key) ?? 0) + 1);
      }
    }
    const [knownMedian, unknownMedian] = [median(known), median(unknown)];
    const difference = Math.abs(knownMedian - unknownMedian);
    console.log(`# enumeration: median ${knownMedian.toFixed(2)} ms (wrong password, existing account) vs ${unknownMedian.toFixed(2)} ms (unknown name); difference ${difference.toFixed(2)} ms over ${TRIES} tries each`);

    assert.equal(shapes.size, 1, `answers differ:\n${[...shapes].map(([k, n]) => `${n}× ${k}`).join('\n')}`);
    const [only] = shapes.keys();
    assert.match(only ?? '', /^\{"status":401,/);
    assert.match(only ?? '', /\\"error\\":\\"invalid_credentials\\"/);
    assert.ok(difference < THRESHOLD_MS, `medians differ by ${difference.toFixed(2)} ms (≥ ${THRESHOLD_MS} ms)`);
  });

  void it('the login page answers alike too (status and page, the echoed username aside)', async () => {
    const pages = new Set<string>();
    for (let i = 0; i < 10; i++) {
      for (const username of [`enum-user-${i}`, `enum-stranger-${i}`]) {
        const c = attackClient(server, agent, { ip: addressOf(50 + i) });
        const form = await c.request('GET', '/login');
        const r = await c.form('/login', { _csrf: csrfTokenOf(form.body), username, password: WRONG_PASSWORD });
        secrets.addCookies(c.cookies);
        pages.add(`${r.status} ${r.body.replaceAll(username, 'NAME').replace(/name="_csrf" value="[^"]+"/g, '')}`);
      }
    }
    assert.equal(pages.size, 1, [...pages].map((p) => p.slice(0, 300)).join('\n---\n'));
    assert.match([...pages][0] ?? '', /^401 [\s\S]*Invalid username or password/);
  });

  void it('logged none of the passwords or cookies it used', () => {
    assertNoSecretsLogged(server.output(), secrets);
  });
});
