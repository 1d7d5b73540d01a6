/** Pages for refusals and failures: never echo the URL, the method or any detail. */
import { html } from './html.ts';
import { page } from './layout.ts';

/** A form POST without a valid CSRF token or from another origin (403). `back` is one of our own paths. */
export function formExpiredPage(brand: string, back: string): string {
  return page({ brand, csrf: '' }, {
    title: 'Form expired',
    body: html`<h1>Form expired</h1>
<div class="alert" role="alert"><p>This form has expired — go back and try again</p></div>
<p><a class="button primary" href="${back}">Go back</a></p>`,
  });
}

export function notFoundPage(brand: string): string {
  return page({ brand, csrf: '' }, {
    title: 'Page not found',
    body: html`<h1>Page not found</h1>
<p>There is no page at this address.</p>
<p><a href="/">Go to your account</a></p>`,
  });
}

const CLIENT_ERRORS: Record<number, string> = {
  400: 'The form could not be read.',
  405: 'That action is not allowed here.',
  413: 'What you sent is too large.',
  415: 'The form was sent in a way this server does not accept.',
  429: 'Too many requests — wait a moment and try again.',
};

/** A generic error page: 4xx say which rule in one sentence, 5xx say nothing. */
export function errorPage(brand: string, status: number): string {
  const server = status >= 500;
  const title = server ? 'Something went wrong' : 'Request refused';
  return page({ brand, csrf: '' }, {
    title,
    body: html`<h1>${title}</h1>
<p>${server ? 'Please try again in a moment.' : (CLIENT_ERRORS[status] ?? 'The request was refused.')}</p>
<p><a href="/">Go to your account</a></p>`,
  });
}
