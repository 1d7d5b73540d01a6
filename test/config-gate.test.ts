import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../src/config.ts';

function refusal(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env, '/srv/otpgate');
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail(`expected ${JSON.stringify(env)} to be refused`);
}

describe('loadConfig(): the forward-auth gate', () => {
  it('issue 13: without OTPGATE_COOKIE_DOMAIN or OTPGATE_ACCESS_RULES nothing changes', () => {
    const config = loadConfig({}, '/srv/otpgate');
    assert.equal(config.cookieDomain, undefined);
    assert.equal(config.accessRulesPath, undefined);
  });

  it('issue 13: reads the cookie domain (lower case, no leading dot) and resolves the rules path', () => {
    const config = loadConfig({ OTPGATE_PUBLIC_URL: 'https://auth.example.com', OTPGATE_COOKIE_DOMAIN: '.Example.COM', OTPGATE_ACCESS_RULES: 'rules.yaml' }, '/srv/otpgate');
    assert.equal(config.cookieDomain, 'example.com');
    assert.equal(config.accessRulesPath, '/srv/otpgate/rules.yaml');
    assert.equal(loadConfig({ OTPGATE_PUBLIC_URL: 'https://example.com', OTPGATE_COOKIE_DOMAIN: 'example.com' }).cookieDomain, 'example.com');
  });

  it('issue 13: refuses a cookie domain that is not a domain, or does not cover the public URL', () => {
    for (const [domain, pattern] of [
      ['com', /domain name/],
      ['exa mple.com', /domain name/],
      ['other.com', /parent of it/],
      ['xample.com', /parent of it/],
      ['sub.auth.example.com', /parent of it/],
    ] as const) {
      const error = refusal({ OTPGATE_PUBLIC_URL: 'https://auth.example.com', OTPGATE_COOKIE_DOMAIN: domain });
      assert.equal(error.variable, 'OTPGATE_COOKIE_DOMAIN');
      assert.match(error.message, pattern);
    }
  });
});
