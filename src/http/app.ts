/**
 * The HTTP application: Fastify with the cross-cutting parts every route relies on —
 * security headers (I9), JSON errors that reveal nothing (`{error, message}`), request
 * logs without bodies or query strings (I1), a 16 KiB body limit, and `GET /api/health`.
 * `build` never listens; main does. Routes come in as encapsulated plugins (`routes`).
 */
import Fastify from 'fastify';
import type {
  FastifyBaseLogger,
  FastifyError,
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
} from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from '../config.ts';
import { isLoopbackHost } from '../config.ts';
import { createPeerFilter } from './trusted-peers.ts';
import { ServerBusyError } from '../auth/index.ts';
import { createLogger, RequestLogController } from './logging.ts';
import { TLS_CIPHERS, TLS_MIN_VERSION } from './tls.ts';
import type { TLSMaterial } from './tls.ts';
import { notFoundPage } from './views/error-pages.ts';

export const BODY_LIMIT_BYTES = 16 * 1024;

export const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
} as const;

export const HSTS = 'max-age=31536000; includeSubDomains';

/** A route plugin, mounted as it is or under a prefix (e.g. `{ plugin: api, prefix: '/api' }`). */
export type RoutePlugin = FastifyPluginAsync | { plugin: FastifyPluginAsync; prefix?: string };

export interface BuildOptions {
  config: Config;
  /** Default: a pino logger with logging.ts's redaction at `config.logLevel`; `false` logs nothing. */
  logger?: FastifyBaseLogger | false;
  /** When given the server speaks HTTPS (TLS 1.2+) with this certificate; main loads it (tls.ts). */
  tls?: Pick<TLSMaterial, 'cert' | 'key'>;
  /** Registered in order after the cross-cutting hooks, so they inherit headers and error handling. */
  routes?: RoutePlugin[];
  /** Readiness probe for `GET /api/health` (e.g. a database ping); throwing answers 503. */
  healthCheck?: () => Promise<void>;
}

/** An error a route throws on purpose: its snake_case `code` and `message` reach the client. */
export interface ClientError extends Error {
  statusCode: number;
  code: string;
}

/** Builds the application without listening; call `listen` (main) or `inject` (tests). */
export async function build(options: BuildOptions): Promise<FastifyInstance> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  const serverOptions = {
    ...(logger === false ? {} : { loggerInstance: logger }),
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    bodyLimit: BODY_LIMIT_BYTES,
    // One line per request, when it completes, instead of Fastify's two.
    logController: new RequestLogController(),
    // Bounds slow clients when no proxy stands in front.
    requestTimeout: 30_000,
    // Unknown fields are refused, not silently dropped; no type coercion ("123" stays a string, 123 is refused).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // Errors the router meets before any route (a bad percent-encoding, an over-long
    // parameter) answer like every other error: our format and headers, no URL echoed.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const status = error.statusCode === 414 ? 414 : 400;
      const [code, message] = GENERIC_ERRORS[status] ?? ['invalid_request', 'The request was refused'];
      // No route matched, so the onSend hooks do not run: set the headers here.
      setSecurityHeaders(request, reply);
      void reply.header('cache-control', 'no-store').code(status).send({ error: code, message });
    },
    clientErrorHandler: answerClientError,
  };
  const app: FastifyInstance =
    options.tls === undefined
      ? Fastify(serverOptions)
      : Fastify({
          ...serverOptions,
          https: { cert: options.tls.cert, key: options.tls.key, minVersion: TLS_MIN_VERSION, ciphers: TLS_CIPHERS, honorCipherOrder: true },
        });

  // Clear text off loopback is allowed only behind the trusted proxies: nobody else is answered.
  if (config.tls.mode === 'off' && !isLoopbackHost(config.host)) {
    const trusted = createPeerFilter([...config.trustProxy, 'loopback']);
    app.addHook('onRequest', async (request, reply) => {
      if (trusted(request.socket.remoteAddress)) return;
      request.log.warn('refused a request from outside OTPGATE_TRUST_PROXY (TLS is off)');
      return reply.code(403).send({ error: 'forbidden', message: 'Only the trusted proxies may connect' });
    });
  }

  app.addHook('onSend', (request, reply, payload, done) => {
    setSecurityHeaders(request, reply);
    done(null, payload);
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    // Never echo the method or URL back (a TRACE must not reflect anything).
    if (wantsHTML(request)) return reply.code(404).type('text/html; charset=utf-8').send(notFoundPage(config.issuer));
    return reply.code(404).send({ error: 'not_found', message: 'Not found' });
  });

  app.get('/api/health', async (request, reply) => {
    try {
      await options.healthCheck?.();
    } catch (error) {
      request.log.error({ err: error }, 'health check failed');
      return reply.code(503).send({ status: 'unavailable' });
    }
    return reply.send({ status: 'ok' });
  });

  for (const route of options.routes ?? []) {
    if (typeof route === 'function') await app.register(route);
    else await app.register(route.plugin, route.prefix === undefined ? {} : { prefix: route.prefix });
  }
  return app;
}

