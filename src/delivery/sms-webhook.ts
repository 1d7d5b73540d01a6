/**
 * SMS through your own HTTP endpoint (OTPGATE_SMS_WEBHOOK_URL): otpgate POSTs each
 * message as JSON and the receiver hands it to whatever SMS gateway it likes.
 *
 *     POST /your/path HTTP/1.1
 *     Content-Type: application/json
 *     X-Otpgate-Signature: t=1767268800,v2=6f1c…(64 hex digits)
 *     Idempotency-Key: 0b8d6a3e-4f0e-4c38-9a57-2b1f8f6f2a41
 *
 *     {"to":"+14155550123","text":"123456 is your otpgate sign-in code. …"}
 *
 * How a receiver verifies a request:
 *  1. Keep the raw body bytes; verify before parsing the JSON.
 *  2. From X-Otpgate-Signature take `t` (Unix seconds) and `v2` (hex).
 *  3. Refuse when `t` is more than 300 seconds away from your clock (replay).
 *  4. Compute HMAC-SHA256 with the shared secret (OTPGATE_SMS_WEBHOOK_SECRET, its
 *     UTF-8 bytes) over `<t>.<Idempotency-Key>.<raw body>`, hex-encode it, and compare
 *     it with `v2` in constant time (Node: crypto.timingSafeEqual on two equal-length
 *     buffers). The key is signed so a replay cannot pass as a new message by changing
 *     it. (`v1`, used before, signed `<t>.<raw body>` only and is no longer sent.)
 *  5. Send each Idempotency-Key at most once (remember keys for at least 10 minutes):
 *     a retry of the same message carries the same key and body, with a new `t`.
 *  6. Answer 2xx once the SMS is accepted. A 4xx is final; a 5xx or a network error
 *     is retried once; no answer within 10 seconds counts as failed, not retried.
 *
 * The body holds a live code: serve the endpoint over HTTPS (config refuses http://
 * except on loopback) and never log the body.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { DeliveryChannel, OutgoingMessage, Sender } from '../auth/ports.ts';
import { DeliveryError, isE164 } from './errors.ts';
import { post } from './http-post.ts';

export const SIGNATURE_HEADER = 'X-Otpgate-Signature';
const TIMEOUT_MS = 10_000;
const RETRY_DELAY_MS = 250;

export interface SMSWebhookOptions {
  url: URL;
  /** The HMAC-SHA256 key. */
  secret: string;
  /** Per request; tests shorten it. */
  timeoutMs?: number;
  retryDelayMs?: number;
  /** Milliseconds since the epoch, for `t`. */
  clock?: () => number;
}

/** The X-Otpgate-Signature value for `body` sent with `idempotencyKey` at `timestamp` (Unix seconds). */
export function signWebhookBody(secret: string, timestamp: number, idempotencyKey: string, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${idempotencyKey}.${body}`).digest('hex');
  return `t=${timestamp},v2=${mac}`;
}

export function createSMSWebhookSender(options: SMSWebhookOptions): Sender {
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  const retryDelayMs = options.retryDelayMs ?? RETRY_DELAY_MS;
  const clock = options.clock ?? Date.now;

  async function attempt(body: string, idempotencyKey: string): Promise<number> {
    const timestamp = Math.floor(clock() / 1000);
    const response = await post('sms-webhook', options.url, {
      headers: {
        'content-type': 'application/json',
        'user-agent': 'otpgate',
        [SIGNATURE_HEADER.toLowerCase()]: signWebhookBody(options.secret, timestamp, idempotencyKey, body),
        'idempotency-key': idempotencyKey,
      },
      body,
    }, timeoutMs);
    return response.status;
  }

  return {
    supports: (channel: DeliveryChannel) => channel === 'sms',
    async send(message: OutgoingMessage): Promise<void> {
      if (message.channel !== 'sms') throw new DeliveryError('sms-webhook', 'no_sender', `cannot deliver ${message.channel}`);
      if (!isE164(message.to)) throw new DeliveryError('sms-webhook', 'invalid_recipient', 'the number is not in E.164 form');
      const body = JSON.stringify({ to: message.to, text: message.text });
      // One key per message: the receiver drops a retry it already delivered.
      const idempotencyKey = randomUUID();
      let status: number;
      try {
        status = await attempt(body, idempotencyKey);
      } catch (error) {
        // Retry only where nothing may have been sent twice without the key noticing; a
        // timeout is not retried: the person is waiting, and a slow receiver stays slow.
        if (!(error instanceof DeliveryError) || (error.code !== 'connection_refused' && error.code !== 'connection_failed')) throw error;
        await delay(retryDelayMs);
        status = await attempt(body, idempotencyKey);
      }
      if (status >= 500) {
        await delay(retryDelayMs);
        status = await attempt(body, idempotencyKey);
        if (status >= 500) throw new DeliveryError('sms-webhook', 'unavailable', `HTTP ${status} twice (${options.url.host})`);
      }
      if (status >= 200 && status < 300) return;
      throw new DeliveryError('sms-webhook', status >= 400 ? 'rejected' : 'protocol_error', `HTTP ${status} (${options.url.host})`);
    },
  };
}

function delay(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
