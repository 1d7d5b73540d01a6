// Separators people type or paste inside a code: any Unicode white space (including
// no-break U+00A0, thin U+2009 and narrow no-break U+202F) and hyphens/dashes.
const SEPARATORS = /[\s\u2010-\u2015\u2212-]/gu;

/** Removes the spaces and hyphens people type inside a code ("123 456", "123-456"), leaving other characters for the verifier to reject. */
export function normalizeCode(input: string): string {
  if (typeof input !== 'string') {
    throw new TypeError('Code must be a string');
  }
  return input.replace(SEPARATORS, '');
}

/**
 * Reads a code of exactly `digits` ASCII digits as a number, or returns -1.
 * Only the code's format is inspected here, never the secret, so the early return leaks nothing.
 */
export function parseCode(code: string, digits: number): number {
  if (typeof code !== 'string' || code.length !== digits) {
    return -1;
  }
  let value = 0;
  for (let i = 0; i < digits; i++) {
    const digit = code.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) {
      return -1;
    }
    value = value * 10 + digit;
  }
  return value;
}

/** Formats a truncated value as a zero-padded code of `digits` digits. */
export function formatCode(value: number, digits: number): string {
  return value.toString().padStart(digits, '0');
}
