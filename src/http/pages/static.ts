/**
 * `/static/NAME`: a fixed allowlist of files read once at start-up, so no request can
 * name any other file (no traversal). Cached for an hour, revalidated by ETag.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';

const ASSETS: ReadonlyArray<{ name: string; type: string }> = [
  { name: 'style.css', type: 'text/css; charset=utf-8' },
  { name: 'icon.svg', type: 'image/svg+xml' },
];

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

export async function staticRoutes(app: FastifyInstance): Promise<void> {
  const files = new Map<string, Asset>();
  for (const { name, type } of ASSETS) {
    const body = await readFile(new URL(`../static/${name}`, import.meta.url));
    files.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  app.get<{ Params: { name: string } }>('/static/:name', (request, reply) => {
    const file = files.get(request.params.name);
    if (!file) return reply.callNotFound();
    void reply.header('cache-control', 'public, max-age=3600').header('etag', file.etag);
    const match = request.headers['if-none-match'];
    if (typeof match === 'string' && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === file.etag)) {
      return reply.code(304).send();
    }
    return reply.type(file.type).send(file.body);
  });
}
