import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { describeDuration, describeUserAgent, driftHint, input } from './components.ts';
import { describeAuditEvent } from './audit-labels.ts';
import { checkQRCodeSVG, groupKey } from './totp-pages.ts';
import { recoveryCodesDataURL, recoveryCodesText } from './recovery-codes-page.ts';
import { createQRCodeSVG } from '../../otp/index.ts';

void describe('view components', () => {
  void test('driftHint() says how far and which way the clock is off', () => {
    assert.equal(driftHint(-240), "Your authenticator's clock seems about 4 minutes behind — check the time settings on your device");
    assert.equal(driftHint(60), "Your authenticator's clock seems about 1 minute ahead — check the time settings on your device");
    assert.equal(describeDuration(600), 'about 10 minutes');
  });

  void test('input() ties the label and hint to the field and never echoes a password', () => {
    const out = input({ id: 'pw', name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', value: 'secret', hint: 'Hint' }).value;
    assert.match(out, /<label for="pw">Password<\/label>/);
    assert.match(out, /aria-describedby="pw-hint"/);
    assert.ok(!out.includes('secret'));
    assert.match(input({ id: 'u', name: 'username', label: 'U', autocomplete: 'username', value: '"x' }).value, /value="&quot;x"/);
  });

  void test('describeUserAgent() names common browsers and cuts unknown strings short', () => {
    assert.equal(describeUserAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 Edg/130.0'), 'Edge on Windows');
    assert.equal(describeUserAgent('Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15'), 'Safari on macOS');
    assert.equal(describeUserAgent(''), 'Unknown device');
    assert.equal(describeUserAgent('x'.repeat(100)).length, 58);
  });

  void test('describeAuditEvent() uses fixed texts and only harmless detail', () => {
    const base = { id: 1, at: 0, userId: 'u', ip: null, userAgent: null };
    assert.equal(describeAuditEvent({ ...base, type: 'login_succeeded', method: 'totp', detail: null }), 'Signed in with an authenticator app');
    assert.equal(describeAuditEvent({ ...base, type: 'factor_added', method: 'totp', detail: { label: 'Phone' } }), 'Authenticator added: Phone');
    assert.equal(describeAuditEvent({ ...base, type: 'something_new', method: null, detail: { secret: 'JBSWY3DPEHPK3PXP' } }), 'Other account event');
  });

  void test('groupKey() splits a base32 key into groups of four', () => {
    assert.equal(groupKey('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCD'), 'ABCD EFGH IJKL MNOP QRST UVWX YZ23 4567 ABCD');
    assert.equal(groupKey('ABCDEF'), 'ABCD EF');
  });

  void test('recovery codes download: a data: URL whose text holds every code', () => {
    const text = recoveryCodesText({ codes: ['aaaa-bbbb-cccc-dddd', 'eeee-ffff-gggg-hhhh'], accountName: 'a&b', generatedAt: 0, firstFactor: false }, 'otpgate');
    const url = recoveryCodesDataURL(text);
    assert.ok(url.startsWith('data:text/plain;charset=utf-8,'));
    assert.equal(decodeURIComponent(url.slice(url.indexOf(',') + 1)), text);
    assert.match(text, /aaaa-bbbb-cccc-dddd\neeee-ffff-gggg-hhhh\n$/);
  });
});

void describe('checkQRCodeSVG()', () => {
  void test('accepts the QR code library\'s own SVG', async () => {
    const svg = await createQRCodeSVG('otpauth://totp/otpgate:alice?secret=JBSWY3DPEHPK3PXP&issuer=otpgate');
    assert.equal(checkQRCodeSVG(svg).value, svg.trim());
  });

  void test('refuses anything scriptable or foreign', () => {
    for (const bad of [
      '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><path d="M0 0"/></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject></foreignObject></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0" style="x"/></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0"/>text</svg>',
      '<p>not svg</p>',
      '<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0"/><a href="javascript:x"></a></svg>',
    ]) {
      assert.throws(() => checkQRCodeSVG(bad), TypeError, bad);
    }
  });
});
