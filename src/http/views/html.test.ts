import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { SafeHTML, escapeHTML, html, raw } from './html.ts';

void describe('html``', () => {
  void test('html`` escapes every interpolated string, in text and in attributes', () => {
    const evil = `"><script>alert('x')</script>&`;
    const out = html`<p title="${evil}">${evil}</p>`.value;
    assert.equal(out, '<p title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</p>');
    assert.ok(!out.includes('<script'));
  });

  void test('html`` inserts nested templates and raw() markup as they are', () => {
    const inner = html`<b>${'<i>'}</b>`;
    assert.equal(html`<p>${inner}${raw('<svg></svg>')}</p>`.value, '<p><b>&lt;i&gt;</b><svg></svg></p>');
  });

  void test('html`` joins arrays and renders null, undefined and booleans as nothing', () => {
    assert.equal(html`${['a<', html`<br>`, 3]}|${null}|${undefined}|${false}|${true}|${0}`.value, 'a&lt;<br>3|||||0');
  });

  void test('a plain object posing as markup is not trusted', () => {
    const fake = { value: '<script>x</script>' } as unknown as SafeHTML;
    assert.ok(!(fake instanceof SafeHTML));
    assert.ok(!html`${fake}`.value.includes('<script>'));
  });

  void test('escapeHTML() escapes the five significant characters and nothing else', () => {
    assert.equal(escapeHTML(`&<>"' é ✓`), '&amp;&lt;&gt;&quot;&#39; é ✓');
  });
});
