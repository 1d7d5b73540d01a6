/**
 * The pages in a real browser (Debian's Chromium, headless) against the real server over
 * HTTPS, codes read from received mail: the journeys a person takes, with a pointer,
 * without JavaScript and with the keyboard only; axe-core and screenshots on every page.
 * One browser, one journey at a time.
 */
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { SCHEMES, SCREENSHOT_DIR, SIZES, inspected } from './checks.ts';
import type { PageElement } from './dom.ts';
import { Driver } from './driver.ts';
import type { Enrolled } from './flows.ts';
import {
  addAuthenticator, alertText, assertAt, button, enterCode, enterPassword, factorEntry, field, link, logOut, person, saveRecoveryCodes, signInWithAuthenticator,
  signUp, signUpAndEnroll, statusText,
} from './flows.ts';
import type { Site } from './harness.ts';
import { chromiumMissing, launchBrowser, openContext, startSite, waitUntil } from './harness.ts';
import { mailMark, nextSignInCode } from './mail.ts';

const missing = chromiumMissing();
if (missing !== undefined && process.env.CI === 'true') {
  test('the browser suite has Chromium', () => assert.fail(`${missing}: CI must run the browser suite`));
}

/** A code that is not the current one (nor, but for a one-in-a-million chance, any other). */
const WRONG_CODE = '000000';

