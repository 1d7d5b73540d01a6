/**
 * Finding 13 (SECURITY.md item 33): password guessing never locked; the delay capped at
 * 5 min, about 288 tries a day forever. Now, after 100 consecutive failures on a username
 * from browsers that never signed in to it, such browsers are refused until a sign-in
 * from a known browser, the emailed unlock link, or `otpgate user unlock`. Known browsers
 * are never refused.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pages } from '../http/pages-browser.ts';
import { ORIGIN, formsOf, startPages } from '../http/pages-browser.ts';
import { client } from '../support/engine.ts';
import { signIn, totpAccount } from '../support/totp-account.ts';

const PASSWORD = 'juniper-falcon-38';
const stranger = { ip: '203.0.113.66', userAgent: 'guesser' };
const EMAIL = 'tom@example.test';

let open: Pages[] = [];
afterEach(async () => {
  await Promise.all(open.map((t) => t.close()));
  open = [];
});

async function setup() {
  const t = await startPages({ engine: { publicURL: new URL(ORIGIN) } });
  open.push(t);
  const e = t.engine;
  const { user, secret } = await totpAccount(e, 'tom', PASSWORD);
  await e.store.updateUser(user.id, { email: EMAIL, emailVerifiedAt: e.now() });
  const known = await signIn(e, 'tom', PASSWORD, secret);
  return { t, e, user, secret, device: known.deviceToken };
}

/** `n` wrong passwords from strangers, each after the username's delay has run out. */
async function strangersFail(e: Pages['engine'], username: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    e.advance(5 * 60_000 + 1000);
    const r = await e.auth.startLogin(username, `wrong-guess-${i}-pw`, stranger);
    assert.equal(r.status, 'invalid_credentials', `failure ${i + 1}: ${JSON.stringify(r)}`);
  }
  e.advance(5 * 60_000 + 1000);
}

const unlockMails = (e: Pages['engine']) => e.outbox.messages.filter((m) => m.to === EMAIL && /unlock/i.test(m.text));

function unlockLink(e: Pages['engine']): string {
  const [mail] = unlockMails(e);
  const link = mail?.text.match(/https:\/\/\S+\/unlock\S*/)?.[0];
  return link ?? assert.fail('no unlock link was mailed');
}

describe('finding 13: the password lock for strangers', () => {
  it('SECURITY.md item 33: the 101st attempt from a stranger is refused even with the right password, and the real user can recover', async () => {
    const { e, device } = await setup();
    await strangersFail(e, 'tom', 100);
    assert.equal((await e.auth.startLogin('tom', PASSWORD, stranger)).status, 'rate_limited', 'the 101st attempt is refused');
    e.advance(24 * 3600_000 + 1);
    assert.equal((await e.auth.startLogin('tom', PASSWORD, stranger)).status, 'rate_limited', 'a quiet day does not lift the lock');
    assert.equal((await e.auth.startLogin('tom', PASSWORD, client, device)).status, 'otp_required', 'the owner\'s browser is never refused');
  });

  it('finding 13: a full sign-in from a known browser lifts the lock', async () => {
    const { e, secret, device } = await setup();
    await strangersFail(e, 'tom', 100);
    await signIn(e, 'tom', PASSWORD, secret, client, device);
    assert.equal((await e.auth.startLogin('tom', PASSWORD, stranger)).status, 'otp_required');
  });

  it('finding 13: `otpgate user unlock` lifts the lock', async () => {
    const { e, user } = await setup();
    await strangersFail(e, 'tom', 100);
    await e.auth.unlockAccount(user);
    assert.equal((await e.auth.startLogin('tom', PASSWORD, stranger)).status, 'otp_required');
  });

  it('finding 13: one unlock link is mailed when the lock engages; GET shows a form, the POST unlocks, the link works once', async () => {
    const { t, e } = await setup();
    await strangersFail(e, 'tom', 100);
    await e.auth.startLogin('tom', 'wrong-again-pw-1', stranger);
    await e.auth.startLogin('tom', PASSWORD, stranger);
    await e.auth.flushNotifications();
    assert.equal(unlockMails(e).length, 1, 'one mail per lock');
    const link = unlockLink(e);
    assert.ok(link.startsWith(`${ORIGIN}/unlock`), link);
    const path = link.slice(ORIGIN.length);

    const b = t.browser();
    const page = await b.get(path);
    assert.equal(page.status, 200);
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.equal((await e.auth.startLogin('tom', PASSWORD, stranger)).status, 'rate_limited', 'a GET alone unlocks nothing');
    const form = formsOf(page.body).find((f) => f.action === '/unlock') ?? assert.fail('no confirm form');
    const done = await b.post('/unlock', form.fields);
    assert.equal(done.status, 200, done.body);
    assert.equal((await e.auth.startLogin('tom', PASSWORD, stranger)).status, 'otp_required');

    const again = await b.post('/unlock', form.fields);
    assert.equal(again.status, 410, 'the link works once');
  });

  it('finding 13: an unknown username answers the same as a locked one (I11)', async () => {
    const { e } = await setup();
    await strangersFail(e, 'tom', 100);
    await strangersFail(e, 'nobody', 100);
    assert.deepEqual(await e.auth.startLogin('nobody', PASSWORD, stranger), await e.auth.startLogin('tom', PASSWORD, stranger));
  });
});
