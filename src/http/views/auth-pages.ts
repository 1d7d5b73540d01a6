/** The signed-out pages: sign-up, sign-in, the second step, and the log-out confirmation. */
import type { DeliveryChannel, FactorMethod } from '../../auth/index.ts';
import type { SafeHTML } from './html.ts';
import { html } from './html.ts';
import type { PageContext } from './layout.ts';
import { page } from './layout.ts';
import type { Notice } from './components.ts';
import { alertBox, csrfInput, errorOf, hidden, input, noticeOf } from './components.ts';

export interface SignupModel {
  values: { username: string; email: string; phone: string };
  error?: string;
  field?: 'username' | 'password' | 'email' | 'phone';
}

export function signupPage(ctx: PageContext, model: SignupModel): string {
  const { values, field } = model;
  return page(ctx, {
    title: 'Create an account',
    body: html`<h1>Create an account</h1>
${errorOf(model.error)}
<form method="post" action="/signup">
${csrfInput(ctx.csrf)}
${input({ id: 'username', name: 'username', label: 'Username', autocomplete: 'username', value: values.username, required: true, maxlength: 64, hint: 'Letters, digits and . _ - @ +', invalid: field === 'username' })}
${input({ id: 'password', name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8, hint: 'At least 8 characters. A long passphrase is best; common passwords are refused.', invalid: field === 'password' })}
${input({ id: 'email', name: 'email', label: 'Email (optional)', type: 'email', autocomplete: 'email', value: values.email, maxlength: 254, hint: 'Sign-in codes can be sent here.', invalid: field === 'email' })}
${input({ id: 'phone', name: 'phone', label: 'Mobile number (optional)', type: 'tel', autocomplete: 'tel', value: values.phone, maxlength: 32, hint: 'International format, e.g. +14155550123. Verify it later to get codes by SMS.', invalid: field === 'phone' })}
<button type="submit" class="primary block">Create account</button>
</form>
<p class="actions small">Already have an account? <a href="/login">Sign in</a></p>`,
  });
}

export function signupClosedPage(ctx: PageContext): string {
  return page(ctx, {
    title: 'Sign-up is closed',
    body: html`<h1>Sign-up is closed</h1>
<p>Accounts on this server are created by its administrator. Ask them for one.</p>
<p><a href="/login">Sign in</a></p>`,
  });
}

export interface LoginModel {
  username?: string;
  error?: string;
  notice?: Notice | undefined;
  signupOpen: boolean;
}

export function loginPage(ctx: PageContext, model: LoginModel): string {
  return page(ctx, {
    title: 'Sign in',
    body: html`<h1>Sign in</h1>
${noticeOf(model.notice)}
${errorOf(model.error)}
<form method="post" action="/login">
${csrfInput(ctx.csrf)}
${input({ id: 'username', name: 'username', label: 'Username', autocomplete: 'username', value: model.username ?? '', required: true, maxlength: 64, invalid: model.error !== undefined })}
${input({ id: 'password', name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', required: true, invalid: model.error !== undefined })}
<button type="submit" class="primary block">Continue</button>
</form>
${model.signupOpen ? html`<p class="actions small">New here? <a href="/signup">Create an account</a></p>` : ''}`,
  });
}

const HEADINGS: Record<FactorMethod, string> = {
  totp: 'Enter your authenticator code',
  email: 'Check your email',
  sms: 'Check your phone',
  recovery: 'Use a recovery code',
};

const CHANNEL_NAMES: Record<DeliveryChannel, string> = { email: 'email', sms: 'SMS' };

export interface OTPModel {
  methods: FactorMethod[];
  current: FactorMethod;
  /** The channel of the live code, if one was sent. */
  sent: DeliveryChannel | null;
  resendAfter: number;
  codeTTLMinutes: number;
  /** The refusal and, for a TOTP code from a clock far off, the drift hint. */
  error?: { message: string; hint?: string | undefined } | undefined;
  notice?: Notice | undefined;
}

/** The second step: a code form for the chosen method, and the other methods. */
export function otpPage(ctx: PageContext, model: OTPModel): string {
  const { current } = model;
  return page(ctx, {
    title: HEADINGS[current],
    body: html`<h1>${HEADINGS[current]}</h1>
${noticeOf(model.notice)}
${model.error ? alertBox(html`<p>${model.error.message}</p>${model.error.hint ? html`<p>${model.error.hint}</p>` : ''}`) : ''}
${methodBody(ctx, model)}
${alternatives(ctx, model)}`,
  });
}