describe('pages in Chromium', { skip: missing }, () => {
  let browser: Browser | undefined;
  let site: Site | undefined;
  const open = () => {
    assert.ok(browser && site, 'the browser and the server started');
    return { browser, site };
  };

  before(async () => {
    browser = await launchBrowser();
    site = await startSite();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
  });

  describe('one person with a pointer', () => {
    const ada = person('ada');
    let context: BrowserContext | undefined;
    let d: Driver;
    let enrolled: Enrolled | undefined;

    before(async () => {
      context = await openContext(open().browser, open().site);
      d = new Driver(await context.newPage(), 'pointer', { inspect: true });
    });
    after(() => context?.close());

    test('a form POST carries the page\'s own Origin (under Referrer-Policy: no-referrer it was "null", and refused)', async () => {
      const { page } = d;
      assert.equal(await d.goto('/login'), 200);
      await d.check('login');
      await d.fill(field(page, 'Username'), 'nobody');
      await d.fill(field(page, 'Password'), 'not-a-password');
      const posted = page.waitForRequest((request) => request.method() === 'POST');
      assert.equal(await d.activate(button(page, 'Continue')), 401);
      assert.equal(await (await posted).headerValue('origin'), open().site.origin);
      assert.equal(await alertText(page), 'Invalid username or password');
      await d.check('login-error');
    });

    test('1. signs up, signs in with the mailed code, adds an authenticator from the QR code, downloads the recovery codes', async () => {
      const { page } = d;
      // A refused sign-up first: the reason is announced, the field marked, what was typed kept.
      assert.equal(await d.goto('/signup'), 200);
      await d.check('signup');
      await d.fill(field(page, 'Username'), ada.username);
      await d.fill(field(page, 'Password'), 'password123');
      await d.fill(field(page, 'Email (optional)'), ada.email);
      assert.equal(await d.activate(button(page, 'Create account')), 400);
      assert.match(await alertText(page), /\S/);
      assert.equal(await field(page, 'Password').getAttribute('aria-invalid'), 'true');
      assert.equal(await field(page, 'Username').inputValue(), ada.username);
      await d.check('signup-error');

      enrolled = await signUpAndEnroll(d, open().site, ada);
      assert.match(await page.locator('#recovery').innerText(), /You have 10 recovery codes left\./);
    });

    test('2. logs out and signs in with the authenticator; the account page shows its last use', async () => {
      assert.ok(enrolled, 'journey 1 ran');
      await signInWithAuthenticator(d, ada, enrolled);
      // Logging out from the confirmation page that GET /logout shows.
      assert.equal(await d.goto('/logout'), 200);
      await assertAt(d, '/logout', 'Log out?');
      await d.check('logout-confirm');
      assert.equal(await d.activate(d.page.getByRole('main').getByRole('button', { name: 'Log out' })), 200);
      await assertAt(d, '/login', 'Sign in');
    });

    test('3. signs in with a recovery code: one fewer left, and that code is refused next time', async () => {
      assert.ok(enrolled, 'journey 1 ran');
      const { page } = d;
      const [first, second] = enrolled.recoveryCodes;
      assert.ok(first !== undefined && second !== undefined);
      assert.equal(await enterPassword(d, ada), 200);
      assert.equal(await d.activate(link(page, 'Use a recovery code')), 200);
      await assertAt(d, '/login/otp', 'Use a recovery code');
      await d.check('login-otp-recovery');
      assert.equal(await enterCode(d, 'Recovery code', first), 200);
      await assertAt(d, '/', 'Account security');
      assert.match(await statusText(page), /You signed in with a recovery code; it no longer works/);
      assert.match(await page.locator('#recovery').innerText(), /You have 9 recovery codes left\./);
      await d.check('account-recovery-used');

      await logOut(d);
      assert.equal(await enterPassword(d, ada), 200);
      assert.equal(await d.activate(link(page, 'Use a recovery code')), 200);
      assert.equal(await enterCode(d, 'Recovery code', first), 401);
      assert.equal(await alertText(page), 'Invalid one-time password');
      assert.equal(await field(page, 'Recovery code').getAttribute('aria-invalid'), 'true');
      await d.check('login-otp-error');
      assert.equal(await enterCode(d, 'Recovery code', second), 200);
      assert.match(await page.locator('#recovery').innerText(), /You have 8 recovery codes left\./);
    });

    test('5. removes an authenticator after re-authenticating, and signs out another session', async () => {
      const { page } = d;
      // A second authenticator, the first code refused.
      assert.equal(await d.activate(link(page, 'Add an authenticator app')), 200);
      await addAuthenticator(d, ada, 'Backup', 'totp-qr-second', { code: WRONG_CODE, pageName: 'totp-retry' });
      await assertAt(d, '/', 'Account security');
      assert.equal(await statusText(page), 'Your authenticator app is set up.');

      // Removing it asks for the password (or a code) first.
      const backup = factorEntry(page, 'Authenticator app: Backup');
      await d.toggle(backup.locator('summary'));
      assert.equal(await d.activate(backup.getByRole('button', { name: 'Remove authenticator' })), 400);
      assert.equal(await backup.getByRole('alert').innerText(), 'Enter your password or a code from your authenticator app');
      await d.check('account-reauth-asked');
      await d.fill(backup.getByLabel('Your password'), 'not-my-password');
      assert.equal(await d.activate(backup.getByRole('button', { name: 'Remove authenticator' })), 401);
      assert.equal(await backup.getByRole('alert').innerText(), 'Your password or code was not accepted');
      await d.fill(backup.getByLabel('Your password'), ada.password);
      assert.equal(await d.activate(backup.getByRole('button', { name: 'Remove authenticator' })), 200);
      assert.equal(await statusText(page), 'The authenticator was removed.');
      assert.equal(await backup.count(), 0);
      assert.equal(await factorEntry(page, 'Authenticator app: Pixel').count(), 1);

      // The same person signs in from a second browser, with a code by email.
      const { browser: b, site: s } = open();
      const other = await openContext(b, s);
      try {
        const od = new Driver(await other.newPage(), 'pointer');
        assert.equal(await enterPassword(od, ada), 200);
        const mark = mailMark(s.sink);
        assert.equal(await od.activate(button(od.page, 'Send a code by email instead')), 200);
        await assertAt(od, '/login/otp', 'Check your email');
        assert.equal(await enterCode(od, '6-digit code', await nextSignInCode(s.sink, ada.email, mark)), 200);
        await assertAt(od, '/', 'Account security');

        // The first browser lists both sessions and signs the other one out.
        assert.equal(await d.goto('/'), 200);
        const rows = page.locator('#sessions tbody tr');
        assert.equal(await rows.count(), 2);
        assert.equal(await rows.filter({ hasText: 'This device' }).count(), 1);
        await d.check('account-two-sessions');
        const otherRow = rows.filter({ hasNotText: 'This device' });
        assert.equal(await d.activate(otherRow.getByRole('button', { name: 'Sign out' })), 200);
        assert.equal(await statusText(page), 'That session was signed out.');
        assert.equal(await rows.count(), 1);

        // The other browser is signed out.
        assert.equal(await od.goto('/'), 200);
        await assertAt(od, '/login', 'Sign in');
      } finally {
        await other.close();
      }
    });

    test('5b. verifies a phone number with the code sent by SMS', async () => {
      const { page } = d;
      const { server } = open().site;
      const phone = page.locator('#phone');
      await d.toggle(phone.locator('summary'));
      await d.fill(phone.getByLabel('Mobile number'), '+14155550123');
      const from = server.output().length;
      assert.equal(await d.activate(phone.getByRole('button', { name: 'Send verification code' })), 200);
      await assertAt(d, '/settings/phone/confirm', 'Verify your phone number');
      assert.equal(await statusText(page), 'We sent a code by SMS.');
      await d.check('phone-confirm');
      // No SMS provider configured: the development sender prints the text in the server's terminal.
      const [, code = ''] = await server.waitForOutput(/SMS to \+14155550123\n\s+\| (\d{6}) is your otpgate code/, from);
      await d.fill(field(page, '6-digit code'), WRONG_CODE);
      assert.equal(await d.activate(button(page, 'Verify number')), 401);
      assert.equal(await alertText(page), 'Invalid one-time password');
      await d.check('phone-confirm-error');
      await d.fill(field(page, '6-digit code'), code);
      assert.equal(await d.activate(button(page, 'Verify number')), 200);
      await assertAt(d, '/', 'Account security');
      assert.match(await statusText(page), /Your phone number is verified/);
      assert.match(await phone.innerText(), /Codes by SMS go to \+14155550123/);
    });

    test('error pages: not found, an expired form, a form sent in a way the server refuses', async () => {
      const { page } = d;
      assert.equal(await d.goto('/no-such-page'), 404);
      await assertAt(d, '/no-such-page', 'Page not found');
      await d.check('not-found');

      assert.equal(await d.goto('/'), 200);
      await logOut(d);
      await page.locator('form[action="/login"] input[name=_csrf]').evaluate((input: PageElement) => {
        input.value = 'forged';
      });
      await d.fill(field(page, 'Username'), ada.username);
      await d.fill(field(page, 'Password'), ada.password);
      assert.equal(await d.activate(button(page, 'Continue')), 403);
      assert.equal(await alertText(page), 'This form has expired — go back and try again');
      await d.check('form-expired');
      assert.equal(await d.activate(link(page, 'Go back')), 200);
      await assertAt(d, '/login', 'Sign in');

      await page.locator('form[action="/login"]').evaluate((form: PageElement) => form.setAttribute('enctype', 'multipart/form-data'));
      await d.fill(field(page, 'Username'), ada.username);
      await d.fill(field(page, 'Password'), ada.password);
      assert.equal(await d.activate(button(page, 'Continue')), 415);
      assert.equal(await d.page.getByRole('heading', { level: 1 }).innerText(), 'Request refused');
      await d.check('error-415');
    });
  });

  describe('4. the code page says which rule stopped a code', () => {
    const grace = person('grace');
    let errorSite: Site | undefined;
    let context: BrowserContext | undefined;

    before(async () => {
      // Email codes live 3 s; after 5 wrong codes the account waits 60 s (so the refusal is certain).
      errorSite = await startSite({ OTPGATE_CODE_TTL: '3', OTPGATE_BACKOFF: '60' });
      context = await openContext(open().browser, errorSite);
    });
    after(async () => {
      await context?.close();
      await errorSite?.close();
    });

    test('4. a wrong code, a code from a clock 4 minutes slow, an expired code, then too many attempts', async () => {
      assert.ok(context && errorSite);
      const page = await context.newPage();
      const setup = new Driver(page, 'pointer');
      const d = new Driver(page, 'pointer', { inspect: true });
      await signUp(setup, errorSite, grace);
      const authenticator = await addAuthenticator(setup, grace, 'Pixel', 'totp-qr-grace');
      await saveRecoveryCodes(setup, grace);
      await logOut(setup);
      assert.equal(await enterPassword(setup, grace), 200);
      await assertAt(d, '/login/otp', 'Enter your authenticator code');

      // Attempt 1: a wrong code.
      assert.equal(await enterCode(d, '6-digit code', WRONG_CODE), 401);
      assert.equal(await alertText(page), 'Invalid one-time password');
      assert.equal(await field(page, '6-digit code').getAttribute('aria-invalid'), 'true');
      await d.check('login-otp-invalid');

      // Attempt 2: the right code for a clock 4 minutes behind (8 steps; 9 if a step turns meanwhile).
      assert.equal(await enterCode(d, '6-digit code', authenticator.codeAt(Date.now() - 240_000)), 401);
      assert.match(await alertText(page), /^Invalid one-time password\nYour authenticator's clock seems about [45] minutes behind — check the time settings on your device$/);
      await d.check('login-otp-drift');

      // Attempt 3: the mailed code, after it expired. A second tab watches the page until the
      // code is no longer live (it then offers to send one), then the first tab sends it.
      const mark = mailMark(errorSite.sink);
      assert.equal(await d.activate(button(page, 'Send a code by email instead')), 200);
      await assertAt(d, '/login/otp', 'Check your email');
      await d.fill(field(page, '6-digit code'), await nextSignInCode(errorSite.sink, grace.email, mark));
      const watcher = await context.newPage();
      await waitUntil(async () => {
        await watcher.goto('/login/otp?method=email');
        return (await button(watcher, 'Send code by email').count()) === 1;
      }, 'the mailed code has expired');
      await watcher.close();
      assert.equal(await d.activate(button(page, 'Verify')), 410);
      assert.equal(await alertText(page), 'One-time password has expired\nSend a new code, or choose another way to sign in.');
      await d.check('login-otp-expired');

      // Attempts 4 and 5: wrong codes; the fifth closes this sign-in.
      assert.equal(await d.activate(link(page, 'Use your authenticator app')), 200);
      assert.equal(await enterCode(d, '6-digit code', WRONG_CODE), 401);
      assert.equal(await enterCode(d, '6-digit code', WRONG_CODE), 200);
      await assertAt(d, '/login', 'Sign in');
      assert.equal(await alertText(page), 'Too many wrong codes for this sign-in — enter your password again.');
      await d.check('login-attempts-exhausted');

      // The account now waits before the next code is even looked at.
      assert.equal(await enterPassword(setup, grace), 200);
      assert.equal(await enterCode(d, '6-digit code', WRONG_CODE), 429);
      const [, seconds] = /^Too many attempts — try again in (\d+) seconds$/.exec(await alertText(page)) ?? [];
      assert.ok(seconds !== undefined && Number(seconds) >= 1 && Number(seconds) <= 60, `the wait is shown: ${await alertText(page)}`);
      await d.check('login-otp-too-many');
    });
  });

  describe('6. journeys 1 and 2 again', () => {
    test('6a. with JavaScript disabled', async () => {
      const { browser: b, site: s } = open();
      const context = await openContext(b, s, { javaScript: false });
      try {
        const d = new Driver(await context.newPage(), 'pointer');
        const lin = person('lin');
        await signInWithAuthenticator(d, lin, await signUpAndEnroll(d, s, lin));
      } finally {
        await context.close();
      }
    });

    test('6b. with the keyboard only (Tab and Enter; the focus visible on every control)', async () => {
      const { browser: b, site: s } = open();
      const context = await openContext(b, s);
      try {
        const d = new Driver(await context.newPage(), 'keyboard');
        const kim = person('kim');
        await signInWithAuthenticator(d, kim, await signUpAndEnroll(d, s, kim));
      } finally {
        await context.close();
      }
    });
  });

  test('screenshots exist for every page inspected, at both sizes, light and dark', async () => {
    const pages = [
      'login', 'login-error', 'signup', 'signup-error', 'email-verify', 'login-logged-out', 'login-otp-email', 'account-email-only', 'totp-start', 'totp-qr',
      'recovery-codes', 'login-otp-totp', 'account', 'logout-confirm', 'login-otp-recovery', 'account-recovery-used', 'login-otp-error',
      'totp-qr-second', 'totp-retry', 'account-reauth-asked', 'account-two-sessions', 'phone-confirm', 'phone-confirm-error', 'not-found',
      'form-expired', 'error-415', 'login-otp-invalid', 'login-otp-drift', 'login-otp-expired', 'login-attempts-exhausted', 'login-otp-too-many',
    ];
    assert.deepEqual([...inspected].sort(), [...pages].sort());
    for (const name of pages) {
      for (const { width, height } of SIZES) {
        for (const scheme of SCHEMES) await access(join(SCREENSHOT_DIR, `${name}-${width}x${height}-${scheme}.png`));
      }
    }
  });
});
