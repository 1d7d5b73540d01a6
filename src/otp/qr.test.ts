import assert from 'node:assert/strict';
import { test } from 'node:test';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { createKeyURI } from './key-uri.ts';
import { createQRCodeDataURL, createQRCodeSVG } from './qr.ts';

// jsqr's CommonJS build exports the function itself; its typings claim an ES default export.
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;

const uri = createKeyURI({ issuer: 'ACME Co', accountName: 'alice@example.com', secret: new TextEncoder().encode('12345678901234567890') });

test('createQRCodeDataURL() encodes text that a QR reader decodes back', async () => {
  const dataURL = await createQRCodeDataURL(uri);
  const prefix = 'data:image/png;base64,';
  assert.ok(dataURL.startsWith(prefix));
  const png = PNG.sync.read(Buffer.from(dataURL.slice(prefix.length), 'base64'));
  const decoded = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength), png.width, png.height);
  assert.ok(decoded, 'jsQR found no QR code');
  assert.equal(decoded.data, uri);
});

test('createQRCodeSVG() returns SVG markup', async () => {
  const svg = await createQRCodeSVG(uri);
  assert.match(svg, /^<svg[\s>]/);
  assert.match(svg, /<\/svg>\s*$/);
});
