/** One HTTP POST for the SMS senders: a deadline, no redirects, and failures as DeliveryErrors with safe messages. */
import type { ReadableStream } from 'node:stream/web';
import type { DeliveryErrorCode, DeliveryTransport } from './errors.ts';
import { DeliveryError } from './errors.ts';

/** Bytes of a response body kept (enough for a provider's JSON error). */
const BODY_LIMIT = 16 * 1024;

export interface PostResponse {
  status: number;
  /** The start of the body, as text. */
  body: string;
}

/**
 * POSTs `body` to `url` and reads the answer, all within `timeoutMs`. Throws a
 * DeliveryError whose message names the host only: a URL's path and query may hold a
 * token, and the body holds the message.
 */
export async function post(
  transport: DeliveryTransport,
  url: URL,
  init: { headers: Record<string, string>; body: string },
  timeoutMs: number,
): Promise<PostResponse> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: init.headers,
      body: init.body,
      // A redirect would carry the signed message to wherever the receiver points.
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.status, body: await readLimited(response) };
  } catch (error) {
    throw networkError(transport, url, error, timeoutMs);
  }
}

async function readLimited(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    if (text.length >= BODY_LIMIT) {
      await reader.cancel();
      break;
    }
  }
  return text.slice(0, BODY_LIMIT);
}

const CODES: Record<string, [DeliveryErrorCode, string]> = {
  ECONNREFUSED: ['connection_refused', 'connection refused'],
  ECONNRESET: ['connection_failed', 'connection reset'],
  EPIPE: ['connection_failed', 'connection reset'],
  ENOTFOUND: ['connection_failed', 'host not found'],
  EAI_AGAIN: ['connection_failed', 'host not found (DNS)'],
  EHOSTUNREACH: ['connection_failed', 'host unreachable'],
  ENETUNREACH: ['connection_failed', 'network unreachable'],
  ETIMEDOUT: ['timeout', 'connection timed out'],
  UND_ERR_CONNECT_TIMEOUT: ['timeout', 'connection timed out'],
  UND_ERR_SOCKET: ['connection_failed', 'connection closed by the server'],
};

/**
 * Maps what fetch throws to a DeliveryError with a sanitised one-line message. The
 * original is not kept as `cause`: fetch quotes the whole URL in some errors (with its
 * `user:password@` and query), and the log prints a cause whole.
 */
function networkError(transport: DeliveryTransport, url: URL, error: unknown, timeoutMs: number): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const where = `(${url.host})`;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new DeliveryError(transport, 'timeout', `no answer within ${timeoutMs} ms ${where}`);
  }
  // fetch reports every network failure as TypeError('fetch failed') with the socket error as cause.
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error && /redirect/i.test(cause.message)) {
    return new DeliveryError(transport, 'protocol_error', `answered with a redirect, which is not followed ${where}`);
  }
  if (error instanceof Error && /credentials/i.test(error.message)) {
    return new DeliveryError(transport, 'protocol_error', `the URL holds a user name or password, which fetch refuses ${where}`);
  }
  const code = errorCode(cause) ?? errorCode(error);
  const known = code === undefined ? undefined : CODES[code];
  if (known) return new DeliveryError(transport, known[0], `${known[1]} ${where}`);
  if (code !== undefined && (/CERT|SSL|TLS|SELF_SIGNED|ALTNAME/.test(code))) {
    return new DeliveryError(transport, 'tls_failed', `TLS failed: ${code} ${where}`);
  }
  return new DeliveryError(transport, 'connection_failed', `request failed${code === undefined ? '' : `: ${code}`} ${where}`);
}

function errorCode(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || !('code' in value)) return undefined;
  const { code } = value;
  return typeof code === 'string' && /^[A-Z0-9_]{2,64}$/.test(code) ? code : undefined;
}
