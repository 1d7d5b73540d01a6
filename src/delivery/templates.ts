/**
 * Email bodies from the engine's plain-text messages. The text is the source; the HTML
 * part is derived from it by two conventions, so every message reads the same in both:
 *
 * - a blank line separates paragraphs; other line breaks stay line breaks;
 * - a line indented by four spaces is the thing to copy (a code): shown large, in a
 *   monospace face, alone in its paragraph.
 *
 * Every character of the text is escaped: a user agent or a label a person typed never
 * becomes markup. No links are added (a code never travels in a URL).
 */
import type { OutgoingMessage } from '../auth/ports.ts';

export interface EmailBodies {
  subject: string;
  text: string;
  html: string;
}

const FONT = `-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif`;
const MONO = `ui-monospace, 'SFMono-Regular', Menlo, Consolas, 'Liberation Mono', monospace`;

/** The subject, text and HTML of an email; the message's own `html` wins when it has one. */
export function renderEmail(message: OutgoingMessage): EmailBodies {
  const subject = message.subject.replace(/[\r\n]+/g, ' ').trim();
  const text = message.text.replace(/\r\n?/g, '\n');
  return { subject, text, html: message.html ?? textToHTML(subject, text) };
}

export function escapeHTML(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Renders text by the conventions above into a small, inline-styled HTML document. */
export function textToHTML(title: string, text: string): string {
  const blocks: string[] = [];
  for (const paragraph of text.split(/\n[ \t]*\n/)) {
    const lines = paragraph.split('\n').filter((line) => line.trim() !== '');
    if (lines.length === 0) continue;
    let plain: string[] = [];
    const flush = (): void => {
      if (plain.length > 0) blocks.push(`<p style="margin:0 0 16px">${plain.map(escapeHTML).join('<br>\n')}</p>`);
      plain = [];
    };
    for (const line of lines) {
      if (line.startsWith('    ')) {
        flush();
        blocks.push(
          `<p style="margin:8px 0 24px;font-family:${MONO};font-size:32px;font-weight:700;letter-spacing:4px;user-select:all">${escapeHTML(line.trim())}</p>`,
        );
      } else {
        plain.push(line);
      }
    }
    flush();
  }
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHTML(title)}</title></head>`,
    `<body style="margin:0;padding:24px;background:#ffffff;color:#1a1a1a;font-family:${FONT};font-size:16px;line-height:1.5">`,
    '<div style="max-width:560px;margin:0 auto">',
    ...blocks,
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
