/** Every route of the product, as plugins for `build()`: the request context, the JSON API under /api, the pages. */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Auth } from '../auth/index.ts';
import type { Config } from '../config.ts';
import type { RoutePlugin } from './app.ts';
import requestContext from './plugins/request-context.ts';
import { apiRoutes } from './api/index.ts';
import { pageRoutes } from './pages/index.ts';

export function createRoutes(deps: { auth: Auth; config: Config }): RoutePlugin[] {
  return [
    // fastify-plugin: the context's decorations and hooks reach the sibling API and page scopes.
    fp(async (app: FastifyInstance) => { await app.register(requestContext, deps); }),
    { plugin: apiRoutes, prefix: '/api' },
    pageRoutes,
  ];
}
