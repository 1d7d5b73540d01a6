/**
 * Test support for the HTML pages: a tiny HTML reader (no dependency) and a cookie-keeping
 * "browser" over `app.inject()` that submits forms the way a browser would — with the
 * form's own hidden fields (the CSRF token) and an Origin header.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { AuthOptions } from '../../src/auth/index.ts';
import { loadConfig } from '../../src/config.ts';
import { build } from '../../src/http/app.ts';
import { createRoutes } from '../../src/http/routes.ts';
import { strict as assert } from 'node:assert';
import type { KeyObject } from 'node:crypto';
import { createOTPKey, decodeBase32, generateTOTP } from '../../src/otp/index.ts';
import { COOKIE } from '../../src/http/cookies.ts';
import { makeEngine } from '../support/engine.ts';

export const ORIGIN = 'https://localhost:8443';

// --- reading HTML ------------------------------------------------------------------

export interface Element {
  tag: string;
  attrs: Record<string, string>;
  /** Index of `<` of the start tag, and just after its `>`. */
  start: number;
  openEnd: number;
  /** Index of the matching end tag's `<` (the end of the content); null for void or unclosed elements. */
  closeStart: number | null;
}

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);
const TAG = /<!--[\s\S]*?-->|<!doctype[^>]*>|<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*(\/?)>/gi;
const ATTRIBUTE = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') return String.fromCodePoint(name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' } as Record<string, string>)[name.toLowerCase()] ?? whole;
  });
}

/** Every element of a document, in order, with its attributes (entity-decoded, names lower-cased). */
export function parseHTML(markup: string): Element[] {
  const elements: Element[] = [];
  const open: Element[] = [];
  TAG.lastIndex = 0;
  for (let m = TAG.exec(markup); m !== null; m = TAG.exec(markup)) {
    const [whole, closing, rawName, rawAttributes = '', selfClosing] = m;
    if (rawName === undefined) continue; // comment or doctype
    const tag = rawName.toLowerCase();
    if (closing) {
      for (let i = open.length - 1; i >= 0; i--) {
        const element = open[i];
        if (element?.tag === tag) {
          element.closeStart = m.index;
          open.length = i;
          break;
        }
      }
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const [, name, dq, sq, bare] of rawAttributes.matchAll(ATTRIBUTE)) {
      if (name !== undefined) attrs[name.toLowerCase()] = decodeEntities(dq ?? sq ?? bare ?? '');
    }
    const element: Element = { tag, attrs, start: m.index, openEnd: m.index + whole.length, closeStart: null };
    elements.push(element);
    if (tag === 'script' || tag === 'style') {
      // Raw text: skip to its end tag so nothing inside is read as markup.
      const end = markup.toLowerCase().indexOf(`</${tag}`, element.openEnd);
      element.closeStart = end === -1 ? markup.length : end;
      TAG.lastIndex = element.closeStart;
      continue;
    }
    if (!VOID.has(tag) && !selfClosing) open.push(element);
  }
  return elements;
}

export function innerHTML(markup: string, element: Element): string {
  return element.closeStart === null ? '' : markup.slice(element.openEnd, element.closeStart);
}

