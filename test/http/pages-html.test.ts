/**
 * The browser-free HTML check: every page, rendered as the kind of visitor who sees it,
 * is read with a small parser and checked for labels, autocomplete tokens, the CSRF
 * field in every POST form, no script (or anything else the CSP would block), no
 * third-party origin, `lang`, and exactly one h1.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { generateTOTP } from '../../src/otp/index.ts';
import type { Element, Pages, Response } from './pages-browser.ts';
import {
  PASSWORD, alertText, enrolledUser, formsOf, login, parseHTML, signup, signupWithVerifiedEmail, startPages, textOf,
} from './pages-browser.ts';

interface Rendered {
  name: string;
  res: Response;
  /** Signed in: the header must offer Log out. */
  authenticated: boolean;
  /** An error is shown: it must be in a role="alert" element. */
  error?: boolean;
  /** Inputs (by name) that must carry exactly this autocomplete token. */
  autocomplete?: Record<string, string>;
}

const pages: Rendered[] = [];
const apps: Pages[] = [];

before(async () => {
  const t = await startPages();
  apps.push(t);
  const anon = t.browser();
  const add = (name: string, res: Response, authenticated: boolean, extra: Partial<Rendered> = {}) => void pages.push({ name, res, authenticated, ...extra });

  add('GET /signup', await anon.get('/signup'), false, { autocomplete: { username: 'username', password: 'new-password', email: 'email', phone: 'tel' } });
  add('POST /signup (weak password)', await signup(anon, { username: 'weakling', password: 'password1234' }), false, { error: true, autocomplete: { password: 'new-password' } });
  add('GET /login', await anon.get('/login'), false, { autocomplete: { username: 'username', password: 'current-password' } });
  add('GET /login (flash)', await anon.get('/login?m=login_expired'), false, { error: true });
  add('POST /login (refused)', await login(anon, 'nobody', 'not a password'), false, { error: true, autocomplete: { username: 'username', password: 'current-password' } });
  add('404', await anon.get('/nowhere'), false);
  add('403 form expired', await anon.post('/login', { username: 'x' }), false, { error: true });

  // alice: level 1, enrollment, then level 2.
  const alice = t.browser();
  const signedUp = await signup(alice, { username: 'alice', password: PASSWORD, email: 'alice@example.com' });
  add('GET /settings/email (check your email, level 1)', await alice.follow(signedUp), true, { autocomplete: { code: 'one-time-code' } });
  add('GET /settings/totp (level 1)', await alice.get('/settings/totp'), true);
  const qr = await alice.follow(await alice.submit(await alice.get('/settings/totp'), '/settings/totp'));
  add('GET /settings/totp/setup (QR code)', qr, true, { autocomplete: { code: 'one-time-code' } });
  add('POST /settings/totp/confirm (wrong code)', await alice.submit(qr, '/settings/totp/confirm', { code: '000000' }), true, { error: true, autocomplete: { code: 'one-time-code' } });

  const bob = t.browser();
  const { key, page: codesPage } = await enrolledUser(t, bob, 'bob');
  add('recovery codes (first factor)', codesPage, true);
  const account = await bob.get('/');
  add('GET /', account, true, { autocomplete: { current_password: 'current-password', new_password: 'new-password', phone: 'tel' } });
  add('POST /settings/factors/remove (refused)', await bob.submit(account, '/settings/factors/remove', { password: 'wrong wrong' }), true, { error: true });
  add('POST /settings/password (refused)', await bob.submit(account, '/settings/password', { current_password: 'x', new_password: 'y' }), true, { error: true });
  add('GET /settings/recovery-codes', await bob.follow(await bob.submit(account, '/settings/recovery-codes', { password: PASSWORD })), true);
  add('GET /settings/totp (level 2)', await bob.get('/settings/totp'), true);
  add('GET /settings/phone/confirm', await bob.follow(await bob.submit(await bob.get('/'), '/settings/phone', { phone: '+14155550123' })), true, { autocomplete: { code: 'one-time-code' } });
  add('GET /logout', await bob.get('/logout'), true);

  // A pending login (password done): each method's page.
  const carol = t.browser();
  t.engine.advance(30_000);
  const otp = await carol.follow(await login(carol, 'bob'));
  add('GET /login/otp (authenticator)', otp, false, { autocomplete: { code: 'one-time-code' } });
  add('GET /login/otp?method=recovery', await carol.get('/login/otp?method=recovery'), false, { autocomplete: { code: 'off' } });
  add('POST /login/otp (wrong code)', await carol.submit(otp, '/login/otp', { code: '999999' }), false, { error: true, autocomplete: { code: 'one-time-code' } });
  add('POST /login/otp (drift)', await carol.submit(otp, '/login/otp', { code: generateTOTP(key, t.engine.now() - 300_000) }), false, { error: true });

  const dave = t.browser();
  await signupWithVerifiedEmail(t, dave, { username: 'dave', password: PASSWORD, email: 'dave@example.com' });
  await dave.submit(await dave.get('/logout'), '/logout');
  const email = await dave.follow(await login(dave, 'dave'));
  add('GET /login/otp (email sent)', email, false, { autocomplete: { code: 'one-time-code' } });

  const closed = await startPages({ engine: { signup: 'closed' }, env: { OTPGATE_SIGNUP: 'closed' } });
  apps.push(closed);
  add('GET /signup (closed)', await closed.browser().get('/signup'), false);
});

