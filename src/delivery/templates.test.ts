import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHTML, renderEmail, textToHTML } from './templates.ts';

describe('escapeHTML()', () => {
  it('escapes the five HTML-significant characters', () => {
    assert.equal(escapeHTML(`<a href="x" title='y'>&</a>`), '&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
  });
});

describe('textToHTML()', () => {
  it('renders paragraphs, line breaks, and a four-space indented line as the large code', () => {
    const html = textToHTML('Subject', 'Your code is:\n\n    123456\n\nIt expires in 5 minutes.\nRequested from 192.0.2.1.');
    assert.match(html, /<p style="margin:0 0 16px">Your code is:<\/p>/);
    assert.match(html, /font-size:32px[^>]*user-select:all">123456<\/p>/);
    assert.match(html, /It expires in 5 minutes\.<br>\nRequested from 192\.0\.2\.1\.<\/p>/);
    assert.match(html, /<title>Subject<\/title>/);
  });

  it('never lets the text become markup', () => {
    const html = textToHTML('<i>s</i>', 'Browser: <script>alert(1)</script>\n    <img src=x onerror=alert(1)>');
    assert.ok(!/<script|<img|<i>/.test(html), html);
    assert.match(html, /&#60;script&#62;alert\(1\)&#60;\/script&#62;/);
  });
});

describe('renderEmail()', () => {
  it('keeps a subject on one line and derives the HTML from the text', () => {
    const bodies = renderEmail({ channel: 'email', to: 'a@example.test', kind: 'notification', subject: 'Hello\r\nBcc: x@example.test', text: 'Line one\r\nLine two' });
    assert.equal(bodies.subject, 'Hello Bcc: x@example.test');
    assert.equal(bodies.text, 'Line one\nLine two');
    assert.match(bodies.html, /Line one<br>\nLine two/);
  });

  it('uses the message\'s own HTML when it has one', () => {
    assert.equal(renderEmail({ channel: 'email', to: 'a@example.test', kind: 'code', subject: 's', text: 't', html: '<p>t</p>' }).html, '<p>t</p>');
  });
});
