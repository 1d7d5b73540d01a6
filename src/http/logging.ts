/**
 * Log options (pino). I1: no password, code, secret, token, cookie or body reaches a log
 * line. The serializers log a request as method, path (never the query string), client
 * address and status; the redaction list blanks secret-bearing fields wherever a log
 * call passes them, up to two levels deep, as a second line of defence.
 */
import { isIP } from 'node:net';
import { LogController } from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pino } from 'pino';
import type { DestinationStream, Logger, LoggerOptions } from 'pino';
import type { LogLevel } from '../config.ts';

export const REDACTED = '[redacted]';

/** Field names whose values never reach a log line. */
export const SECRET_FIELDS = [
  'password',
  'currentPassword',
  'current_password',
  'newPassword',
  'new_password',
  'code',
  'secret',
  'secretKey',
  'secret_key',
  'token',
  'sessionToken',
  'session_token',
  'recovery_codes',
  'recoveryCodes',
  'otpauth_uri',
  'otpauthURI',
  'qr_svg',
  'cookie',
  'authorization',
  'webhookSecret',
  'body',
] as const;

/** pino redaction paths: the headers by name, then each secret field at the top level and two levels down. */
export const REDACT_PATHS: string[] = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  'headers["set-cookie"]',
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
];

/** What a request is logged as. Accepts a FastifyRequest or a bare IncomingMessage. */
interface RequestLike {
  method?: string;
  url?: string;
  ip?: string;
  socket?: { remoteAddress?: string } | null;
}

/** The request as logged: method, path without the query (it may carry tokens), client address. */
export function serializeRequest(request: RequestLike): { method?: string; url?: string; remoteAddress?: string } {
  return {
    method: request.method,
    url: request.url === undefined ? undefined : pathOnly(request.url),
    // A forwarded value that is not an address is the client's own text: log the socket's.
    remoteAddress: request.ip !== undefined && isIP(request.ip) !== 0 ? request.ip : request.socket?.remoteAddress,
  };
}

/** The response as logged: only the status. */
export function serializeResponse(reply: { statusCode?: number }): { statusCode?: number } {
  return { statusCode: reply.statusCode };
}

/** Errors keep type, message and stack; their `code` (e.g. SQLITE_BUSY) is renamed so `*.code` redaction spares it. */
export function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const { code, ...rest } = pino.stdSerializers.err(error) as pino.SerializedError & { code?: unknown };
  return code === undefined ? rest : { ...rest, errorCode: code };
}

function pathOnly(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

/** pino options for the server's logger at `level`. */
export function createLoggerOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: { req: serializeRequest, res: serializeResponse, err: serializeError },
  };
}

/**
 * The server's logger: JSON lines to `destination` (standard output by default).
 * @example createLogger('info').info({ user: { password: 'x' } }, 'hi') // password logged as "[redacted]"
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(createLoggerOptions(level), destination);
}

/** Logs each request once, when it completes: method, path, status, client address, response time in ms. */
export class RequestLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    const entry = { req: request, res: reply, responseTime: Math.round(reply.elapsedTime) };
    if (error) reply.log.error({ ...entry, err: error }, 'request errored');
    else reply.log.info(entry, 'request completed');
  }
}
