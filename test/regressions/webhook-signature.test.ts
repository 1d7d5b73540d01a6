/**
 * Issue 12, finding 11 (the SMS webhook part): the signature did not cover the
 * Idempotency-Key, so anyone replaying a captured request within the 300-s window could
 * pick a fresh key and have the receiver send the same SMS again.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createSMSWebhookSender } from '../../src/delivery/sms-webhook.ts';
import type { OutgoingMessage } from '../../src/auth/index.ts';
import { answer, startReceiver } from '../delivery/helpers.ts';
import type { Receiver } from '../delivery/helpers.ts';

const SECRET = 'whsec-0123456789abcdef';
const sms: OutgoingMessage = { channel: 'sms', to: '+14155550123', kind: 'code', subject: '', text: '402913 is your otpgate sign-in code.' };

/** A receiver's check as the README's steps now tell it: HMAC over `<t>.<Idempotency-Key>.<raw body>`, sent as `v2`. */
function verify(header: string, idempotencyKey: string, rawBody: string): boolean {
  const fields = new Map(header.split(',').map((pair) => pair.split('=', 2) as [string, string]));
  const t = fields.get('t') ?? '';
  const given = Buffer.from(fields.get('v2') ?? '');
  const expected = Buffer.from(createHmac('sha256', SECRET).update(`${t}.${idempotencyKey}.${rawBody}`).digest('hex'));
  return expected.length === given.length && timingSafeEqual(expected, given);
}

let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

describe('finding 11: the SMS webhook signature covers the Idempotency-Key', () => {
  it('finding 11: a receiver verifying <t>.<Idempotency-Key>.<raw body> accepts the request, and refuses it with any other key', async () => {
    receiver = await startReceiver((_req, _i, res) => answer(res, 204));
    await createSMSWebhookSender({ url: receiver.url, secret: SECRET }).send(sms);
    const [request] = receiver.requests;
    assert.ok(request);
    const header = String(request.headers['x-otpgate-signature']);
    const key = String(request.headers['idempotency-key']);
    assert.match(header, /^t=\d+,v2=[0-9a-f]{64}$/);
    assert.ok(verify(header, key, request.body), 'the signed key verifies');
    assert.ok(!verify(header, '0b8d6a3e-4f0e-4c38-9a57-2b1f8f6f2a41', request.body), 'a replay with a fresh key fails');
    assert.ok(!verify(header, key, request.body.replace('+1415', '+1416')), 'a changed body fails');
  });

  it('finding 11: a retry keeps its key and is signed over it again', async () => {
    receiver = await startReceiver((_req, i, res) => answer(res, i === 0 ? 503 : 202));
    await createSMSWebhookSender({ url: receiver.url, secret: SECRET, retryDelayMs: 0 }).send(sms);
    assert.equal(receiver.requests.length, 2);
    for (const request of receiver.requests) {
      assert.ok(verify(String(request.headers['x-otpgate-signature']), String(request.headers['idempotency-key']), request.body));
    }
    assert.equal(receiver.requests[0]?.headers['idempotency-key'], receiver.requests[1]?.headers['idempotency-key']);
  });
});
