/** "Check your email": the code that proves an address, after sign-up or a change. */
import { html } from './html.ts';
import type { PageContext } from './layout.ts';
import { page } from './layout.ts';
import { csrfInput, errorOf, input, noticeOf } from './components.ts';
import type { Notice } from './components.ts';

export interface EmailVerifyModel {
  /** The address waiting for its code; null when none is. */
  pending: string | null;
  error?: string | undefined;
  notice?: Notice | undefined;
}

export function emailVerifyPage(ctx: PageContext, model: EmailVerifyModel): string {
  if (model.pending === null) {
    return page(ctx, {
      title: 'Check your email',
      body: html`<h1>Check your email</h1>
${noticeOf(model.notice)}
${errorOf(model.error)}
<p>No email address is waiting to be verified.</p>
<p class="actions small"><a href="/">Back to your account</a></p>`,
    });
  }
  return page(ctx, {
    title: 'Check your email',
    body: html`<h1>Check your email</h1>
${noticeOf(model.notice)}
${errorOf(model.error)}
<p>We sent a 6-digit code to <strong>${model.pending}</strong>. The address counts for signing in once you enter it.</p>
<form method="post" action="/settings/email/verify">
${csrfInput(ctx.csrf)}
${input({ id: 'code', name: 'code', label: '6-digit code', autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 12, required: true, autofocus: true, code: true, invalid: model.error !== undefined })}
<button type="submit" class="primary block">Verify email</button>
</form>
<form method="post" action="/settings/email/resend">
${csrfInput(ctx.csrf)}
<button type="submit">Send a new code</button>
</form>
<p class="actions small"><a href="/settings/totp">Use an authenticator app instead</a></p>`,
  });
}
