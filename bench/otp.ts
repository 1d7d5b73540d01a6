// TOTP generate and verify: otpgate against otplib v13, otpauth and speakeasy, each used the way
// its documentation shows, plus one raw node:crypto HMAC as the floor.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import * as otplib from 'otplib';
import { Secret, TOTP } from 'otpauth';
import { createOTPKey, encodeBase32, generateSecret, generateTOTP, verifyTOTP } from '../src/otp/index.ts';
import { defineSuite } from './lib.ts';
import type { BenchGroup } from './lib.ts';

// speakeasy ships no types; this is the part of its API used here.
interface Speakeasy {
  totp: ((options: { secret: string; encoding: 'base32'; time: number }) => string) & {
    verify: (options: { secret: string; encoding: 'base32'; token: string; time: number; window: number }) => boolean;
  };
}
const speakeasy = createRequire(import.meta.url)('speakeasy') as Speakeasy;

// A fixed server time 10 s into a step, so every library sees the same window of three steps.
const NOW_IN_SECONDS = 1_735_689_610;
const NOW = NOW_IN_SECONDS * 1000;
const PERIOD_IN_SECONDS = 30;

function setup(): BenchGroup[] {
  const secret = generateSecret();
  const secretBase32 = encodeBase32(secret, { padding: false });
  // A server keeps one KeyObject per enrolled factor and reuses it.
  const key = createOTPKey(secret);
  const totp = new TOTP({ secret: new Secret({ buffer: Uint8Array.from(secret).buffer }), algorithm: 'SHA1', digits: 6, period: PERIOD_IN_SECONDS });

  const right = generateTOTP(key, NOW);
  const window = [-1, 0, 1].map((offset) => generateTOTP(key, NOW + offset * PERIOD_IN_SECONDS * 1000));
  let wrongNumber = 0;
  while (window.includes(String(wrongNumber).padStart(6, '0'))) wrongNumber++;
  const wrong = String(wrongNumber).padStart(6, '0');

  const floorMessage = Buffer.alloc(8);
  floorMessage.writeUInt32BE(Math.floor(NOW_IN_SECONDS / PERIOD_IN_SECONDS), 4);

  // otplib v13's documented call: async, base32 secret, tolerance in seconds (30 s = one step either side).
  const otplibVerify = (token: string): ReturnType<typeof otplib.verify> =>
    otplib.verify({ secret: secretBase32, token, epoch: NOW_IN_SECONDS, epochTolerance: PERIOD_IN_SECONDS });
  const otplibVerifySync = (token: string): ReturnType<typeof otplib.verifySync> =>
    otplib.verifySync({ secret: secretBase32, token, epoch: NOW_IN_SECONDS, epochTolerance: PERIOD_IN_SECONDS });

  const verifyGroup = (name: string, token: string, valid: boolean): BenchGroup => ({
    name,
    cases: [
      {
        name: 'otpgate (KeyObject reused)',
        role: 'subject',
        run: () => verifyTOTP(key, token, NOW),
        check: () => assert.equal(verifyTOTP(key, token, NOW) !== null, valid),
      },
      {
        name: 'otplib v13 (await verify)',
        role: 'peer',
        run: () => otplibVerify(token),
        check: async () => assert.equal((await otplibVerify(token)).valid, valid),
      },
      {
        name: 'otplib v13 (verifySync)',
        role: 'peer',
        run: () => otplibVerifySync(token),
        check: () => assert.equal(otplibVerifySync(token).valid, valid),
      },
      {
        name: 'otpauth (TOTP instance)',
        role: 'peer',
        run: () => totp.validate({ token, timestamp: NOW, window: 1 }),
        check: () => assert.equal(totp.validate({ token, timestamp: NOW, window: 1 }) !== null, valid),
      },
      {
        name: 'speakeasy',
        role: 'peer',
        run: () => speakeasy.totp.verify({ secret: secretBase32, encoding: 'base32', token, time: NOW_IN_SECONDS, window: 1 }),
        check: () => assert.equal(speakeasy.totp.verify({ secret: secretBase32, encoding: 'base32', token, time: NOW_IN_SECONDS, window: 1 }), valid),
      },
    ],
  });

  return [
    {
      name: 'TOTP generate',
      cases: [
        { name: 'otpgate (KeyObject reused)', role: 'subject', run: () => generateTOTP(key, NOW), check: () => assert.equal(generateTOTP(key, NOW), right) },
        {
          name: 'otplib v13 (await generate)',
          role: 'peer',
          run: () => otplib.generate({ secret: secretBase32, epoch: NOW_IN_SECONDS }),
          check: async () => assert.equal(await otplib.generate({ secret: secretBase32, epoch: NOW_IN_SECONDS }), right),
        },
        {
          name: 'otplib v13 (generateSync)',
          role: 'peer',
          run: () => otplib.generateSync({ secret: secretBase32, epoch: NOW_IN_SECONDS }),
          check: () => assert.equal(otplib.generateSync({ secret: secretBase32, epoch: NOW_IN_SECONDS }), right),
        },
        { name: 'otpauth (TOTP instance)', role: 'peer', run: () => totp.generate({ timestamp: NOW }), check: () => assert.equal(totp.generate({ timestamp: NOW }), right) },
        {
          name: 'speakeasy',
          role: 'peer',
          run: () => speakeasy.totp({ secret: secretBase32, encoding: 'base32', time: NOW_IN_SECONDS }),
          check: () => assert.equal(speakeasy.totp({ secret: secretBase32, encoding: 'base32', time: NOW_IN_SECONDS }), right),
        },
        {
          name: 'node:crypto, 1 HMAC-SHA1, KeyObject reused',
          role: 'baseline',
          run: () => createHmac('sha1', key).update(floorMessage).digest(),
        },
      ],
    },
    verifyGroup('TOTP verify, right code', right, true),
    verifyGroup('TOTP verify, wrong code (3 steps)', wrong, false),
  ];
}

/** The OTP core's speed against the libraries people would otherwise use. */
export const otpSuite = defineSuite({
  name: 'otp',
  description: 'TOTP generate and verify (SHA-1, 6 digits, 30 s, window ±1)',
  setup,
});
