/** Recovery codes, shown once: a list, a .txt download that needs no script, and the way on. */
import { html } from './html.ts';
import type { PageContext } from './layout.ts';
import { page } from './layout.ts';

export interface RecoveryCodesModel {
  codes: string[];
  accountName: string;
  generatedAt: number;
  /** After confirming the first authenticator, the page also says that step worked. */
  firstFactor: boolean;
}

/** The text file's content: what the codes are for, then one code a line. */
export function recoveryCodesText(model: RecoveryCodesModel, brand: string): string {
  return [
    `${brand} recovery codes for ${model.accountName}`,
    `Generated ${new Date(model.generatedAt).toISOString()}`,
    'Each code signs you in once. Keep them somewhere safe.',
    '',
    ...model.codes,
    '',
  ].join('\n');
}

/**
 * A `data:` link with `download` saves the file without script. CSP governs fetches, not a
 * link the user follows, so `default-src 'self'` does not block it.
 */
export function recoveryCodesDataURL(text: string): string {
  return `data:text/plain;charset=utf-8,${encodeURIComponent(text)}`;
}

export function recoveryCodesPage(ctx: PageContext, model: RecoveryCodesModel): string {
  const text = recoveryCodesText(model, ctx.brand);
  return page(ctx, {
    title: 'Save your recovery codes',
    body: html`<h1>Save your recovery codes</h1>
${model.firstFactor ? html`<div class="notice" role="status"><p>Your authenticator app is set up.</p></div>` : ''}
<p>If you lose your phone, each of these codes signs you in once. <strong>This is the only time they're shown</strong>: download or write them down, and keep them somewhere safe.</p>
<ol class="codes mono" aria-label="Recovery codes">
${model.codes.map((c) => html`<li>${c}</li>`)}
</ol>
<div class="actions">
<a class="button primary" href="/">I've saved my codes — continue</a>
<a class="button" download="otpgate-recovery-codes.txt" href="${recoveryCodesDataURL(text)}">Download as .txt</a>
</div>`,
  });
}
