/**
 * Which new passwords are accepted (SP 800-63B rev 4 §3.1.1.2, ASVS 6.2): 8 to 256
 * code points, any characters, no composition rules, no truncation; refused with the
 * reason when common or built from the username or the service name.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

let blocklist: Set<string> | undefined;

/** The bundled list of common passwords (zxcvbn-ts's, about 49,000 entries), lower-cased. */
export function commonPasswords(): Set<string> {
  if (!blocklist) {
    const require = createRequire(import.meta.url);
    const path = require.resolve('@zxcvbn-ts/language-common/src/passwords.json');
    const words = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (!Array.isArray(words)) throw new TypeError('The common password list is not an array');
    blocklist = new Set(words.filter((w): w is string => typeof w === 'string').map((w) => w.toLowerCase()));
  }
  return blocklist;
}

export type PasswordCheck = { ok: true } | { ok: false; reason: string };

/** Checks a new password against the policy; `context` holds words it must not be built from. */
export function checkNewPassword(password: string, context: { username: string; serviceName: string }): PasswordCheck {
  const length = [...password].length; // code points, not UTF-16 units
  if (length < PASSWORD_MIN) return { ok: false, reason: `Password must be at least ${PASSWORD_MIN} characters` };
  if (length > PASSWORD_MAX) return { ok: false, reason: `Password must be at most ${PASSWORD_MAX} characters` };
  const folded = password.normalize('NFKC').toLowerCase();
  if (commonPasswords().has(folded)) return { ok: false, reason: 'This password is too common; choose another' };
  // Built from a context word: the word with only digits/punctuation around it, or reversed.
  const stripped = folded.replace(/[^\p{L}]/gu, '');
  for (const word of [context.username, context.serviceName]) {
    const w = word.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
    if (w.length < 3) continue;
    const core = w.replace(/[^\p{L}]/gu, '');
    if (folded.replace(/[^\p{L}\p{N}]/gu, '').includes(w) && folded.length - w.length < 6) {
      return { ok: false, reason: 'Password must not be built from your username or the service name' };
    }
    if (core.length >= 3 && (stripped === core || stripped === [...core].reverse().join(''))) {
      return { ok: false, reason: 'Password must not be built from your username or the service name' };
    }
  }
  // A single repeated character or a plain run ("aaaaaaaa", "12345678…") is refused like a common one.
  if (/^(.)\1+$/u.test(folded) || isSequence(folded)) return { ok: false, reason: 'This password is too easy to guess; choose another' };
  return { ok: true };
}

function isSequence(s: string): boolean {
  const codes = [...s].map((c) => c.codePointAt(0) ?? 0);
  const step = (codes[1] ?? 0) - (codes[0] ?? 0);
  if (Math.abs(step) !== 1) return false;
  return codes.every((c, i) => i === 0 || c - (codes[i - 1] ?? 0) === step);
}
