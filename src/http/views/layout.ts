/** The document every page shares: language, stylesheet, header (with Log out when signed in), one main. */
import type { SafeHTML } from './html.ts';
import { html } from './html.ts';

/** What every page needs from the request: the product name, the form token, and who is signed in. */
export interface PageContext {
  /** The product name shown in the header (config.issuer). */
  brand: string;
  /** The anti-CSRF token for this browser; the same for every form of a page. */
  csrf: string;
  /** Set on authenticated pages: the header then shows the name and a Log out button. */
  username?: string | undefined;
}

export interface PageOptions {
  /** The `<title>`; the page's one `<h1>` is in `body`. */
  title: string;
  /** `narrow`: the ~28rem card of the sign-in pages; `wide`: the account page. */
  width?: 'narrow' | 'wide';
  body: SafeHTML;
}

/**
 * A whole HTML document. No script anywhere; one stylesheet from our own origin.
 *
 * The `referrer` meta relaxes the `Referrer-Policy: no-referrer` header to `same-origin`
 * for the pages: under `no-referrer` a browser sends `Origin: null` with a same-origin
 * form POST (Fetch, "append a request Origin header"), which the origin check (I8)
 * rightly refuses, so no form could be sent. Other origins still get no referrer.
 */
export function page(ctx: PageContext, options: PageOptions): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${options.title} — ${ctx.brand}</title>
<link rel="stylesheet" href="/static/style.css">
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header ${options.width ?? 'narrow'}">
<a class="brand" href="/">${ctx.brand}</a>
${ctx.username === undefined ? '' : html`<div><span class="who">${ctx.username}</span><form method="post" action="/logout"><input type="hidden" name="_csrf" value="${ctx.csrf}"><button type="submit" class="link-button">Log out</button></form></div>`}
</header>
<main id="main" class="card ${options.width ?? 'narrow'}">
${options.body}
</main>
</body>
</html>
`.value.replace(/\n(?:[ \t]*\n)+/g, '\n'); // empty lines left by optional parts (no <pre> or <textarea> here)
}
