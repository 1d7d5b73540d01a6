/** The account security page (`/`): second factors, recovery codes, phone, password, sessions, devices, activity. */
import type { AccountOverview, Device, Session, StoredAuditEvent } from '../../auth/index.ts';
import type { SafeHTML } from './html.ts';
import { html } from './html.ts';
import type { PageContext } from './layout.ts';
import { page } from './layout.ts';
import type { Notice } from './components.ts';
import { csrfInput, describeUserAgent, errorOf, hidden, input, noticeOf, time } from './components.ts';
import { describeAuditEvent } from './audit-labels.ts';

export type AccountSection = 'factors' | 'recovery' | 'phone' | 'password' | 'sessions' | 'devices';

export interface AccountModel {
  overview: AccountOverview;
  sessions: Array<Session & { current: boolean }>;
  /** Browsers that completed a sign-in (their password attempts skip strangers' delay and lock). */
  devices?: Array<Device & { current: boolean }>;
  activity: StoredAuditEvent[];
  /** Whether SMS codes count here (OTPGATE_FACTORS); the phone section shows only then. */
  smsEnabled: boolean;
  /** A sign-in from the last ten minutes: ending another session needs no password then. */
  freshSignIn: boolean;
  notice?: Notice | undefined;
  /** A refusal, shown in the section whose form was sent. */
  error?: { section: AccountSection; message: string; factorId?: string } | undefined;
}

/** A confirmed authenticator app: it can re-authenticate, and SMS counts only beside it. */
const hasAuthenticator = (model: AccountModel): boolean => model.overview.factors.some((f) => f.type === 'totp');

const FACTOR_NAMES = { totp: 'Authenticator app', email: 'Codes by email', sms: 'Codes by SMS', recovery: 'Recovery codes' } as const;

export function accountPage(ctx: PageContext, model: AccountModel): string {
  const { overview } = model;
  return page(ctx, {
    title: 'Account security',
    width: 'wide',
    body: html`<h1>Account security</h1>
<p class="lead">Signed in as <strong>${overview.user.username}</strong>.</p>
${noticeOf(model.notice)}
${factorsSection(ctx, model)}
${recoverySection(ctx, model)}
${model.smsEnabled ? phoneSection(ctx, model) : ''}
${passwordSection(ctx, model)}
${sessionsSection(ctx, model)}
${devicesSection(ctx, model)}
${activitySection(model)}`,
  });
}

function errorIn(model: AccountModel, section: AccountSection, factorId?: string): string | undefined {
  const e = model.error;
  if (!e || e.section !== section) return undefined;
  if (factorId !== undefined && e.factorId !== factorId) return undefined;
  return e.message;
}

/** Fresh proof before a sensitive change: the password, or (when there is one) an authenticator code. */
function reauthFields(prefix: string, hasTOTP: boolean, invalid: boolean): SafeHTML {
  return html`${input({ id: `${prefix}-password`, name: 'password', label: 'Your password', type: 'password', autocomplete: 'current-password', invalid })}
${hasTOTP ? input({ id: `${prefix}-code`, name: 'code', label: 'Or a code from your authenticator app', autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 12, code: true, invalid }) : ''}`;
}

function factorsSection(ctx: PageContext, model: AccountModel): SafeHTML {
  const { overview } = model;
  const hasTOTP = hasAuthenticator(model);
  const items = overview.factors.map((f) => {
    const error = errorIn(model, 'factors', f.id);
    const removable = f.type === 'totp';
    return html`<li>
<div class="title">${FACTOR_NAMES[f.type]}${f.type === 'totp' ? html`: ${f.label}` : html` — ${f.label}`}</div>
<div class="muted small">Added ${time(f.createdAt)} · ${f.lastUsedAt === null ? 'Not used yet' : html`Last used ${time(f.lastUsedAt)}`}</div>
${removable ? html`<details${error ? html` open` : ''}>
<summary>Remove this authenticator</summary>
${errorOf(error)}
<form method="post" action="/settings/factors/remove#factors">
${csrfInput(ctx.csrf)}
${hidden('factor_id', f.id)}
<p class="small">Confirm it's you first.</p>
${reauthFields(`remove-${f.id}`, hasTOTP, error !== undefined)}
<button type="submit" class="danger">Remove authenticator</button>
</form>
</details>` : ''}
</li>`;
  });
  return html`<section id="factors" aria-labelledby="factors-title">
<h2 id="factors-title">Two-step sign-in</h2>
${overview.secondFactorsLocked ? html`<div class="alert" role="alert"><p>Your second factors are locked after too many wrong codes. Sign in with a recovery code, or ask an administrator to unlock your account.</p></div>` : ''}
${errorIn(model, 'factors') !== undefined && model.error?.factorId === undefined ? errorOf(errorIn(model, 'factors')) : ''}
${items.length > 0 ? html`<ul class="list">${items}</ul>` : html`<p>You have no second factor yet.</p>`}
<p><a class="button primary" href="/settings/totp">Add an authenticator app</a></p>
</section>`;
}

