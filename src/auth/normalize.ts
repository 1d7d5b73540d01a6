/** Input normalisation for account identifiers: one canonical form per person. */

const USERNAME_MIN = 3;
const USERNAME_MAX = 64;

export type Normalized = { ok: true; value: string } | { ok: false; reason: string };

/** NFKC then case-folded, trimmed; letters, digits and `._-@+` only (no spaces or controls). */
export function normalizeUsername(input: string): Normalized {
  const value = input.normalize('NFKC').trim().toLowerCase().normalize('NFKC');
  const length = [...value].length;
  if (length < USERNAME_MIN || length > USERNAME_MAX) {
    return { ok: false, reason: `Username must be ${USERNAME_MIN} to ${USERNAME_MAX} characters` };
  }
  if (!/^[\p{L}\p{N}._@+-]+$/u.test(value)) {
    return { ok: false, reason: 'Username may contain letters, digits and . _ - @ + only' };
  }
  return { ok: true, value };
}

/** A plain, deliverable address: one @, no spaces, at most 254 characters; the domain lower-cased. */
export function normalizeEmail(input: string): Normalized {
  const value = input.normalize('NFKC').trim();
  const at = value.lastIndexOf('@');
  if (value.length > 254 || at < 1 || at === value.length - 1 || /[\s<>()[\],;:"\\]/.test(value)) {
    return { ok: false, reason: 'Email address is not valid' };
  }
  const domain = value.slice(at + 1).toLowerCase();
  if (!/^[\p{L}\p{N}-]+(\.[\p{L}\p{N}-]+)+$/u.test(domain)) {
    return { ok: false, reason: 'Email address is not valid' };
  }
  return { ok: true, value: value.slice(0, at) + '@' + domain };
}

/** E.164: `+`, a country code not starting with 0, 8 to 15 digits in all; spaces, dots, dashes and brackets dropped. */
export function normalizePhone(input: string): Normalized {
  const value = input.normalize('NFKC').replace(/[\s().-]/g, '');
  if (!/^\+[1-9]\d{7,14}$/.test(value)) {
    return { ok: false, reason: 'Phone number must be in international format, e.g. +14155550123' };
  }
  return { ok: true, value };
}
