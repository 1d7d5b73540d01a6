/**
 * The forward-auth gate's access rules (OTPGATE_ACCESS_RULES): Authelia's rule keys at
 * the top level of a YAML file, checked in order, the first matching rule deciding.
 *
 *   default_policy: deny            # bypass | one_factor | two_factor | deny (default deny)
 *   rules:
 *     - domain: "*.example.com"     # exact, or *. for any subdomain (not the apex)
 *       resources: ["^/admin(/.*)?$"] # regexes on the path, always anchored at both ends
 *       methods: [GET, POST]
 *       networks: [10.0.0.0/8]      # the client address (X-Forwarded-For from a trusted proxy)
 *       subject: ["group:admins"]   # user:NAME or group:NAME; a nested list means all of them
 *       policy: two_factor
 *
 * Parsing reports the first problem as one line with its line number. Matching reads
 * nothing and writes nothing: it is on the path of every proxied request.
 */
import { BlockList, isIP } from 'node:net';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Node as YAMLNode, Pair, YAMLMap } from 'yaml';
import { normalizeUsername } from '../auth/normalize.ts';

export const POLICIES = ['bypass', 'one_factor', 'two_factor', 'deny'] as const;
export type Policy = (typeof POLICIES)[number];

/** One alternative of a rule's subject: every entry must hold (user:NAME, group:NAME). */
type SubjectAll = Array<{ kind: 'user' | 'group'; name: string }>;

export interface Rule {
  /** 1-based line of the rule in the file, for logs. */
  line: number;
  domains: Array<{ exact: string } | { suffix: string }>;
  resources: RegExp[] | null;
  methods: Set<string> | null;
  networks: BlockList | null;
  /** Any one alternative matching is enough; null: anyone. */
  subject: SubjectAll[] | null;
  policy: Policy;
}

export interface AccessRules {
  defaultPolicy: Policy;
  rules: Rule[];
}

/** What the proxy told us about the request, already normalised (lower-case host without port, decoded path). */
export interface AccessRequest {
  host: string;
  path: string;
  method: string;
  /** The client address, or '' when unknown (no network rule then matches). */
  ip: string;
}

/** Who asks: null when there is no live session. */
export interface AccessSubject {
  username: string;
  groups: readonly string[];
}

/** The policy that applies; `rule` is the 1-based line of the deciding rule, or null for the default. */
export interface AccessDecision {
  policy: Policy;
  rule: number | null;
}

export const DENY_ALL: AccessRules = { defaultPolicy: 'deny', rules: [] };

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE']);
const RULE_KEYS = new Set(['domain', 'resources', 'methods', 'networks', 'subject', 'policy']);
const GROUP = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** A group name in its one stored form (lower case; letters, digits, `._-`, no commas: Remote-Groups is a list), or null. */
export function normalizeGroupName(raw: string): string | null {
  const name = raw.trim().toLowerCase();
  return GROUP.test(name) ? name : null;
}

/** A problem in the rules file: `line` is 1-based (0 when the file is empty or unreadable). */
export class RulesError extends Error {
  readonly line: number;
  readonly problem: string;
  /** `where` comes first in the message, e.g. the file's path. */
  constructor(line: number, problem: string, where = '') {
    super(`${where}${line > 0 ? `line ${line}: ` : ''}${problem}`);
    this.name = 'RulesError';
    this.line = line;
    this.problem = problem;
  }
}

/**
 * Parses and validates a rules file's text.
 * @throws RulesError naming the line of the first problem.
 */
export function parseAccessRules(text: string): AccessRules {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const line = lines.linePos(first.pos[0]).line;
    throw new RulesError(line, `not valid YAML: ${first.message.split('\n')[0] ?? ''}`);
  }
  const lineOf = (node: unknown): number => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range === undefined ? 0 : lines.linePos(range[0]).line;
  };
  const root = doc.contents;
  if (!isMap(root)) throw new RulesError(lineOf(root) || 1, 'the file must be a mapping with default_policy and rules');
  let defaultPolicy: Policy = 'deny';
  let rules: Rule[] = [];
  for (const pair of root.items) {
    const key = keyOf(pair, lineOf);
    if (key === 'default_policy') defaultPolicy = policyOf(pair.value, lineOf);
    else if (key === 'rules') rules = rulesOf(pair.value, lineOf);
    else throw new RulesError(lineOf(pair.key), `unknown key "${key}" (default_policy or rules)`);
  }
  return { defaultPolicy, rules };
}

