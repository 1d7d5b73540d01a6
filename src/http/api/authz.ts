/**
 * The forward-auth gate, Authelia-compatible in paths, headers and statuses:
 *
 *   /api/authz/auth-request   nginx `auth_request`: X-Original-URL, X-Original-Method
 *   /api/authz/forward-auth   Traefik `forwardAuth`, Caddy `forward_auth`:
 *                             X-Forwarded-Proto, -Host, -Uri, -Method
 *
 * 200 when the rules allow, with Remote-User, Remote-Groups (comma-separated), Remote-Name
 * and Remote-Email for the app (the proxy must overwrite these, never pass the client's
 * through); not signed in (or not enough): auth-request 401 with a Location to sign in,
 * forward-auth 302 there for a browser and 401 for others; 403 when a rule denies.
 * Only a peer in OTPGATE_TRUST_PROXY may ask (403 otherwise): the answer trusts the
 * forwarded headers. Nothing is written but the session's throttled last-seen touch.
 *
 * A state table row of its own: anonymous gets 401/302, level 1 passes one_factor only
 * (for its ten enrolling minutes), level 2 (fresh or stale) passes two_factor.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessControl } from '../../gate/access-control.ts';
import { decideAccess } from '../../gate/rules.ts';
import type { AccessRequest, AccessSubject } from '../../gate/rules.ts';
import { COOKIE, readCookie } from '../cookies.ts';
import { safeReturnURL } from '../return-url.ts';
import { createPeerFilter } from '../trusted-peers.ts';
import { clientAddress } from '../client-info.ts';

type Endpoint = 'auth-request' | 'forward-auth';

/** nginx's auth_request keeps the original method; Authelia answers every one of them. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export function authzRoutes(access: AccessControl) {
  return async function authz(app: FastifyInstance): Promise<void> {
    const config = app.otpgateConfig;
    const trusted = createPeerFilter(config.trustProxy);
    // A subrequest may carry the original Content-Type without its body: read nothing.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { bodyLimit: 1 }, (_request, _payload, done) => done(null, undefined));

    const handle = (endpoint: Endpoint) => async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      void reply.header('cache-control', 'no-store');
      if (!trusted(request.socket.remoteAddress)) {
        request.log.warn({ endpoint }, 'forward-auth: refused a peer outside OTPGATE_TRUST_PROXY');
        return answer(endpoint, reply, 403, { error: 'forbidden', message: 'Only a trusted proxy may ask' });
      }
      const target = endpoint === 'auth-request' ? fromNginx(request) : fromForwarded(request);
      if (target === null) {
        request.log.warn({ endpoint }, 'forward-auth: the proxy sent no usable original URL');
        return answer(endpoint, reply, 400, { error: 'invalid_request', message: 'The proxy sent no usable original URL and method' });
      }
      // One Store read for session, account and groups (the route is ownSession: no other lookup ran).
      const token = readCookie(request, COOKIE.session);
      const found = token ? await app.auth.identifyToken(token) : null;
      const identity: (AccessSubject & { email: string | null }) | null = found === null ? null : found.identity;
      const decision = decideAccess(access.current(), target.request, identity);
      const level = found === null ? 0 : found.session.level;
      request.log.debug({ endpoint, policy: decision.policy, rule: decision.rule, level }, 'forward-auth decision');
      if (decision.policy === 'deny') return answer(endpoint, reply, 403, { error: 'forbidden', message: 'Access denied by a rule' });
      const needed = decision.policy === 'bypass' ? 0 : decision.policy === 'one_factor' ? 1 : 2;
      if (level < needed) {
        const rd = safeReturnURL(target.url, config);
        const location = `${config.publicURL.origin}/login${rd === null ? '' : `?rd=${encodeURIComponent(rd)}`}`;
        void reply.header('location', location);
        const browser = endpoint === 'forward-auth' && /\btext\/html\b/i.test(request.headers.accept ?? '');
        return answer(endpoint, reply, browser ? 302 : 401, { error: 'unauthenticated', message: 'Sign in first' });
      }
      // Always all four, empty for nobody: a proxy copying a header the answer lacks may
      // otherwise pass its own placeholder text on (Caddy before 2.7 does).
      const known = level >= 1 ? identity : null;
      void reply.headers({
        'remote-user': headerValue(known?.username ?? ''),
        'remote-groups': (known?.groups ?? []).map(headerValue).join(','),
        'remote-name': headerValue(known?.username ?? ''),
        'remote-email': headerValue(known?.email ?? ''),
      });
      return answer(endpoint, reply, 200, null);
    };

    // A decision runs for every request to every app behind the gate: one log line each
    // would be most of the log and of the route's cost. They are logged at debug and trace;
    // errors always are.
    const quiet = config.logLevel === 'debug' || config.logLevel === 'trace' ? {} : { logLevel: 'warn' as const };
    app.route({ method: [...METHODS], url: '/auth-request', config: { ownSession: true }, ...quiet, handler: handle('auth-request') });
    app.route({ method: [...METHODS], url: '/forward-auth', config: { ownSession: true }, ...quiet, handler: handle('forward-auth') });
    await Promise.resolve();
  };
}

/**
 * nginx reads only the status and headers of an auth_request subrequest, and keeps its
 * connection to otpgate open only when there is no body left to skip: auth-request answers
 * carry none (Content-Length: 0). Traefik and Caddy may show a refusal's body to the
 * client, so forward-auth keeps it there; a 200's body is never shown.
 */
function answer(endpoint: Endpoint, reply: FastifyReply, code: number, body: { error: string; message: string } | null): FastifyReply {
  void reply.code(code);
  return endpoint === 'auth-request' || body === null ? reply.send() : reply.send(body);
}

interface Target {
  /** The original URL as the proxy gave it (normalised): the return URL after sign-in. */
  url: string;
  request: AccessRequest;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function fromNginx(request: FastifyRequest): Target | null {
  const original = header(request, 'x-original-url');
  return original === undefined ? null : target(original, header(request, 'x-original-method') ?? request.method, clientAddress(request));
}

function fromForwarded(request: FastifyRequest): Target | null {
  const host = header(request, 'x-forwarded-host');
  if (host === undefined) return null;
  const proto = (header(request, 'x-forwarded-proto') ?? 'https').toLowerCase();
  if (proto !== 'https' && proto !== 'http') return null;
  const uri = header(request, 'x-forwarded-uri') ?? '/';
  if (!uri.startsWith('/')) return null;
  return target(`${proto}://${host}${uri}`, header(request, 'x-forwarded-method') ?? request.method, clientAddress(request));
}

function target(raw: string, method: string, ip: string): Target | null {
  if (!/^https?:\/\/[^/?#@\\]+(?:[/?#]|$)/i.test(raw)) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  // Rules see the path as the app will: dot segments resolved (the URL parser did), escapes decoded.
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  // A path an app could read otherwise than the rules do is refused, not matched: an
  // escaped "/../" (%2F..%2F) or slash, an empty segment ("//admin" is "/admin" to most
  // servers), a backslash, a ";" parameter ("/admin;x", "/..;/") or a control character.
  if (/%2f|%5c/i.test(url.pathname)) return null;
  if (/(?:^|\/)\.{1,2}(?:\/|$)|\/\/|[\\;\u0000-\u001f\u007f]/.test(path)) return null;
  if (!/^[A-Z]{1,16}$/.test(method.toUpperCase())) return null;
  return { url: url.href, request: { host: url.hostname.toLowerCase(), path, method: method.toUpperCase(), ip } };
}

/** Header values are Latin-1 on the wire: a name beyond ASCII is sent percent-encoded (RFC 3986). */
function headerValue(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}
