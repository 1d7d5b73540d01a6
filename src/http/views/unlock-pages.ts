/** The pages of the emailed unlock link (the password lock for strangers). */
import { html } from './html.ts';
import type { PageContext } from './layout.ts';
import { page } from './layout.ts';
import { csrfInput, hidden } from './components.ts';

/** What the link opens: a confirm form, so a mail scanner's GET unlocks nothing. */
export function unlockConfirmPage(ctx: PageContext, token: string): string {
  return page(ctx, {
    title: 'Allow new browsers',
    body: html`<h1>Allow sign-in from new browsers?</h1>
<p>After many wrong passwords, sign-in to your account from browsers it has never seen was paused. Browsers you signed in with before still work.</p>
<form method="post" action="/unlock">
${csrfInput(ctx.csrf)}
${hidden('token', token)}
<button type="submit" class="primary">Allow new browsers again</button>
</form>`,
  });
}

export function unlockDonePage(ctx: PageContext, ok: boolean): string {
  return page(ctx, {
    title: ok ? 'New browsers allowed' : 'Link not valid',
    body: ok
      ? html`<h1>New browsers allowed</h1>
<p>You can sign in from any browser again. If the wrong passwords were not yours, change your password once you are signed in.</p>
<p class="actions"><a class="button primary" href="/login">Sign in</a></p>`
      : html`<h1>This link does not work</h1>
<p>It was already used, has expired, or was copied incompletely. Sign in from a browser you used before, or ask an administrator.</p>
<p class="actions"><a class="button" href="/login">Sign in</a></p>`,
  });
}
