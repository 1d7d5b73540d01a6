/** Steps of the journeys, shared by the pointer, keyboard-only and no-JavaScript runs. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Locator, Page } from 'playwright-core';
import { encodeBase32 } from '../../src/otp/index.ts';
import { Authenticator } from './authenticator.ts';
import type { Driver } from './driver.ts';
import type { Site } from './harness.ts';
import { mailMark, nextSignInCode, nextVerificationCode } from './mail.ts';

export interface Person {
  username: string;
  password: string;
  email: string;
}

export function person(username: string): Person {
  return { username, password: `${username}-juniper-ferry-204`, email: `${username}@example.test` };
}

export interface Enrolled {
  authenticator: Authenticator;
  recoveryCodes: string[];
}

export const heading = (page: Page): Locator => page.getByRole('heading', { level: 1 });
/** The text of every live region of a role, one line per paragraph. */
const liveText = async (page: Page, role: 'alert' | 'status'): Promise<string> =>
  (await page.getByRole(role).allInnerTexts()).join('\n').replace(/\n{2,}/g, '\n').trim();
export const alertText = (page: Page): Promise<string> => liveText(page, 'alert');
export const statusText = (page: Page): Promise<string> => liveText(page, 'status');
export const button = (page: Page, name: string): Locator => page.getByRole('button', { name, exact: true });
export const link = (page: Page, name: string): Locator => page.getByRole('link', { name, exact: true });
export const field = (page: Page, label: string): Locator => page.getByLabel(label, { exact: true });

export async function assertAt(d: Driver, path: string, title: string): Promise<void> {
  assert.equal(new URL(d.page.url()).pathname, path, `expected ${path}, at ${d.path}`);
  assert.equal(await heading(d.page).innerText(), title);
}

/**
 * Sign-up with an email: "Check your email", the mailed code (the address then counts and
 * the sign-in is complete), then the authenticator set-up.
 */
export async function signUp(d: Driver, site: Site, who: Person): Promise<void> {
  const { page } = d;
  assert.equal(await d.goto('/signup'), 200);
  await d.fill(field(page, 'Username'), who.username);
  await d.fill(field(page, 'Password'), who.password);
  await d.fill(field(page, 'Email (optional)'), who.email);
  const mark = mailMark(site.sink);
  assert.equal(await d.activate(button(page, 'Create account')), 200);
  await assertAt(d, '/settings/email', 'Check your email');
  await d.check('email-verify');
  await d.fill(field(page, '6-digit code'), await nextVerificationCode(site.sink, who.email, mark));
  assert.equal(await d.activate(button(page, 'Verify email')), 200);
  await assertAt(d, '/', 'Account security');
  assert.equal(await d.goto('/settings/totp'), 200);
  await assertAt(d, '/settings/totp', 'Set up an authenticator app');
}

/** The header's Log out button: back on the sign-in page, told so politely. */
export async function logOut(d: Driver): Promise<void> {
  const { page } = d;
  assert.equal(await d.activate(page.getByRole('banner').getByRole('button', { name: 'Log out' })), 200);
  await assertAt(d, '/login', 'Sign in');
  assert.equal(await statusText(page), 'You have logged out.');
}

/** Step one, the password; the code page it leads to. */
export async function enterPassword(d: Driver, who: Person): Promise<number> {
  const { page } = d;
  assert.equal(await d.goto('/login'), 200);
  await d.fill(field(page, 'Username'), who.username);
  await d.fill(field(page, 'Password'), who.password);
  return d.activate(button(page, 'Continue'));
}

/** Step two: a code into the code field, and Verify; the status of the page it leads to. */
export async function enterCode(d: Driver, label: string, code: string): Promise<number> {
  await d.fill(field(d.page, label), code);
  return d.activate(button(d.page, 'Verify'));
}

/**
 * From the authenticator start page: name it, scan the QR code from the screen (the key
 * shown for manual entry must be the same), and confirm with the code the app shows.
 * Leaves the browser on the page that follows the confirmation.
 */
