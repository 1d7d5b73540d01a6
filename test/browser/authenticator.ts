/** An authenticator app in the test: reads the QR code off the screen and shows codes. */
import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import jsQRModule from 'jsqr';
import type { Locator } from 'playwright-core';
import { PNG } from 'pngjs';
import { createOTPKey, generateTOTP, getTOTPStep, parseKeyURI } from '../../src/otp/index.ts';
import type { KeyURI } from '../../src/otp/index.ts';

// jsqr's CommonJS build exports the function itself; its typings claim an ES default export.
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;

/** The text of the QR code in an element, from a screenshot of it (as a phone camera sees it). */
export async function readQRCode(element: Locator): Promise<string> {
  const png = PNG.sync.read(await element.screenshot());
  const found = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength), png.width, png.height);
  assert.ok(found, 'no QR code found in the screenshot');
  return found.data;
}

export class Authenticator {
  readonly uri: KeyURI;
  readonly #key: KeyObject;
  #lastStep = -1;

  constructor(otpauthURI: string) {
    this.uri = parseKeyURI(otpauthURI);
    this.#key = createOTPKey(this.uri.secret);
  }

  static async scan(qrCode: Locator): Promise<Authenticator> {
    return new Authenticator(await readQRCode(qrCode));
  }

  #options() {
    return { periodInSeconds: this.uri.periodInSeconds, digits: this.uri.digits, algorithm: this.uri.algorithm };
  }

  /** The code for a moment, used or not (for codes meant to be refused). */
  codeAt(ms: number): string {
    return generateTOTP(this.#key, ms, this.#options());
  }

  /**
   * A code the server accepts, each step at most once (it refuses a replay): this step's,
   * or the next one's when this one was used, which its window of one step allows
   * (RFC 6238 §5.2). Only a third use within one step waits for the clock.
   */
  async nextCode(): Promise<string> {
    const periodMs = this.uri.periodInSeconds * 1000;
    const step = Math.max(getTOTPStep(Date.now(), this.#options()), this.#lastStep + 1);
    const acceptableFrom = (step - 1) * periodMs;
    if (Date.now() < acceptableFrom) await delay(acceptableFrom - Date.now());
    this.#lastStep = step;
    return generateTOTP(this.#key, step * periodMs, this.#options());
  }
}
