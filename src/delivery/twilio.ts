/**
 * SMS through Twilio's Messages API (or any provider that speaks it): a form POST to
 * `/2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP Basic auth.
 *
 * Never retried: the API has no idempotency key, so a request that may have reached
 * Twilio could send the same code twice and bill twice. The person can ask for a new
 * code instead, within the engine's resend limits.
 */
import type { DeliveryChannel, OutgoingMessage, Sender } from '../auth/ports.ts';
import { DeliveryError, isE164 } from './errors.ts';
import { post } from './http-post.ts';

const TIMEOUT_MS = 10_000;
const API = new URL('https://api.twilio.com');

export interface TwilioOptions {
  accountSID: string;
  authToken: string;
  /** An E.164 number, or a Messaging Service SID (`MG…`). */
  from: string;
  /** Only for tests: a loopback server standing in for api.twilio.com. */
  baseURL?: URL;
  timeoutMs?: number;
}

export function createTwilioSender(options: TwilioOptions): Sender {
  const base = options.baseURL ?? API;
  const url = new URL(`/2010-04-01/Accounts/${encodeURIComponent(options.accountSID)}/Messages.json`, base);
  const authorization = `Basic ${Buffer.from(`${options.accountSID}:${options.authToken}`).toString('base64')}`;
  const sender: [string, string] = options.from.startsWith('MG') ? ['MessagingServiceSid', options.from] : ['From', options.from];

  return {
    supports: (channel: DeliveryChannel) => channel === 'sms',
    async send(message: OutgoingMessage): Promise<void> {
      if (message.channel !== 'sms') throw new DeliveryError('twilio', 'no_sender', `cannot deliver ${message.channel}`);
      if (!isE164(message.to)) throw new DeliveryError('twilio', 'invalid_recipient', 'the number is not in E.164 form');
      const body = new URLSearchParams([['To', message.to], sender, ['Body', message.text]]).toString();
      const response = await post('twilio', url, {
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          'user-agent': 'otpgate',
          authorization,
        },
        body,
      }, options.timeoutMs ?? TIMEOUT_MS);
      if (response.status >= 200 && response.status < 300) return;
      // Twilio's numeric error code says what was wrong; its message text may quote the number, so it is left out.
      const twilioCode = errorCodeOf(response.body);
      const detail = `HTTP ${response.status}${twilioCode === undefined ? '' : `, Twilio error ${twilioCode}`} (${url.host})`;
      const code = response.status === 401 || response.status === 403 ? 'auth_failed'
        : response.status === 429 || response.status >= 500 ? 'unavailable'
          : response.status >= 400 ? 'rejected' : 'protocol_error';
      throw new DeliveryError('twilio', code, detail);
    },
  };
}

function errorCodeOf(body: string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && 'code' in parsed) {
      const { code } = parsed;
      if (typeof code === 'number' && Number.isInteger(code)) return code;
    }
  } catch {
    // not JSON: no code to report
  }
  return undefined;
}
