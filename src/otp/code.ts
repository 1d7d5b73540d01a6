// Separators people type or paste inside a code: any Unicode white space (\s: no-break
// U+00A0, U+2000–200A, narrow no-break U+202F, ideographic U+3000…), zero-width space
// U+200B, hyphens and dash look-alikes (U+2010–2015, minus U+2212, small and full-width
// hyphen-minus U+FE58, U+FE63, U+FF0D).
const SEPARATORS = /[\s\u200b\u2010-\u2015\u2212\ufe58\ufe63\uff0d-]/gu;
// Full-width digits, as an East Asian input method types them.
const FULL_WIDTH_DIGITS = /[\uff10-\uff19]/gu;

/**
 * Cleans a typed code of any kind (TOTP, email/SMS, phone verification, recovery): drops
 * spaces and dashes ("123 456", "123–456") and maps full-width digits to ASCII, leaving
 * every other character for the verifier to reject.
 */
export function normalizeCode(input: string): string {
  if (typeof input !== 'string') {
    throw new TypeError('Code must be a string');
  }
  return input.replace(SEPARATORS, '').replace(FULL_WIDTH_DIGITS, (d) => String.fromCharCode(d.charCodeAt(0) - 0xff10 + 0x30));
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
