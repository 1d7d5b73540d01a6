/**
 * The forward-auth gate end to end, once per proxy (gate-nginx.test.ts, gate-caddy.test.ts):
 * Chromium opens an app behind the real proxy, signs in at otpgate and comes back; the app
 * is the echo upstream, so what it received is what the page shows. One otpgate, one proxy
 * and one browser per file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadConfig } from '../../src/config.ts';
import { openRuntime } from '../../src/runtime.ts';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';
import { CHROMIUM_PATH, chromiumMissing } from '../browser/harness.ts';
import { proxyMissing, startProtectedSite } from '../support/proxies.ts';
import type { ProtectedSite, ProxyKind } from '../support/proxies.ts';

const PASSWORD = 'lantern-harbour-73';

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
}

/** Accounts made with the engine on the server's own database: ada (authenticator, admins), lou (password only). */
async function seedAccounts(site: ProtectedSite): Promise<{ secret: Uint8Array }> {
  const runtime = await openRuntime({ config: loadConfig({ OTPGATE_DATA_DIR: site.gate.dataDir }), quiet: true });
  try {
    const { auth } = runtime;
    const client = { ip: '127.0.0.1', userAgent: 'seed' };
    const ada = await auth.createAccount({ username: 'ada', password: PASSWORD, email: null, phone: null });
    const lou = await auth.createAccount({ username: 'lou', password: PASSWORD, email: null, phone: null });
    if (ada.status !== 'ok' || lou.status !== 'ok') throw new Error('seeding failed');
    const started = await auth.startLogin('ada', PASSWORD, client);
    if (started.status !== 'enrollment_required') throw new Error(started.status);
    const begun = await auth.beginTOTPEnrollment(started.session.session);
    if (begun.status !== 'ok') throw new Error(begun.status);
    const secret = decodeBase32(begun.enrollment.secret);
    // The previous step (inside the ±1 window): the browser's sign-in can use the current one at once.
    const confirmed = await auth.confirmTOTPEnrollment(started.session.session, begun.enrollment.factorId, generateTOTP(secret, Date.now() - 30_000), client);
    if (confirmed.status !== 'ok') throw new Error(confirmed.status);
    await auth.addToGroup(ada.user.id, 'admins');
    await auth.endSession(started.session.token, client);
    return { secret };
  } finally {
    await runtime.close();
  }
}

async function echoOf(page: Page): Promise<Echo> {
  return JSON.parse((await page.locator('body').textContent()) ?? '') as Echo;
}

async function signIn(page: Page, username: string): Promise<void> {
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type="submit"]')]);
}