type LineOf = (node: unknown) => number;

function keyOf(pair: Pair, lineOf: LineOf): string {
  if (!isScalar(pair.key) || typeof pair.key.value !== 'string') throw new RulesError(lineOf(pair.key), 'keys must be plain names');
  return pair.key.value;
}

function scalarString(node: unknown, lineOf: LineOf, what: string): string {
  if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number')) {
    throw new RulesError(lineOf(node), `${what} must be a string`);
  }
  return String(node.value);
}

/** A string or a list of strings, as Authelia accepts for every list key; each with its line. */
function stringList(node: unknown, lineOf: LineOf, what: string): Array<{ value: string; line: number }> {
  if (isSeq(node)) {
    if (node.items.length === 0) throw new RulesError(lineOf(node), `${what} must not be an empty list`);
    return node.items.map((item) => ({ value: scalarString(item, lineOf, `each entry of ${what}`), line: lineOf(item) }));
  }
  return [{ value: scalarString(node, lineOf, what), line: lineOf(node) }];
}

function policyOf(node: unknown, lineOf: LineOf): Policy {
  const value = scalarString(node, lineOf, 'policy');
  const policy = POLICIES.find((p) => p === value);
  if (policy === undefined) throw new RulesError(lineOf(node), `unknown policy "${value}" (${POLICIES.join(', ')})`);
  return policy;
}

function rulesOf(node: unknown, lineOf: LineOf): Rule[] {
  if (node === null || (isScalar(node) && node.value === null)) return [];
  if (!isSeq(node)) throw new RulesError(lineOf(node), 'rules must be a list');
  return node.items.map((item) => {
    if (!isMap(item)) throw new RulesError(lineOf(item), 'each rule must be a mapping (domain, policy, …)');
    return ruleOf(item, lineOf);
  });
}

function ruleOf(map: YAMLMap, lineOf: LineOf): Rule {
  const line = lineOf(map);
  const fields = new Map<string, YAMLNode | null>();
  for (const pair of map.items) {
    const key = keyOf(pair, lineOf);
    if (!RULE_KEYS.has(key)) throw new RulesError(lineOf(pair.key), `unknown rule key "${key}" (${[...RULE_KEYS].join(', ')})`);
    fields.set(key, pair.value as YAMLNode | null);
  }
  const policyNode = fields.get('policy');
  if (policyNode === undefined) throw new RulesError(line, 'the rule has no policy');
  const domainNode = fields.get('domain');
  if (domainNode === undefined) throw new RulesError(line, 'the rule has no domain');
  const rule: Rule = {
    line,
    domains: stringList(domainNode, lineOf, 'domain').map(({ value, line: at }) => domainOf(value, at)),
    resources: null,
    methods: null,
    networks: null,
    subject: null,
    policy: policyOf(policyNode, lineOf),
  };
  const resources = fields.get('resources');
  if (resources !== undefined) rule.resources = stringList(resources, lineOf, 'resources').map(({ value, line: at }) => regexOf(value, at));
  const methods = fields.get('methods');
  if (methods !== undefined) {
    rule.methods = new Set(stringList(methods, lineOf, 'methods').map(({ value, line: at }) => {
      const method = value.toUpperCase();
      if (!METHODS.has(method)) throw new RulesError(at, `unknown method "${value}"`);
      return method;
    }));
  }
  const networks = fields.get('networks');
  if (networks !== undefined) {
    const list = new BlockList();
    for (const { value, line: at } of stringList(networks, lineOf, 'networks')) addNetwork(list, value, at);
    rule.networks = list;
  }
  const subject = fields.get('subject');
  if (subject !== undefined) rule.subject = subjectOf(subject, lineOf);
  if (rule.subject !== null && rule.policy === 'bypass') {
    // Authelia refuses it too: a bypass never asks who you are, so a subject could never be known.
    throw new RulesError(line, 'a bypass rule cannot have a subject');
  }
  return rule;
}

