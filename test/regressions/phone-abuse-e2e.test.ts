/**
 * Issue 12, findings 2 and 3 end to end: real `npm start` servers, two of them on one
 * database for the fleet-wide SMS cap, attacked over HTTPS as a client would.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Agent } from 'node:https';
import { attackClient, enrollAuthenticator, keepAliveAgent } from '../support/attack.ts';
import type { AttackClient, RawResponse } from '../support/attack.ts';
import { startServer } from '../support/server.ts';
import type { RunningServer } from '../support/server.ts';

const PASSWORD = 'juniper-lantern-73';
const FLEET = { OTPGATE_SMS_HOURLY_CAP: '2', OTPGATE_SMS_COUNTRIES: '1,44' };

function assertError(response: RawResponse, status: number, code: string): void {
  assert.equal(response.status, status, response.body);
  assert.equal(response.json().error, code, response.body);
}

async function signup(server: RunningServer, agent: Agent, username: string): Promise<AttackClient> {
  const c = attackClient(server, agent);
  const created = await c.request('POST', '/api/signup', { username, password: PASSWORD });
  assert.equal(created.status, 201, created.body);
  return c;
}

const smsTo = (server: RunningServer, phone: string) => server.output().includes(`[console sender] SMS to ${phone}`);

describe('findings 2 and 3 against npm start', () => {
  let dataDir = '';
  let a: RunningServer | undefined;
  let b: RunningServer | undefined;
  let noSMS: RunningServer | undefined;
  const agents: Agent[] = [];
  const agentFor = (server: RunningServer) => {
    const agent = keepAliveAgent(server, 2);
    agents.push(agent);
    return agent;
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'otpgate-fleet-'));
    // Both start together; if one fails, the other is still stopped in after().
    const [first, other] = await Promise.allSettled([startServer(FLEET, { dataDir }), startServer({ OTPGATE_FACTORS: 'totp,email,recovery' })]);
    if (first.status === 'fulfilled') a = first.value;
    if (other.status === 'fulfilled') noSMS = other.value;
    if (first.status === 'rejected') throw first.reason;
    if (other.status === 'rejected') throw other.reason;
    // The second instance shares the first one's database, key and certificate.
    b = await startServer(FLEET, { dataDir });
  });
  after(async () => {
    for (const agent of agents) agent.destroy();
    await Promise.all([a?.stop(), b?.stop(), noSMS?.stop()]);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('finding 3: a password-only session gets 401 from POST /api/phone and /api/phone/verify, and no SMS leaves', async () => {
    assert.ok(a);
    const c = await signup(a, agentFor(a), 'e2e-level-one');
    assertError(await c.request('POST', '/api/phone', { phone: '+14155550111' }), 401, 'unauthenticated');
    assertError(await c.request('POST', '/api/phone/verify', { code: '123456' }), 401, 'unauthenticated');
    assert.ok(!smsTo(a, '+14155550111'));
  });

  it('finding 3: with sms not in OTPGATE_FACTORS a full session gets 403 sms_disabled', async () => {
    assert.ok(noSMS);
    const c = await signup(noSMS, agentFor(noSMS), 'e2e-no-sms');
    await enrollAuthenticator(c);
    assertError(await c.request('POST', '/api/phone', { phone: '+14155550112' }), 403, 'sms_disabled');
    assert.ok(!smsTo(noSMS, '+14155550112'));
  });

  it('finding 2 and 3: refused ranges and countries get 400, a stale session needs the password, and the hourly cap holds across two instances', async () => {
    assert.ok(a && b);
    // Keep the whole run inside one clock hour: the cap counts per clock hour.
    const leftInHour = 3_600_000 - (Date.now() % 3_600_000);
    if (leftInHour < 120_000) await new Promise((r) => setTimeout(r, leftInHour + 1000));

    const ann = await signup(a, agentFor(a), 'e2e-ann');
    await enrollAuthenticator(ann);
    assertError(await ann.request('POST', '/api/phone', { phone: '+881612345678' }), 400, 'phone_not_allowed');
    assertError(await ann.request('POST', '/api/phone', { phone: '+4915112345678' }), 400, 'phone_not_allowed');
    assert.ok(!smsTo(a, '+881612345678') && !smsTo(a, '+4915112345678'));

    // Finding 2: the sign-in is now eleven minutes old (as the database records it).
    const db = new DatabaseSync(join(dataDir, 'otpgate.db'));
    try {
      db.exec('PRAGMA busy_timeout = 5000');
      db.prepare("UPDATE sessions SET created_at = created_at - 660000 WHERE user_id = (SELECT id FROM users WHERE username = 'e2e-ann')").run();
    } finally {
      db.close();
    }
    assertError(await ann.request('POST', '/api/phone', { phone: '+14155550121' }), 401, 'reauth_required');
    assert.ok(!smsTo(a, '+14155550121'));
    assert.equal((await ann.request('POST', '/api/phone', { phone: '+14155550121', password: PASSWORD })).status, 202); // SMS 1, instance a

    const bob = await signup(b, agentFor(b), 'e2e-bob');
    await enrollAuthenticator(bob);
    assert.equal((await bob.request('POST', '/api/phone', { phone: '+447700900122' })).status, 202); // SMS 2, instance b

    const capped = await ann.request('POST', '/api/phone', { phone: '+14155550123', password: PASSWORD });
    assertError(capped, 503, 'delivery_failed');
    assert.ok(!smsTo(a, '+14155550123'));
    await a.waitForOutput(/SMS not sent: the server-wide SMS cap of 2 an hour is reached/);
    const activity = (await ann.request('GET', '/api/activity')).json<{ events: Array<{ type: string }> }>();
    assert.ok(activity.events.some((e) => e.type === 'delivery_failed'), JSON.stringify(activity));
  });
});