/** A browser asking for a page (not under /api): it gets HTML errors instead of JSON. */
function wantsHTML(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && /\btext\/html\b/i.test(accept) && !/^\/api(?:[/?#]|$)/.test(request.url);
}

function setSecurityHeaders(request: FastifyRequest, reply: FastifyReply): void {
  // A route may set a stricter or page-specific value (e.g. a CSP with a nonce); keep it.
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    if (!reply.hasHeader(name)) reply.header(name, value);
  }
  reply.header('x-content-type-options', 'nosniff');
  // request.protocol is https over TLS, or when a trusted proxy says so (X-Forwarded-Proto).
  if (request.protocol === 'https') reply.header('strict-transport-security', HSTS);
  // API answers are never cached; elsewhere no-store unless a route chose (static assets).
  if (/^\/api(?:[/?#]|$)/.test(request.url) || !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
}

const GENERIC_ERRORS: Record<number, readonly [code: string, message: string]> = {
  400: ['invalid_request', 'The request is malformed'],
  401: ['unauthenticated', 'Authentication required'],
  403: ['forbidden', 'Forbidden'],
  404: ['not_found', 'Not found'],
  405: ['method_not_allowed', 'Method not allowed'],
  406: ['not_acceptable', 'Not acceptable'],
  408: ['request_timeout', 'Request timed out'],
  409: ['conflict', 'Conflict'],
  411: ['length_required', 'Content-Length required'],
  413: ['payload_too_large', 'Request body is too large'],
  414: ['uri_too_long', 'URL is too long'],
  415: ['unsupported_media_type', 'Unsupported Content-Type'],
  429: ['rate_limited', 'Too many requests'],
  431: ['headers_too_large', 'Request headers are too large'],
};

/** Maps any error to `{error, message}`: 4xx say which rule, 5xx say nothing; the detail goes to the log only. */
function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const raw = (error as Partial<FastifyError> | undefined)?.statusCode;
  const status = typeof raw === 'number' && raw >= 400 && raw <= 599 ? raw : 500;
  if (error instanceof ServerBusyError) {
    // Counted: one warning per refused request, so an operator sees the queue overflow.
    request.log.warn({ errorCode: error.code }, 'password hashing queue full; answered 503');
    return reply.code(503).header('retry-after', String(error.retryAfterSeconds)).send({ error: error.code, message: 'The server is busy; try again in a moment' });
  }
  if (status >= 500) {
    request.log.error({ err: error }, 'request failed');
    // The operator's missing secret key (auth/keyring.ts): the log names its id; the client learns only to retry later.
    if (error.code === 'key_unavailable') {
      return reply.code(503).send({ error: 'key_unavailable', message: 'Sign-in is unavailable because of a server configuration problem; try again later' });
    }
    return reply.code(status).send({ error: 'internal_error', message: 'Something went wrong' });
  }
  // Not the error itself: a JSON parse message quotes the body, which may hold a password.
  request.log.info({ statusCode: status, errorCode: error.code }, 'request rejected');
  return reply.code(status).send(describeClientError(error, status));
}

function describeClientError(error: FastifyError, status: number): { error: string; message: string } {
  if (typeof error.code === 'string' && /^[a-z][a-z0-9_]*$/.test(error.code)) {
    return { error: error.code, message: error.message }; // a ClientError thrown on purpose
  }
  const [code, message] = GENERIC_ERRORS[status] ?? ['invalid_request', 'The request was refused'];
  if (status !== 400) return { error: code, message };
  // Schema validation messages name the field and the rule, never the value sent.
  if (error.validation !== undefined) return { error: code, message: error.message };
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return { error: code, message: 'The request body is empty' };
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) {
    return { error: code, message: 'The request body is not valid JSON' };
  }
  return { error: code, message };
}

/**
 * Requests Node's HTTP parser refused (oversized headers, garbage): answered on the raw
 * socket with our format and headers, and `Connection: close`, since the socket ends.
 */
function answerClientError(failure: Error, socket: Duplex): void {
  const error = failure as NodeJS.ErrnoException & { rawPacket?: Buffer };
  if (error.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const [code, message] = GENERIC_ERRORS[status] ?? ['invalid_request', 'The request was refused'];
  // The body goes only where the refused packet shows a request line that is not HEAD
  // (an answer to HEAD has none; a later packet of a long request shows no method).
  const start = error.rawPacket?.subarray(0, 8).toString('latin1') ?? '';
  const body = /^(?!HEAD )[A-Z]+ \//.test(start) ? JSON.stringify({ error: code, message }) : '';
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
    'cache-control': 'no-store',
    ...SECURITY_HEADERS,
    ...('encrypted' in socket && socket.encrypted === true ? { 'strict-transport-security': HSTS } : {}),
  };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}`).join('\r\n');
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${head}\r\n\r\n${body}`);
}