function codeForm(ctx: PageContext, method: FactorMethod, label: string, hint: string, invalid: boolean): SafeHTML {
  const recovery = method === 'recovery';
  return html`<form method="post" action="/login/otp">
${csrfInput(ctx.csrf)}
${hidden('method', method)}
${input({
    id: 'code',
    name: 'code',
    label,
    hint,
    // A recovery code is not a one-time code a phone should offer from SMS.
    autocomplete: recovery ? 'off' : 'one-time-code',
    inputmode: recovery ? 'text' : 'numeric',
    maxlength: recovery ? 40 : 12, // 24 characters, with hyphens or spaces
    required: true,
    autofocus: true,
    code: true,
    invalid,
  })}
<button type="submit" class="primary block">Verify</button>
</form>`;
}

function sendForm(ctx: PageContext, channel: DeliveryChannel, text: string, primary: boolean): SafeHTML {
  return html`<form method="post" action="/login/otp/send"${primary ? '' : html` class="inline-form"`}>
${csrfInput(ctx.csrf)}
${hidden('method', channel)}
<button type="submit" class="${primary ? 'primary block' : 'link-button'}">${text}</button>
</form>`;
}

function methodBody(ctx: PageContext, model: OTPModel): SafeHTML {
  const { current } = model;
  const invalid = model.error !== undefined;
  if (current === 'totp') {
    return codeForm(ctx, 'totp', '6-digit code', 'Open your authenticator app and enter the current code for this account.', invalid);
  }
  if (current === 'recovery') {
    return codeForm(ctx, 'recovery', 'Recovery code', 'One of the codes you saved when you set up two-step sign-in, like abcd-efgh-ijkl-mnop. Each code works once.', invalid);
  }
  const name = CHANNEL_NAMES[current];
  if (model.sent !== current) {
    return html`<p>We'll send a 6-digit code by ${name} to the ${current === 'email' ? 'address' : 'number'} on your account.</p>
${sendForm(ctx, current, `Send code by ${name}`, true)}
${model.resendAfter > 0 ? html`<p class="muted small">You can ask for a new code in ${model.resendAfter} seconds.</p>` : ''}`;
  }
  // The button is always there (no script to enable it later); inside the cooldown the wait is shown beside it.
  // A div, not a p: a form may not sit inside a paragraph.
  const wait = html`<div class="resend muted small">Didn't get it? ${sendForm(ctx, current, 'Send a new code', false)}${model.resendAfter > 0 ? html` (you can ask for a new code in ${model.resendAfter} seconds)` : ''}</div>`;
  return html`${codeForm(ctx, current, '6-digit code', `We sent it by ${name}. It works once and expires after ${model.codeTTLMinutes} minute${model.codeTTLMinutes === 1 ? '' : 's'}.`, invalid)}
${wait}`;
}

function alternatives(ctx: PageContext, model: OTPModel): SafeHTML | '' {
  const others = model.methods.filter((m) => m !== model.current);
  const items = others.map((m) => {
    if (m === 'totp') return html`<li><a href="/login/otp?method=totp">Use your authenticator app</a></li>`;
    if (m === 'recovery') return html`<li><a href="/login/otp?method=recovery">Use a recovery code</a></li>`;
    if (model.sent === m) return html`<li><a href="/login/otp?method=${m}">Enter the code we sent by ${CHANNEL_NAMES[m]}</a></li>`;
    return html`<li>${sendForm(ctx, m, `Send a code by ${CHANNEL_NAMES[m]} instead`, false)}</li>`;
  });
  return html`<ul class="alternatives small" aria-label="Other ways to sign in">
${items}
<li><a href="/login">Start over</a></li>
</ul>`;
}

export function logoutPage(ctx: PageContext): string {
  return page(ctx, {
    title: 'Log out',
    body: html`<h1>Log out?</h1>
<p>This ends your session on this device.</p>
<form method="post" action="/logout">
${csrfInput(ctx.csrf)}
<button type="submit" class="primary">Log out</button>
</form>
<p class="actions small"><a href="/">Back to your account</a></p>`,
  });
}
