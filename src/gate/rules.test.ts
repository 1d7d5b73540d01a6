import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideAccess, normalizeGroupName, parseAccessRules, RulesError } from './rules.ts';
import type { AccessRequest, AccessSubject } from './rules.ts';

const ISSUE_EXAMPLE = `default_policy: deny
rules:
  - domain: public.example.com
    policy: bypass
  - domain: "*.example.com"
    resources: ["^/admin(/.*)?$"]
    subject: ["group:admins"]
    policy: two_factor
  - domain: app.example.com
    policy: one_factor
`;

const at = (host: string, path = '/', method = 'GET', ip = '192.0.2.1'): AccessRequest => ({ host, path, method, ip });
const ADMIN: AccessSubject = { username: 'ada', groups: ['admins'] };
const USER: AccessSubject = { username: 'bob', groups: [] };

function refusal(text: string): RulesError {
  try {
    parseAccessRules(text);
  } catch (error) {
    assert.ok(error instanceof RulesError, String(error));
    return error;
  }
  assert.fail(`expected a RulesError for:\n${text}`);
}

describe('parseAccessRules()', () => {
  it('reads the issue example and decides first match wins, default deny', () => {
    const rules = parseAccessRules(ISSUE_EXAMPLE);
    assert.equal(rules.defaultPolicy, 'deny');
    assert.equal(rules.rules.length, 3);
    assert.deepEqual(decideAccess(rules, at('public.example.com'), null), { policy: 'bypass', rule: 3 });
    // The wildcard covers subdomains, not the apex, and the admin rule comes before app's own.
    assert.equal(decideAccess(rules, at('app.example.com', '/admin/x'), ADMIN).policy, 'two_factor');
    assert.equal(decideAccess(rules, at('app.example.com', '/admin/x'), USER).policy, 'one_factor');
    assert.equal(decideAccess(rules, at('example.com', '/admin'), ADMIN).policy, 'deny');
    assert.deepEqual(decideAccess(rules, at('other.example.org'), ADMIN), { policy: 'deny', rule: null });
  });

  it('defaults to deny when default_policy is left out, and with no rules at all', () => {
    assert.equal(parseAccessRules('rules: []\n').defaultPolicy, 'deny');
    assert.equal(decideAccess(parseAccessRules('rules:\n'), at('a.example.com'), ADMIN).policy, 'deny');
  });

  it('anchors resources at both ends, whatever the author wrote', () => {
    const rules = parseAccessRules('rules:\n  - domain: a.example.com\n    resources: ["/public"]\n    policy: bypass\n');
    assert.equal(decideAccess(rules, at('a.example.com', '/public'), null).policy, 'bypass');
    assert.equal(decideAccess(rules, at('a.example.com', '/x/public'), null).policy, 'deny');
    assert.equal(decideAccess(rules, at('a.example.com', '/public/x'), null).policy, 'deny');
  });

  it('matches methods, networks (CIDR, IPv4-mapped too) and user subjects', () => {
    const rules = parseAccessRules(`rules:
  - domain: a.example.com
    methods: [get, HEAD]
    networks: ["10.0.0.0/8", "2001:db8::/32"]
    policy: bypass
  - domain: a.example.com
    subject: [["user:Ada", "group:admins"], "user:carl"]
    policy: one_factor
`);
    assert.equal(decideAccess(rules, at('a.example.com', '/', 'GET', '10.1.2.3'), null).policy, 'bypass');
    assert.equal(decideAccess(rules, at('a.example.com', '/', 'GET', '::ffff:10.1.2.3'), null).policy, 'bypass');
    assert.equal(decideAccess(rules, at('a.example.com', '/', 'GET', '2001:db8::1'), null).policy, 'bypass');
    assert.equal(decideAccess(rules, at('a.example.com', '/', 'POST', '10.1.2.3'), USER).policy, 'deny');
    assert.equal(decideAccess(rules, at('a.example.com', '/', 'GET', '11.0.0.1'), ADMIN).policy, 'one_factor');
    assert.equal(decideAccess(rules, at('a.example.com', '/', 'GET', '11.0.0.1'), { username: 'ada', groups: [] }).policy, 'deny');
    assert.equal(decideAccess(rules, at('a.example.com', '/', 'GET', '11.0.0.1'), { username: 'carl', groups: [] }).policy, 'one_factor');
    // Not signed in: a subject rule asks for a sign-in rather than deciding for someone unknown.
    assert.deepEqual(decideAccess(rules, at('a.example.com', '/', 'GET', '11.0.0.1'), null), { policy: 'one_factor', rule: 6 });
  });

  it('reports the first problem on one line with its line number', () => {
    const cases: Array<[string, number, RegExp]> = [
      ['default_policy: allow\n', 1, /unknown policy "allow"/],
      ['rules:\n  - domain: a.example.com\n    policy: one_factor\n  - domain: b.example.com\n    polcy: deny\n', 5, /unknown rule key "polcy"/],
      ['rules:\n  - domain: a.example.com\n    resources: ["^/(a"]\n    policy: deny\n', 3, /not a valid regular expression/],
      ['rules:\n  - domain: a.example.com\n    networks: [10.0.0.0/33]\n    policy: deny\n', 3, /networks/],
      ['rules:\n  - domain: a.example.com\n    subject: ["role:x"]\n    policy: deny\n', 3, /user:NAME or group:NAME/],
      ['rules:\n  - domain: a.example.com\n    subject: "user:xavier"\n    policy: bypass\n', 2, /bypass rule cannot have a subject/],
      ['rules:\n  - domain: "exa mple.com"\n    policy: deny\n', 2, /domain/],
      ['rules:\n  - policy: deny\n', 2, /no domain/],
      ['rules:\n  - domain: a.example.com\n', 2, /no policy/],
      ['rules:\n  - domain: a.example.com\n    methods: [FETCH]\n    policy: deny\n', 3, /unknown method/],
      ['rules: [\n  - oops\n', 2, /not valid YAML/],
      ['rule:\n  - domain: a.example.com\n', 1, /unknown key "rule"/],
      ['- just a list\n', 1, /mapping/],
    ];
    for (const [text, line, pattern] of cases) {
      const error = refusal(text);
      assert.equal(error.line, line, `${error.message} for:\n${text}`);
      assert.match(error.message, pattern);
      assert.match(error.message, new RegExp(`^line ${line}: `));
      assert.doesNotMatch(error.message, /\n/);
    }
  });
});

describe('normalizeGroupName()', () => {
  it('keeps one lower-case form and refuses commas, spaces and empty names', () => {
    assert.equal(normalizeGroupName(' Admins '), 'admins');
    for (const bad of ['', 'a,b', 'a b', '-x', 'x'.repeat(65)]) assert.equal(normalizeGroupName(bad), null, bad);
  });
});
