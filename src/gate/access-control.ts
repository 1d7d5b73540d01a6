/**
 * The rules in force, read from OTPGATE_ACCESS_RULES at start and again on SIGHUP. A
 * reload swaps one reference, so a request in flight finishes under the rules it began
 * with; a file that fails to read or parse leaves the old rules in force.
 */
import { readFileSync } from 'node:fs';
import { DENY_ALL, parseAccessRules, RulesError } from './rules.ts';
import type { AccessRules } from './rules.ts';

export interface AccessControl {
  /** The file, or null when none is configured (every request is then denied). */
  readonly path: string | null;
  current(): AccessRules;
  /** Reads the file again: `ok` with the rule count, or why the old rules stay. */
  reload(): { ok: true; rules: number } | { ok: false; reason: string };
}

/**
 * Reads the rules file now.
 * @throws RulesError (message: `PATH line N: problem`) when it cannot be read or is invalid.
 */
export function loadAccessControl(path: string | undefined): AccessControl {
  if (path === undefined) return { path: null, current: () => DENY_ALL, reload: () => ({ ok: true, rules: 0 }) };
  let rules = readRules(path);
  return {
    path,
    current: () => rules,
    reload() {
      try {
        rules = readRules(path);
        return { ok: true, rules: rules.rules.length };
      } catch (error) {
        return { ok: false, reason: error instanceof Error ? error.message : String(error) };
      }
    },
  };
}

function readRules(path: string): AccessRules {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RulesError(0, `cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`, `${path}: `);
  }
  try {
    return parseAccessRules(text);
  } catch (error) {
    if (error instanceof RulesError) throw new RulesError(error.line, error.problem, `${path} `);
    throw error;
  }
}
