/** Every route of the product, as plugins for `build()`: the request context, the JSON API under /api, the forward-auth gate, the pages. */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Auth } from '../auth/index.ts';
import type { Config } from '../config.ts';
import type { RoutePlugin } from './app.ts';
import requestContext from './plugins/request-context.ts';
import { apiRoutes } from './api/index.ts';
import { pageRoutes } from './pages/index.ts';
import { authzRoutes } from './api/authz.ts';
import { loadAccessControl } from '../gate/access-control.ts';
import type { AccessControl } from '../gate/access-control.ts';

/** `access`: the gate's rules (main passes its own, to reload them on SIGHUP); by default read from the configured file. */
export function createRoutes(deps: { auth: Auth; config: Config; access?: AccessControl }): RoutePlugin[] {
  const access = deps.access ?? loadAccessControl(deps.config.accessRulesPath);
  return [
    // fastify-plugin: the context's decorations and hooks reach the sibling API and page scopes.
    fp(async (app: FastifyInstance) => { await app.register(requestContext, deps); }),
    { plugin: apiRoutes, prefix: '/api' },
    // Its own scope: GETs from a proxy, outside the API's JSON-only parsing.
    { plugin: authzRoutes(access), prefix: '/api/authz' },
    pageRoutes,
  ];
}
