/** Small pieces every page uses: form fields, messages, times, the CSRF input. */
import type { HTMLValue, SafeHTML } from './html.ts';
import { html } from './html.ts';

export interface InputOptions {
  id: string;
  name: string;
  label: string;
  type?: 'text' | 'password' | 'email' | 'tel';
  /** Always given: the right token lets password managers and SMS autofill help. */
  autocomplete: string;
  value?: string;
  required?: boolean;
  hint?: HTMLValue;
  inputmode?: 'numeric' | 'text' | 'email' | 'tel';
  minlength?: number;
  maxlength?: number;
  invalid?: boolean;
  autofocus?: boolean;
  /** A code field: monospace, no spellcheck or capitalisation. */
  code?: boolean;
}

/** A labelled input, with its hint tied to it by aria-describedby. */
export function input(o: InputOptions): SafeHTML {
  const hintId = `${o.id}-hint`;
  const plain = o.code === true || o.type === 'email' || o.name === 'username';
  return html`<div class="field">
<label for="${o.id}">${o.label}</label>
${o.hint === undefined ? '' : html`<p class="hint" id="${hintId}">${o.hint}</p>`}
<input id="${o.id}" name="${o.name}" type="${o.type ?? 'text'}" autocomplete="${o.autocomplete}"${o.value === undefined || o.type === 'password' ? '' : html` value="${o.value}"`}${o.required ? html` required` : ''}${o.inputmode ? html` inputmode="${o.inputmode}"` : ''}${o.minlength === undefined ? '' : html` minlength="${o.minlength}"`}${o.maxlength === undefined ? '' : html` maxlength="${o.maxlength}"`}${o.hint === undefined ? '' : html` aria-describedby="${hintId}"`}${o.invalid ? html` aria-invalid="true"` : ''}${o.autofocus ? html` autofocus` : ''}${plain ? html` autocapitalize="none" spellcheck="false"` : ''}${o.code ? html` class="code"` : ''}>
</div>`;
}

/** The anti-CSRF token every POST form carries. */
export function csrfInput(token: string): SafeHTML {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

export function hidden(name: string, value: string): SafeHTML {
  return html`<input type="hidden" name="${name}" value="${value}">`;
}

/** An error the user must act on, announced by screen readers (role="alert"). */
export function alertBox(messages: HTMLValue): SafeHTML {
  return html`<div class="alert" role="alert">${messages}</div>`;
}

/** A status message (e.g. after a redirect), announced politely. */
export function noticeBox(message: HTMLValue): SafeHTML {
  return html`<div class="notice" role="status"><p>${message}</p></div>`;
}

/** A message carried across a redirect: a status, or a warning announced as an alert. */
export interface Notice {
  text: string;
  tone: 'status' | 'alert';
}

export function noticeOf(notice: Notice | undefined): SafeHTML | '' {
  if (notice === undefined) return '';
  return notice.tone === 'alert' ? alertBox(html`<p>${notice.text}</p>`) : noticeBox(notice.text);
}

/** An optional message: the alert, or nothing. */
export function errorOf(message: string | undefined): SafeHTML | '' {
  return message === undefined ? '' : alertBox(html`<p>${message}</p>`);
}

const DATE_FORMAT = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', dateStyle: 'medium', timeStyle: 'short' });

/**
 * A time in UTC, machine-readable too: `<time datetime="…">1 Jan 2026, 12:00 UTC</time>`.
 * No-break spaces keep "1 Jan 2026" and "12:00 UTC" whole: a narrow column wraps only after the comma.
 */
export function time(ms: number): SafeHTML {
  const date = new Date(ms);
  const text = `${DATE_FORMAT.format(date)} UTC`.replace(/ /g, '\u00a0').replace(/,\u00a0/g, ', ');
  return html`<time datetime="${date.toISOString()}">${text}</time>`;
}

/** "Firefox on Linux" from a user-agent string; the raw string is never needed to recognise a device. */
export function describeUserAgent(ua: string): string {
  if (ua === '') return 'Unknown device';
  const browser =
    /Edg\//.test(ua) ? 'Edge'
    : /OPR\//.test(ua) ? 'Opera'
    : /Firefox\//.test(ua) ? 'Firefox'
    : /Chrome\//.test(ua) ? 'Chrome'
    : /Safari\//.test(ua) ? 'Safari'
    : /^curl\//.test(ua) ? 'curl'
    : null;
  const system =
    /iPhone|iPad/.test(ua) ? 'iOS'
    : /Android/.test(ua) ? 'Android'
    : /Windows/.test(ua) ? 'Windows'
    : /Mac OS X|Macintosh/.test(ua) ? 'macOS'
    : /CrOS/.test(ua) ? 'ChromeOS'
    : /Linux/.test(ua) ? 'Linux'
    : null;
  if (browser && system) return `${browser} on ${system}`;
  if (browser ?? system) return browser ?? system ?? '';
  return ua.length > 60 ? `${ua.slice(0, 57)}…` : ua;
}

/** "about 4 minutes": drift rounded to whole minutes (at least one). */
export function describeDuration(seconds: number): string {
  const minutes = Math.max(1, Math.round(Math.abs(seconds) / 60));
  if (minutes < 120) return `about ${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.round(minutes / 60);
  return `about ${hours} hours`;
}

/** The hint shown when a TOTP code matched a time further off than the window (engine's driftSeconds). */
export function driftHint(driftSeconds: number): string {
  const direction = driftSeconds < 0 ? 'behind' : 'ahead';
  return `Your authenticator's clock seems ${describeDuration(driftSeconds)} ${direction} — check the time settings on your device`;
}
