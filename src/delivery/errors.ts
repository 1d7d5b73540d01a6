/**
 * The one error every sender throws. Its message is written here, from facts the sender
 * knows (transport, host, status), never from the message being sent: the engine hands
 * it to `onDeliveryError`, which the server logs, and a log must not hold a code (I1).
 */

/** Why a delivery failed; stable, for logs, metrics and tests. */
export const DELIVERY_ERROR_CODES = [
  /** Nothing is configured to deliver over the channel. */
  'no_sender',
  /** The recipient is not a valid address or E.164 number. */
  'invalid_recipient',
  'connection_refused',
  /** DNS failure, reset, unreachable network: the peer was not reached or dropped us. */
  'connection_failed',
  'timeout',
  /** TLS handshake failed, the certificate was not trusted, or STARTTLS was missing. */
  'tls_failed',
  'auth_failed',
  /** The peer refused the message for good (SMTP 5xx, HTTP 4xx). */
  'rejected',
  /** The peer failed or asked to try later (SMTP 4xx, HTTP 5xx). */
  'unavailable',
  /** The peer answered something unexpected. */
  'protocol_error',
] as const;
export type DeliveryErrorCode = (typeof DELIVERY_ERROR_CODES)[number];

export type DeliveryTransport = 'smtp' | 'sms-webhook' | 'twilio' | 'composite';

export class DeliveryError extends Error {
  readonly code: DeliveryErrorCode;
  readonly transport: DeliveryTransport;

  /** `detail` is a safe, one-line description such as `connection refused (127.0.0.1:2525)`. */
  constructor(transport: DeliveryTransport, code: DeliveryErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${transport}: ${detail}`, options);
    this.name = 'DeliveryError';
    this.transport = transport;
    this.code = code;
  }
}

/** E.164 (ITU-T): `+`, a country code not starting with 0, at most 15 digits; as the engine normalises. */
export function isE164(value: string): boolean {
  return /^\+[1-9]\d{7,14}$/.test(value);
}