function domainOf(raw: string, line: number): { exact: string } | { suffix: string } {
  const value = raw.trim().toLowerCase();
  const label = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
  const wildcard = value.startsWith('*.');
  const name = wildcard ? value.slice(2) : value;
  if (!new RegExp(`^${label}(?:\\.${label})*$`).test(name)) {
    throw new RulesError(line, `domain "${raw}" must be a host name, or *. and a host name`);
  }
  return wildcard ? { suffix: `.${name}` } : { exact: name };
}

function regexOf(source: string, line: number): RegExp {
  try {
    // Anchored at both ends whatever the author wrote: "/admin" must not match "/x/admin".
    return new RegExp(`^(?:${source})$`, 'u');
  } catch (error) {
    throw new RulesError(line, `resources: "${source}" is not a valid regular expression (${(error as Error).message})`);
  }
}

function addNetwork(list: BlockList, raw: string, line: number): void {
  const [address = '', prefix, ...rest] = raw.trim().split('/');
  const family = isIP(address);
  const max = family === 4 ? 32 : 128;
  const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  if (family === 0 || rest.length > 0 || !(bits >= 0 && bits <= max)) {
    throw new RulesError(line, `networks: "${raw}" must be an IP address or a CIDR range such as 10.0.0.0/8`);
  }
  list.addSubnet(address, bits, family === 4 ? 'ipv4' : 'ipv6');
}

function subjectOf(node: unknown, lineOf: LineOf): SubjectAll[] {
  const one = (value: string, line: number): SubjectAll[number] => {
    const match = /^(user|group):(.+)$/.exec(value);
    const kind = match?.[1];
    const name = kind === 'user' ? normalizeUsername(match?.[2] ?? '') : { ok: true, value: normalizeGroupName(match?.[2] ?? '') };
    if ((kind !== 'user' && kind !== 'group') || !name.ok || name.value === null) {
      throw new RulesError(line, `subject "${value}" must be user:NAME or group:NAME`);
    }
    return { kind, name: name.value };
  };
  if (isSeq(node)) {
    if (node.items.length === 0) throw new RulesError(lineOf(node), 'subject must not be an empty list');
    return node.items.map((item) =>
      isSeq(item)
        ? stringList(item, lineOf, 'subject').map(({ value, line }) => one(value, line))
        : [one(scalarString(item, lineOf, 'subject'), lineOf(item))],
    );
  }
  return [[one(scalarString(node, lineOf, 'subject'), lineOf(node))]];
}

/**
 * The policy for a request: the first rule whose every criterion matches. A rule with a
 * subject cannot be checked for someone not signed in; it then asks them to sign in
 * (one_factor), and once they have, it is checked against who they are.
 */
export function decideAccess(rules: AccessRules, request: AccessRequest, subject: AccessSubject | null): AccessDecision {
  for (const rule of rules.rules) {
    if (!matchesRequest(rule, request)) continue;
    if (rule.subject !== null) {
      if (subject === null) return { policy: 'one_factor', rule: rule.line };
      if (!matchesSubject(rule.subject, subject)) continue;
    }
    return { policy: rule.policy, rule: rule.line };
  }
  return { policy: rules.defaultPolicy, rule: null };
}

/** The rule's domain, method, path and network all match (its subject is checked apart). */
function matchesRequest(rule: Rule, request: AccessRequest): boolean {
  if (!rule.domains.some((d) => ('exact' in d ? request.host === d.exact : request.host.endsWith(d.suffix)))) return false;
  if (rule.methods !== null && !rule.methods.has(request.method)) return false;
  if (rule.resources !== null && !rule.resources.some((r) => r.test(request.path))) return false;
  if (rule.networks !== null && !matchesNetwork(rule.networks, request.ip)) return false;
  return true;
}

function matchesNetwork(list: BlockList, ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const address = mapped?.[1] ?? ip;
  const family = isIP(address);
  if (family === 0) return false;
  return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

function matchesSubject(alternatives: SubjectAll[], subject: AccessSubject): boolean {
  return alternatives.some((all) =>
    all.every((s) => (s.kind === 'user' ? s.name === subject.username : subject.groups.includes(s.name))),
  );
}