/** The element's text: tags dropped, entities decoded, white space collapsed. */
export function textOf(markup: string, element?: Element): string {
  const inner = element === undefined ? markup : innerHTML(markup, element);
  return decodeEntities(inner.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
}

export interface Form {
  element: Element;
  action: string;
  method: string;
  /** Named inputs with their current values (hidden ones included), as a browser would send them. */
  fields: Record<string, string>;
  inputs: Element[];
}

export function formsOf(markup: string): Form[] {
  const elements = parseHTML(markup);
  return elements.filter((e) => e.tag === 'form').map((form) => {
    const end = form.closeStart ?? markup.length;
    const inputs = elements.filter((e) => e.start > form.start && e.start < end && (e.tag === 'input' || e.tag === 'textarea' || e.tag === 'select'));
    const fields: Record<string, string> = {};
    for (const input of inputs) {
      const name = input.attrs.name;
      if (name !== undefined && input.attrs.type !== 'submit') fields[name] = input.attrs.value ?? '';
    }
    return { element: form, action: form.attrs.action ?? '', method: (form.attrs.method ?? 'get').toLowerCase(), fields, inputs };
  });
}

// --- a browser over inject ----------------------------------------------------------

export interface Response {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  /** The Location header of a redirect, without any fragment. */
  location: string | undefined;
  url: string;
  /** The cookies this response set (or cleared). */
  setCookies: SetCookie[];
}

export interface SetCookie {
  name: string;
  value: string;
  maxAge?: number;
  expires?: Date;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: string;
  path?: string;
}

export class Browser {
  readonly app: FastifyInstance;
  readonly cookies = new Map<string, string>();
  userAgent = 'Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/140.0';

  constructor(app: FastifyInstance) {
    this.app = app;
  }

  private keep(cookies: SetCookie[]): void {
    for (const c of cookies) {
      if (c.value === '' || c.maxAge === 0 || (c.expires !== undefined && c.expires.getTime() < Date.now())) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
  }

  async request(method: 'GET' | 'POST', url: string, options: { form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'text/html,application/xhtml+xml', 'user-agent': this.userAgent };
    if (options.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await this.app.inject({
      method,
      url,
      headers: { ...headers, ...options.headers },
      cookies: Object.fromEntries(this.cookies),
      ...(options.form === undefined ? {} : { payload: new URLSearchParams(options.form).toString() }),
    });
    const setCookies = res.cookies as SetCookie[];
    this.keep(setCookies);
    const location = res.headers.location;
    return {
      status: res.statusCode,
      headers: res.headers,
      body: res.body,
      location: typeof location === 'string' ? location.replace(/#.*$/, '') : undefined,
      url,
      setCookies,
    };
  }

  get(url: string): Promise<Response> {
    return this.request('GET', url);
  }

  /** A form POST from our own origin (override `origin`, or pass null to send none). */
  post(url: string, form: Record<string, string>, origin: string | null = ORIGIN): Promise<Response> {
    return this.request('POST', url, { form, headers: origin === null ? {} : { origin } });
  }

  /** Fills and submits the form of `page` whose action is `action` (the first, or the one `pick` chooses). */
  submit(page: Response, action: string, values: Record<string, string> = {}, pick: (form: Form) => boolean = () => true): Promise<Response> {
    const form = formsOf(page.body).find((f) => f.action.replace(/#.*$/, '') === action && pick(f));
    if (!form) throw new Error(`no form with action ${action} on ${page.url} (status ${page.status})`);
    return this.post(action, { ...form.fields, ...values });
  }

  /** Follows redirects (GET) until a page answers. */
  async follow(response: Response): Promise<Response> {
    let current = response;
    for (let i = 0; i < 5 && current.location !== undefined && current.status >= 300 && current.status < 400; i++) {
      current = await this.get(current.location);
    }
    return current;
  }
}

// --- the application ---------------------------------------------------------------

export async function startPages(options: { engine?: Partial<AuthOptions>; env?: Record<string, string> } = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'otpgate-pages-'));
  const engine = await makeEngine(options.engine);
  const config = loadConfig({ OTPGATE_DATA_DIR: dataDir, OTPGATE_PUBLIC_URL: ORIGIN, OTPGATE_TLS: 'off', ...options.env });
  const app = await build({ config, logger: false, routes: createRoutes({ auth: engine.auth, config }) });
  return {
    app,
    engine,
    config,
    browser: () => new Browser(app),
    async close() {
      await app.close();
      await engine.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export type Pages = Awaited<ReturnType<typeof startPages>>;

// --- journeys the page tests share ---------------------------------------------------

export const PASSWORD = 'correct horse battery staple';

export function byId(body: string, id: string): string {
  const element = parseHTML(body).find((e) => e.attrs.id === id);
  assert.ok(element, `no element #${id}`);
  return textOf(body, element);
}

export function alertText(body: string): string {
  return parseHTML(body).filter((e) => e.attrs.role === 'alert').map((e) => textOf(body, e)).join(' | ');
}

export function totpKeyFrom(body: string): KeyObject {
  return createOTPKey(decodeBase32(byId(body, 'totp-key').replace(/\s+/g, '')));
}

export function recoveryCodesFrom(body: string): string[] {
  const elements = parseHTML(body);
  const list = elements.find((e) => e.tag === 'ol' && (e.attrs.class ?? '').includes('codes'));
  assert.ok(list?.closeStart, 'no list of recovery codes');
  return elements.filter((e) => e.tag === 'li' && e.start > list.start && e.start < (list.closeStart ?? 0)).map((e) => textOf(body, e));
}

export const sessionCookie = (b: Browser) => b.cookies.get(COOKIE.session);

export async function signup(b: Browser, fields: Record<string, string>): Promise<Response> {
  return b.submit(await b.get('/signup'), '/signup', fields);
}

/** Sign-up with an email, then "Check your email" with the mailed code: the address counts and the browser is signed in (level 2). */
export async function signupWithVerifiedEmail(t: Pages, b: Browser, fields: Record<string, string> & { email: string }): Promise<Response> {
  const signedUp = await signup(b, fields);
  assert.equal(signedUp.location, '/settings/email');
  return b.submit(await b.follow(signedUp), '/settings/email/verify', { code: t.engine.outbox.lastCode(fields.email) });
}

/** Sign-up → level 1 → authenticator confirmed; returns the key and the recovery codes shown once. */
export async function enrolledUser(t: Pages, b: Browser, username = 'alice') {
  const signedUp = await signup(b, { username, password: PASSWORD });
  assert.equal(signedUp.status, 303);
  assert.equal(signedUp.location, '/settings/totp');
  // Post/Redirect/Get: the key and the codes are each shown by the GET a 303 leads to.
  const qr = await b.follow(await b.submit(await b.follow(signedUp), '/settings/totp', { label: 'Phone' }));
  assert.equal(qr.status, 200);
  const key = totpKeyFrom(qr.body);
  const done = await b.follow(await b.submit(qr, '/settings/totp/confirm', { code: generateTOTP(key, t.engine.now()) }));
  assert.equal(done.status, 200);
  return { key, codes: recoveryCodesFrom(done.body), page: done };
}

export async function login(b: Browser, username: string, password = PASSWORD): Promise<Response> {
  return b.submit(await b.get('/login'), '/login', { username, password });
}

/** Logs in with the authenticator (30 s later, so the code's step is new). */
export async function loginWithTOTP(t: Pages, b: Browser, username: string, key: KeyObject): Promise<Response> {
  t.engine.advance(30_000);
  const started = await login(b, username);
  assert.equal(started.location, '/login/otp');
  return b.submit(await b.follow(started), '/login/otp', { code: generateTOTP(key, t.engine.now()) });
}