after(async () => {
  await Promise.all(apps.map((a) => a.close()));
});

const FIELD_TYPES_WITHOUT_LABEL = new Set(['hidden', 'submit', 'button', 'reset', 'image']);
const PASSWORD_NAMES = new Set(['password', 'current_password', 'new_password']);

function attributeURLs(elements: Element[]): string[] {
  return elements.flatMap((e) => ['href', 'src', 'action', 'formaction', 'srcset', 'poster'].map((a) => e.attrs[a]).filter((v): v is string => v !== undefined));
}

void describe('pages: browser-free HTML check', () => {
  void test('every expected page was rendered', () => {
    assert.ok(pages.length >= 24, `${pages.length} pages`);
    for (const p of pages) assert.ok([200, 400, 401, 403, 404].includes(p.res.status), `${p.name}: status ${p.res.status}`);
  });

  void test('each page is a whole document with lang, one h1, the stylesheet, and no script', () => {
    for (const { name, res } of pages) {
      const body = res.body;
      const elements = parseHTML(body);
      assert.match(body, /^<!doctype html>\n<html lang="en">/, name);
      assert.equal(elements.filter((e) => e.tag === 'h1').length, 1, `${name}: exactly one h1`);
      assert.ok(textOf(body, elements.find((e) => e.tag === 'h1')).length > 0, `${name}: the h1 has text`);
      assert.equal(elements.filter((e) => e.tag === 'script').length, 0, `${name}: no script`);
      assert.equal(elements.filter((e) => e.tag === 'title').length, 1, `${name}: a title`);
      assert.ok(elements.some((e) => e.tag === 'link' && e.attrs.rel === 'stylesheet' && e.attrs.href === '/static/style.css'), `${name}: stylesheet`);
      assert.ok(elements.some((e) => e.tag === 'main'), `${name}: main`);
      // What CSP (no 'unsafe-inline') would block, or what would run script.
      for (const e of elements) {
        assert.ok(!Object.keys(e.attrs).some((a) => /^on/.test(a)), `${name}: an event handler attribute on <${e.tag}>`);
        assert.equal(e.attrs.style, undefined, `${name}: an inline style on <${e.tag}>`);
        assert.notEqual(e.tag, 'style', `${name}: a <style> element`);
        assert.ok(!['iframe', 'object', 'embed', 'base'].includes(e.tag), `${name}: <${e.tag}>`);
      }
      assert.ok(!/javascript:/i.test(body), `${name}: javascript: URL`);
      // Block content inside a <p> is invalid: the browser closes the paragraph early and the layout breaks.
      for (const p of elements.filter((e) => e.tag === 'p')) {
        assert.ok(!/<(form|div|p|ul|ol|table|section|h[1-6])[\s>]/i.test(body.slice(p.openEnd, p.closeStart ?? p.openEnd)), `${name}: block inside <p>`);
      }
      assert.ok(elements.filter((e) => e.tag === 'p').every((p) => p.closeStart !== null), `${name}: every <p> is closed`);
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8', name);
      assert.equal(res.headers['cache-control'], 'no-store', name);
    }
  });

  void test('no third-party origin: every link, form and resource is our own', () => {
    for (const { name, res } of pages) {
      for (const url of attributeURLs(parseHTML(res.body))) {
        const ok = url.startsWith('/') && !url.startsWith('//') || url.startsWith('#') || url.startsWith('data:text/plain;') || url.startsWith('otpauth://totp/');
        assert.ok(ok, `${name}: ${url.slice(0, 40)}`);
      }
    }
  });

  void test('every visible input has a label (label for= or aria-label), and ids are unique', () => {
    for (const { name, res } of pages) {
      const elements = parseHTML(res.body);
      const ids = elements.map((e) => e.attrs.id).filter((id): id is string => id !== undefined);
      assert.equal(new Set(ids).size, ids.length, `${name}: duplicate id`);
      const labelFor = new Set(elements.filter((e) => e.tag === 'label').map((e) => e.attrs.for));
      for (const input of elements.filter((e) => ['input', 'select', 'textarea'].includes(e.tag))) {
        if (FIELD_TYPES_WITHOUT_LABEL.has(input.attrs.type ?? 'text')) continue;
        const labelled = (input.attrs.id !== undefined && labelFor.has(input.attrs.id)) || (input.attrs['aria-label'] ?? '').trim() !== '';
        assert.ok(labelled, `${name}: input ${input.attrs.name ?? '?'} has no label`);
        const label = elements.find((e) => e.tag === 'label' && e.attrs.for === input.attrs.id);
        if (label) assert.ok(textOf(res.body, label).length > 0, `${name}: empty label`);
        const described = input.attrs['aria-describedby'];
        if (described !== undefined) assert.ok(ids.includes(described), `${name}: aria-describedby points nowhere`);
      }
    }
  });

  void test('password fields are type=password with current-password or new-password; the other tokens are right', () => {
    for (const { name, res, autocomplete } of pages) {
      const inputs = parseHTML(res.body).filter((e) => e.tag === 'input');
      for (const input of inputs) {
        const field = input.attrs.name ?? '';
        if (PASSWORD_NAMES.has(field)) assert.equal(input.attrs.type, 'password', `${name}: ${field} is type=password`);
        if (input.attrs.type === 'password') assert.match(input.attrs.autocomplete ?? '', /^(current|new)-password$/, `${name}: ${field}`);
        if (field === 'username') assert.equal(input.attrs.autocomplete, 'username', `${name}: username`);
        if (field === 'code' && input.attrs.inputmode === 'numeric') assert.equal(input.attrs.autocomplete, 'one-time-code', `${name}: code`);
        if (input.attrs.type !== 'hidden' && input.attrs.type !== 'submit') assert.ok(input.attrs.autocomplete, `${name}: ${field} has autocomplete`);
      }
      for (const [field, token] of Object.entries(autocomplete ?? {})) {
        const input = inputs.find((e) => e.attrs.name === field && e.attrs.type !== 'hidden');
        assert.ok(input, `${name}: no ${field} field`);
        assert.equal(input.attrs.autocomplete, token, `${name}: ${field}`);
        if (token === 'one-time-code') assert.equal(input.attrs.inputmode, 'numeric', `${name}: ${field} inputmode`);
      }
    }
  });

  void test('every POST form carries the CSRF token; no form uses GET for a change', () => {
    for (const { name, res } of pages) {
      for (const form of formsOf(res.body)) {
        assert.equal(form.method, 'post', `${name}: form ${form.action} is POST`);
        const csrf = form.inputs.find((e) => e.attrs.name === '_csrf');
        assert.equal(csrf?.attrs.type, 'hidden', `${name}: form ${form.action} has a hidden _csrf`);
        assert.match(csrf.attrs.value ?? '', /^[\w-]{43}$/, `${name}: form ${form.action} token`);
        assert.ok(formsOf(res.body).length === 0 || parseHTML(res.body).some((e) => e.tag === 'button' && e.attrs.type === 'submit'), name);
      }
    }
  });

  void test('signed-in pages offer Log out (a POST form); errors sit in role="alert"', () => {
    for (const { name, res, authenticated, error } of pages) {
      const logout = formsOf(res.body).some((f) => f.action === '/logout' && f.method === 'post');
      if (authenticated) assert.ok(logout, `${name}: Log out`);
      if (error) assert.ok(alertText(res.body).length > 0, `${name}: role="alert"`);
    }
  });

  void test('secrets stay out of the pages that must not show them', () => {
    const account = pages.find((p) => p.name === 'GET /')?.res.body ?? '';
    assert.ok(!/[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}/.test(account), 'no recovery code on the account page');
    assert.ok(!account.includes('otpauth://'), 'no TOTP key on the account page');
    const refused = pages.find((p) => p.name === 'POST /login (refused)')?.res.body ?? '';
    assert.ok(!refused.includes('not a password'));
  });
});