export function gateJourneys(kind: ProxyKind): void {
  const browserMissing = chromiumMissing();
  if (browserMissing !== undefined && process.env.CI === 'true') throw new Error(`CI: ${browserMissing}`);
  const missing = proxyMissing(kind) ?? browserMissing;
  describe(`issue 13: the gate behind ${kind}, in Chromium`, { skip: missing ?? false }, () => {
    let site: ProtectedSite;
    let browser: Browser;
    let secret: Uint8Array;
    const contexts: BrowserContext[] = [];
    const newPage = async (): Promise<Page> => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true, locale: 'en-GB', timezoneId: 'UTC' });
      contexts.push(context);
      // Nothing leaves loopback: only the example.com names, which the resolver rule maps to 127.0.0.1.
      await context.route((url) => !url.hostname.endsWith('example.com'), (route) => route.abort('blockedbyclient'));
      return context.newPage();
    };

    before(async () => {
      site = await startProtectedSite(kind);
      ({ secret } = await seedAccounts(site));
      browser = await chromium.launch({
        executablePath: CHROMIUM_PATH,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-quic', `--host-resolver-rules=${site.hostResolverRules}`],
      });
    });
    after(async () => {
      for (const context of contexts) await context.close();
      await browser?.close();
      await site?.close();
    });

    it(`issue 13 (${kind}): the app sends to sign-in with rd; password and TOTP code bring the person back, the app sees Remote-User and Remote-Groups, a deny path answers 403, and signing out at the portal blocks the app again`, async () => {
      const page = await newPage();
      const app = `${site.origin('app')}/dashboard?tab=1`;
      await page.goto(app);
      const signInURL = new URL(page.url());
      assert.equal(signInURL.origin, site.origin('auth'));
      assert.equal(signInURL.pathname, '/login');
      assert.equal(signInURL.searchParams.get('rd'), app);

      await signIn(page, 'ada');
      assert.equal(new URL(page.url()).pathname, '/login/otp');
      await page.fill('#code', generateTOTP(secret, Date.now()));
      await Promise.all([page.waitForURL(app), page.click('form[action="/login/otp"] button[type="submit"]')]);
      const echo = await echoOf(page);
      assert.equal(echo.url, '/dashboard?tab=1');
      assert.equal(echo.headers['remote-user'], 'ada');
      assert.equal(echo.headers['remote-groups'], 'admins');
      assert.equal(echo.headers['remote-name'], 'ada');

      assert.equal((await page.goto(`${site.origin('app')}/admin/panel`))?.status(), 200, 'group:admins may open /admin');
      assert.equal((await page.goto(`${site.origin('app')}/secret/plans`))?.status(), 403, 'a deny rule answers 403');

      // SECURITY.md item 57 with a live session: the client's own Remote-User is replaced.
      const cookie = (await page.context().cookies()).find((c) => c.name === '__Secure-otpgate-session');
      assert.ok(cookie, 'the session cookie covers example.com');
      assert.equal(cookie.domain, '.example.com');
      const forged = await site.fetch(`${site.origin('app')}/dashboard`, { cookie: `${cookie.name}=${cookie.value}`, 'remote-user': 'mallory', 'remote-groups': 'admins,root' });
      assert.equal(forged.status, 200);
      const seen = JSON.parse(forged.body) as Echo;
      assert.equal(seen.headers['remote-user'], 'ada');
      assert.equal(seen.headers['remote-groups'], 'admins');

      // Sign out at the portal: the next request to the app is asked to sign in again.
      await page.goto(`${site.origin('auth')}/logout`);
      await Promise.all([page.waitForNavigation(), page.click('form[action="/logout"] button[type="submit"]')]);
      await page.goto(app);
      assert.equal(new URL(page.url()).origin, site.origin('auth'), 'signed out everywhere');
      assert.equal(new URL(page.url()).pathname, '/login');
      const replay = await site.fetch(app, { cookie: `${cookie.name}=${cookie.value}`, accept: 'text/html' });
      assert.equal(replay.status, 302, 'the old cookie no longer opens the app');
    });

    it(`issue 13 (${kind}): a one_factor path opens after the password alone; a two_factor path still asks`, async () => {
      const page = await newPage();
      const light = `${site.origin('app')}/light/notes`;
      await page.goto(light);
      assert.equal(new URL(page.url()).pathname, '/login');
      await signIn(page, 'lou');
      assert.equal(page.url(), light);
      assert.equal((await echoOf(page)).headers['remote-user'], 'lou');
      await page.goto(`${site.origin('app')}/dashboard`);
      assert.equal(new URL(page.url()).origin, site.origin('auth'), 'a password-only session does not pass two_factor');
    });

    it(`issue 13 (${kind}): a bypass path never asks, and the app gets no Remote-User`, async () => {
      const page = await newPage();
      const response = await page.goto(`${site.origin('app')}/public/about`);
      assert.equal(response?.status(), 200);
      assert.equal(new URL(page.url()).origin, site.origin('app'));
      // No header, or an empty one (Caddy copies the gate's empty answer): never a name.
      assert.ok(!(await echoOf(page)).headers['remote-user']);
    });

    it(`SECURITY.md item 57 (${kind}): a forged Remote-User from the client never reaches the app`, async () => {
      const forged = await site.fetch(`${site.origin('app')}/public/x`, { 'remote-user': 'admin', 'remote-groups': 'admins', 'remote-email': 'boss@example.com', 'remote-name': 'Boss' });
      assert.equal(forged.status, 200);
      const seen = JSON.parse(forged.body) as Echo;
      for (const name of ['remote-user', 'remote-groups', 'remote-email', 'remote-name']) assert.ok(!seen.headers[name], `${name}: ${seen.headers[name]}`);
      // Not signed in on a protected path: nothing reaches the app at all.
      const blocked = await site.fetch(`${site.origin('app')}/dashboard`, { 'remote-user': 'admin', accept: 'text/html' });
      assert.equal(blocked.status, 302);
      assert.match(String(blocked.headers.location), /^https:\/\/auth\.example\.com:\d+\/login\?rd=/);
    });
  });
}
