/** Adding an authenticator: the start form, the QR code and key (shown once), the retry form. */
import type { SafeHTML } from './html.ts';
import { html, raw } from './html.ts';
import type { PageContext } from './layout.ts';
import { page } from './layout.ts';
import type { Notice } from './components.ts';
import { alertBox, csrfInput, errorOf, hidden, input, noticeOf } from './components.ts';

export interface TOTPStartModel {
  /** 1: the account must enroll before it can be used. */
  level: 1 | 2;
  /** Level 1 only: the account can already get codes by email, so signing in again is an alternative. */
  canSignInWithEmail: boolean;
  /** The sign-in is older than ten minutes: ask for the password (or a code) too. */
  needsReauth: boolean;
  error?: string | undefined;
  notice?: Notice | undefined;
}

export function totpStartPage(ctx: PageContext, model: TOTPStartModel): string {
  return page(ctx, {
    title: 'Set up an authenticator app',
    body: html`<h1>Set up an authenticator app</h1>
${noticeOf(model.notice)}
${errorOf(model.error)}
${model.level === 1 ? html`<p><strong>Your account needs a second step before you can use it.</strong></p>` : ''}
<p>An authenticator app on your phone shows a new 6-digit code every 30 seconds. Next you'll scan a QR code with it, or type in a key.</p>
<form method="post" action="/settings/totp">
${csrfInput(ctx.csrf)}
${input({ id: 'label', name: 'label', label: 'Name for this authenticator (optional)', autocomplete: 'off', maxlength: 64, hint: 'For example "Work phone", to tell them apart later.' })}
${model.needsReauth ? input({ id: 'reauth-password', name: 'password', label: 'Your password', type: 'password', autocomplete: 'current-password', required: true, hint: 'You signed in a while ago: confirm it is you.', invalid: model.error !== undefined }) : ''}
<button type="submit" class="primary block">Continue</button>
</form>
${model.level === 2
    ? html`<p class="actions small"><a href="/">Back to your account</a></p>`
    : model.canSignInWithEmail
      ? html`<p class="actions small muted">Or log out and sign in again with a code sent to your email.</p>`
      : ''}`,
  });
}

export interface TOTPEnrollModel {
  factorId: string;
  /** Base32, shown once. */
  secret: string;
  otpauthURI: string;
  /** Our own QR code SVG, checked by `checkQRCodeSVG`. */
  qrSVG: SafeHTML;
  accountName: string;
}

/** "ABCD EFGH …": the key in groups of four, easier to type. */
export function groupKey(secret: string): string {
  return (secret.match(/.{1,4}/g) ?? []).join(' ');
}

export function totpEnrollPage(ctx: PageContext, model: TOTPEnrollModel): string {
  return page(ctx, {
    title: 'Scan the QR code',
    body: html`<h1>Scan the QR code</h1>
<p>In your authenticator app, add an account and scan this code.</p>
<div class="qr" role="img" aria-label="QR code to add ${model.accountName} to an authenticator app">${model.qrSVG}</div>
<p>Can't scan it? Enter this key instead (time-based, 6 digits, account ${model.accountName}):</p>
<p class="secret mono" id="totp-key">${groupKey(model.secret)}</p>
<p class="small"><a href="${model.otpauthURI}">Open in an authenticator app on this device</a></p>
${confirmForm(ctx, model.factorId, false)}
<p class="muted small">This key is shown only once. If you leave before confirming, start again.</p>`,
  });
}

function confirmForm(ctx: PageContext, factorId: string, invalid: boolean): SafeHTML {
  return html`<form method="post" action="/settings/totp/confirm">
${csrfInput(ctx.csrf)}
${hidden('factor_id', factorId)}
${input({ id: 'code', name: 'code', label: 'The 6-digit code the app shows', autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 12, required: true, code: true, invalid })}
<p><input type="checkbox" id="end-other-sessions" name="end_other_sessions" value="1" autocomplete="off"> <label for="end-other-sessions">Also sign out every other session of this account</label></p>
<button type="submit" class="primary block">Confirm</button>
</form>`;
}

export interface TOTPRetryModel {
  factorId: string;
  error: { message: string; hint?: string | undefined };
}

/** After a wrong code: the key is not shown again, only the code form (the app already has the key). */
export function totpRetryPage(ctx: PageContext, model: TOTPRetryModel): string {
  return page(ctx, {
    title: 'Confirm your authenticator',
    body: html`<h1>Confirm your authenticator</h1>
${alertBox(html`<p>${model.error.message}</p>${model.error.hint ? html`<p>${model.error.hint}</p>` : ''}`)}
<p>Enter the code your authenticator app shows now for this account.</p>
${confirmForm(ctx, model.factorId, true)}
<p class="actions small"><a href="/settings/totp">Start again with a new QR code</a></p>`,
  });
}

const QR_TAG = /<(\/?)([a-z]+)((?:\s+[a-zA-Z-]+="[^"<>&]*")*)\s*(\/?)>/g;
const QR_ATTRIBUTES = new Set(['xmlns', 'viewBox', 'shape-rendering', 'fill', 'stroke', 'd', 'width', 'height']);

/**
 * Marks the QR code library's SVG as safe after checking it is only `<svg>` and `<path>`
 * with drawing attributes: nothing scriptable reaches the page even if the library changed.
 */
export function checkQRCodeSVG(svg: string): SafeHTML {
  const trimmed = svg.trim();
  for (const [, , name, attributes = ''] of trimmed.matchAll(QR_TAG)) {
    if (name !== 'svg' && name !== 'path') throw new TypeError('Unexpected element in the QR code SVG');
    for (const [, attribute] of attributes.matchAll(/\s+([a-zA-Z-]+)="/g)) {
      if (attribute === undefined || !QR_ATTRIBUTES.has(attribute)) throw new TypeError('Unexpected attribute in the QR code SVG');
    }
  }
  if (trimmed.replace(QR_TAG, '').trim() !== '' || !trimmed.startsWith('<svg ') || !trimmed.endsWith('</svg>')) {
    throw new TypeError('Unexpected content in the QR code SVG');
  }
  return raw(trimmed);
}
