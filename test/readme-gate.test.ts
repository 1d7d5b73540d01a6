/** The README's "Protect an app" configs are the files the end-to-end tests run, so they cannot drift apart. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAccessRules } from '../src/gate/rules.ts';

const ROOT = join(import.meta.dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const section = README.slice(README.indexOf('## Protect an app'), README.indexOf('\n## ', README.indexOf('## Protect an app') + 1));
const block = (language: string): string[] => [...section.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1] ?? '');
const fixture = (name: string): string => readFileSync(join(ROOT, 'test', 'fixtures', 'gate', name), 'utf8');

describe('README: Protect an app', () => {
  it('issue 13: the nginx block is test/fixtures/gate/nginx.conf, byte for byte', () => {
    assert.deepEqual(block('nginx'), [fixture('nginx.conf')]);
  });

  it('issue 13: the Caddy block is test/fixtures/gate/Caddyfile, byte for byte', () => {
    assert.deepEqual(block('caddy'), [fixture('Caddyfile')]);
  });

  it('issue 13: the first YAML block is the tested rules file, and it parses', () => {
    assert.equal(block('yaml')[0], fixture('rules.yaml'));
    assert.equal(parseAccessRules(fixture('rules.yaml')).defaultPolicy, 'deny');
  });

  it('issue 13: the Traefik snippet points at the forward-auth endpoint and replaces every Remote-* header', () => {
    const traefik = block('yaml')[1] ?? '';
    assert.match(traefik, /address: http:\/\/127\.0\.0\.1:9091\/api\/authz\/forward-auth/);
    assert.match(traefik, /authResponseHeaders: \[Remote-User, Remote-Groups, Remote-Name, Remote-Email\]/);
  });
});