function recoverySection(ctx: PageContext, model: AccountModel): SafeHTML {
  const { overview } = model;
  const hasTOTP = hasAuthenticator(model);
  const left = overview.recoveryCodesLeft;
  const error = errorIn(model, 'recovery');
  return html`<section id="recovery" aria-labelledby="recovery-title">
<h2 id="recovery-title">Recovery codes</h2>
<p>${left === 0 ? 'You have no recovery codes left.' : `You have ${left} recovery code${left === 1 ? '' : 's'} left.`} Each one signs you in once if you lose your other factors.</p>
<details${error ? html` open` : ''}>
<summary>Generate new recovery codes</summary>
${errorOf(error)}
<form method="post" action="/settings/recovery-codes#recovery">
${csrfInput(ctx.csrf)}
<p class="small">Your old codes stop working. Confirm it's you first.</p>
${reauthFields('recovery', hasTOTP, error !== undefined)}
<button type="submit">Generate new codes</button>
</form>
</details>
</section>`;
}

function phoneSection(ctx: PageContext, model: AccountModel): SafeHTML {
  const { user } = model.overview;
  const error = errorIn(model, 'phone');
  const status = user.phone === null
    ? html`<p>Add a mobile number to get sign-in codes by SMS. SMS is less safe than an authenticator app; keep one of those too.</p>`
    : user.phoneVerified
      ? hasAuthenticator(model)
        ? html`<p>Codes by SMS go to <strong>${user.phone}</strong>.</p>`
        : html`<p><strong>${user.phone}</strong> is verified. Sign-in codes go there only once you also have an authenticator app: SMS is less safe, so it is never the only way in.</p>`
      : html`<p><strong>${user.phone}</strong> is not verified yet, so no codes are sent there.</p>`;
  return html`<section id="phone" aria-labelledby="phone-title">
<h2 id="phone-title">Phone number</h2>
${status}
<details${error ? html` open` : ''}>
<summary>${user.phone !== null && !user.phoneVerified ? 'Verify a number' : user.phone === null ? 'Add a number' : 'Change the number'}</summary>
${errorOf(error)}
<form method="post" action="/settings/phone#phone">
${csrfInput(ctx.csrf)}
${input({ id: 'phone-number', name: 'phone', label: 'Mobile number', type: 'tel', autocomplete: 'tel', value: user.phoneVerified ? '' : (user.phone ?? ''), maxlength: 32, required: true, hint: 'International format, e.g. +14155550123. We send a code to check it.', invalid: error !== undefined })}
${user.phoneVerified || !model.freshSignIn ? reauthFields('phone', hasAuthenticator(model), error !== undefined) : ''}
<button type="submit">Send verification code</button>
</form>
</details>
</section>`;
}

function passwordSection(ctx: PageContext, model: AccountModel): SafeHTML {
  const error = errorIn(model, 'password');
  return html`<section id="password" aria-labelledby="password-title">
<h2 id="password-title">Password</h2>
<details${error ? html` open` : ''}>
<summary>Change your password</summary>
${errorOf(error)}
<form method="post" action="/settings/password#password">
${csrfInput(ctx.csrf)}
${input({ id: 'current-password', name: 'current_password', label: 'Current password', type: 'password', autocomplete: 'current-password', required: true, invalid: error !== undefined })}
${input({ id: 'new-password', name: 'new_password', label: 'New password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8, hint: 'At least 8 characters. Your other sessions are signed out.', invalid: error !== undefined })}
<button type="submit">Change password</button>
</form>
</details>
</section>`;
}

