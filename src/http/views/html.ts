/**
 * HTML templates that escape by default: every value interpolated into `html`…`` is
 * escaped unless it is already `SafeHTML` (another template, or `raw()` for markup we
 * produced ourselves). Escaping covers text and quoted attribute values; URLs put into
 * `href` must still be our own (escaping does not make `javascript:` safe).
 */

/** Markup that is safe to insert as it is. Only `html` and `raw` make one. */
export class SafeHTML {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

/** What a template accepts: text (escaped), numbers, markup, lists of these; null/undefined/false render nothing. */
export type HTMLValue = SafeHTML | string | number | boolean | null | undefined | readonly HTMLValue[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for an element's content or a quoted attribute value. */
export function escapeHTML(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

function render(value: HTMLValue): string {
  if (value instanceof SafeHTML) return value.value;
  if (value === null || value === undefined || value === false || value === true) return '';
  if (typeof value === 'number') return escapeHTML(String(value));
  if (Array.isArray(value)) return (value as readonly HTMLValue[]).map(render).join('');
  // Strings, and anything a caller slipped past the types: escaped as text.
  return escapeHTML(String(value));
}

/** Tagged template: `html\`<p>${name}</p>\`` escapes `name`. */
export function html(strings: TemplateStringsArray, ...values: HTMLValue[]): SafeHTML {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHTML(out);
}

/** Marks markup we generated ourselves as safe. Never pass it anything a user typed. */
export function raw(markup: string): SafeHTML {
  return new SafeHTML(markup);
}