export async function addAuthenticator(d: Driver, who: Person, label: string, pageName: string, wrongFirst?: { code: string; pageName: string }): Promise<Authenticator> {
  const { page } = d;
  await d.fill(field(page, 'Name for this authenticator (optional)'), label);
  assert.equal(await d.activate(button(page, 'Continue')), 200);
  await assertAt(d, '/settings/totp/setup', 'Scan the QR code');
  const authenticator = await Authenticator.scan(page.getByRole('img', { name: `QR code to add ${who.username} to an authenticator app` }));
  assert.equal(authenticator.uri.type, 'totp');
  assert.equal(authenticator.uri.issuer, 'otpgate');
  assert.match(authenticator.uri.accountName, new RegExp(who.username));
  const shownKey = (await page.locator('#totp-key').innerText()).replace(/\s+/g, '');
  assert.equal(shownKey, encodeBase32(authenticator.uri.secret).replace(/=+$/, ''), 'the key in groups of four is the QR code\'s');
  await d.check(pageName);
  if (wrongFirst !== undefined) {
    // A refused code: the key is not shown again, only the code form, with the error announced.
    await d.fill(field(page, 'The 6-digit code the app shows'), wrongFirst.code);
    assert.equal(await d.activate(button(page, 'Confirm')), 401);
    await assertAt(d, '/settings/totp/confirm', 'Confirm your authenticator');
    assert.equal(await alertText(page), 'Invalid one-time password');
    assert.equal(await page.locator('#totp-key').count(), 0);
    await d.check(wrongFirst.pageName);
  }
  await d.fill(field(page, 'The 6-digit code the app shows'), await authenticator.nextCode());
  assert.equal(await d.activate(button(page, 'Confirm')), 200);
  return authenticator;
}

/** The recovery codes page: the codes on screen, and the same codes in the downloaded .txt. */
export async function saveRecoveryCodes(d: Driver, who: Person): Promise<string[]> {
  const { page } = d;
  await assertAt(d, '/settings/recovery-codes', 'Save your recovery codes');
  const codes = (await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allInnerTexts()).map((c) => c.trim());
  assert.equal(codes.length, 10);
  assert.equal(new Set(codes).size, 10);
  const download = await d.download(link(page, 'Download as .txt'));
  assert.equal(download.suggestedFilename(), 'otpgate-recovery-codes.txt');
  const lines = (await readFile(await download.path(), 'utf8')).split('\n');
  assert.equal(lines[0], `otpgate recovery codes for ${who.username}`);
  assert.deepEqual(lines.filter((line) => codes.includes(line)), codes, 'the file holds the codes on the page, in order');
  assert.equal(await d.activate(link(page, "I've saved my codes — continue")), 200);
  await assertAt(d, '/', 'Account security');
  return codes;
}

/**
 * Journey 1: sign up with an email → the first sign-in with the code from the mail →
 * an authenticator from the QR code on the screen → the recovery codes, downloaded.
 */
export async function signUpAndEnroll(d: Driver, site: Site, who: Person): Promise<Enrolled> {
  const { page } = d;
  await signUp(d, site, who);
  await logOut(d);
  await d.check('login-logged-out');

  const mark = mailMark(site.sink);
  assert.equal(await enterPassword(d, who), 200);
  await assertAt(d, '/login/otp', 'Check your email');
  await d.check('login-otp-email');
  assert.equal(await enterCode(d, '6-digit code', await nextSignInCode(site.sink, who.email, mark)), 200);
  await assertAt(d, '/', 'Account security');
  await d.check('account-email-only');

  assert.equal(await d.activate(link(page, 'Add an authenticator app')), 200);
  await assertAt(d, '/settings/totp', 'Set up an authenticator app');
  await d.check('totp-start');
  const authenticator = await addAuthenticator(d, who, 'Pixel', 'totp-qr');
  assert.equal(await statusText(page), 'Your authenticator app is set up.');
  await d.check('recovery-codes');
  const recoveryCodes = await saveRecoveryCodes(d, who);
  return { authenticator, recoveryCodes };
}

/** The account page's entry for a factor. */
export function factorEntry(page: Page, title: string): Locator {
  return page.locator('#factors .list > li').filter({ has: page.locator('.title', { hasText: title }) });
}

/** Journey 2: log out, sign in with the authenticator; the account page shows when it was last used. */
export async function signInWithAuthenticator(d: Driver, who: Person, enrolled: Enrolled): Promise<void> {
  const { page } = d;
  const started = Date.now();
  await logOut(d);
  assert.equal(await enterPassword(d, who), 200);
  await assertAt(d, '/login/otp', 'Enter your authenticator code');
  await d.check('login-otp-totp');
  assert.equal(await enterCode(d, '6-digit code', await enrolled.authenticator.nextCode()), 200);
  await assertAt(d, '/', 'Account security');
  const entry = factorEntry(page, 'Authenticator app: Pixel');
  assert.match(await entry.innerText(), /Last used \d/);
  const lastUsed = await entry.locator('time').last().getAttribute('datetime');
  assert.ok(lastUsed !== null && Date.parse(lastUsed) >= Math.floor(started / 1000) * 1000, `last use ${lastUsed} is this sign-in`);
  await d.check('account');
}
