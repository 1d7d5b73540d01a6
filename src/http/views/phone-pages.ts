/** Checking a new phone number with the code sent to it by SMS. */
import { html } from './html.ts';
import type { PageContext } from './layout.ts';
import { page } from './layout.ts';
import { csrfInput, errorOf, input, noticeOf } from './components.ts';
import type { Notice } from './components.ts';

export interface PhoneConfirmModel {
  error?: string | undefined;
  notice?: Notice | undefined;
}

export function phoneConfirmPage(ctx: PageContext, model: PhoneConfirmModel): string {
  return page(ctx, {
    title: 'Verify your phone number',
    body: html`<h1>Verify your phone number</h1>
${noticeOf(model.notice)}
${errorOf(model.error)}
<form method="post" action="/settings/phone/confirm">
${csrfInput(ctx.csrf)}
${input({ id: 'code', name: 'code', label: '6-digit code', hint: 'We sent it by SMS to the number you entered.', autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 12, required: true, autofocus: true, code: true, invalid: model.error !== undefined })}
<button type="submit" class="primary block">Verify number</button>
</form>
<p class="actions small"><a href="/#phone">Use another number or send a new code</a></p>`,
  });
}