function sessionsSection(ctx: PageContext, model: AccountModel): SafeHTML {
  const error = errorIn(model, 'sessions');
  const hasTOTP = hasAuthenticator(model);
  const rows = model.sessions.map((s) => html`<tr>
<td><span title="${s.userAgent}">${describeUserAgent(s.userAgent)}</span>${s.current ? html` <span class="badge">This device</span>` : ''}</td>
<td class="mono">${s.ip}</td>
<td>${time(s.createdAt)}</td>
<td>${time(s.lastSeenAt)}</td>
<td>${s.current ? '' : model.freshSignIn ? html`<form method="post" action="/settings/sessions/revoke#sessions" class="inline-form">
${csrfInput(ctx.csrf)}
${hidden('session_id', s.id)}
<button type="submit" class="link-button">Sign out</button>
</form>` : html`<details${error ? html` open` : ''}>
<summary>Sign out</summary>
<form method="post" action="/settings/sessions/revoke#sessions">
${csrfInput(ctx.csrf)}
${hidden('session_id', s.id)}
${reauthFields(`revoke-${s.id}`, hasTOTP, error !== undefined)}
<button type="submit">Sign out this session</button>
</form>
</details>`}</td>
</tr>`);
  return html`<section id="sessions" aria-labelledby="sessions-title">
<h2 id="sessions-title">Where you're signed in</h2>
${errorOf(error)}
<div class="table-wrap"><table>
<thead><tr><th scope="col">Device</th><th scope="col">Address</th><th scope="col">Signed in</th><th scope="col">Last active</th><th scope="col"><span class="muted">Action</span></th></tr></thead>
<tbody>
${rows}
</tbody>
</table></div>
</section>`;
}

function devicesSection(ctx: PageContext, model: AccountModel): SafeHTML {
  const devices = model.devices ?? [];
  const error = errorIn(model, 'devices');
  const hasTOTP = hasAuthenticator(model);
  const rows = devices.map((d) => html`<tr>
<td><span title="${d.userAgent}">${describeUserAgent(d.userAgent)}</span>${d.current ? html` <span class="badge">This browser</span>` : ''}</td>
<td class="mono">${d.ip}</td>
<td>${time(d.createdAt)}</td>
<td>${time(d.lastUsedAt)}</td>
<td>${model.freshSignIn ? html`<form method="post" action="/settings/devices/revoke#devices" class="inline-form">
${csrfInput(ctx.csrf)}
${hidden('device_id', d.id)}
<button type="submit" class="link-button">Forget</button>
</form>` : html`<details${error ? html` open` : ''}>
<summary>Forget</summary>
<form method="post" action="/settings/devices/revoke#devices">
${csrfInput(ctx.csrf)}
${hidden('device_id', d.id)}
${reauthFields(`device-${d.id}`, hasTOTP, error !== undefined)}
<button type="submit">Forget this browser</button>
</form>
</details>`}</td>
</tr>`);
  return html`<section id="devices" aria-labelledby="devices-title">
<h2 id="devices-title">Browsers you signed in with</h2>
<p>Wrong passwords typed by others never slow these browsers down or lock them out. Forget one you no longer use; changing your password forgets them all.</p>
${errorOf(error)}
${rows.length === 0 ? html`<p>None yet.</p>` : html`<div class="table-wrap"><table>
<thead><tr><th scope="col">Browser</th><th scope="col">Address</th><th scope="col">First sign-in</th><th scope="col">Last sign-in</th><th scope="col"><span class="muted">Action</span></th></tr></thead>
<tbody>
${rows}
</tbody>
</table></div>`}
</section>`;
}

function activitySection(model: AccountModel): SafeHTML {
  const rows = model.activity.map((e) => html`<tr><td>${time(e.at)}</td><td>${describeAuditEvent(e)}</td><td class="mono">${e.ip ?? ''}</td></tr>`);
  return html`<section id="activity" aria-labelledby="activity-title">
<h2 id="activity-title">Recent activity</h2>
${rows.length === 0 ? html`<p>No activity yet.</p>` : html`<div class="table-wrap"><table>
<thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Address</th></tr></thead>
<tbody>
${rows}
</tbody>
</table></div>`}
</section>`;
}
