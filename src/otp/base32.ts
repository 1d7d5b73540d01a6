// RFC 4648 §6 base32 (the alphabet of otpauth:// secrets).
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

// Character code → 5-bit value; -1 for anything outside the alphabet (lower case folds to upper).
const VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) {
  VALUES[ALPHABET.charCodeAt(i)] = i;
  VALUES[ALPHABET.toLowerCase().charCodeAt(i)] = i;
}

// Characters of a final 8-character group that may carry data; the rest is padding (RFC 4648 §6 cases 1–5).
const VALID_TAIL_LENGTHS = new Set([0, 2, 4, 5, 7]);

function isSeparator(char: string): boolean {
  return char === ' ' || char === '-' || /^\s$/u.test(char);
}

function describe(char: string): string {
  return char.trim() === '' || char.length !== 1 ? JSON.stringify(char) : `'${char}'`;
}

/** Encodes bytes as RFC 4648 base32, with '=' padding unless `padding` is false. */
export function encodeBase32(data: Uint8Array, options?: { padding?: boolean }): string {
  if (!(data instanceof Uint8Array)) {
    throw new TypeError('Data must be a Uint8Array');
  }
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of data) {
    buffer = ((buffer << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET.charAt((buffer >>> bits) & 31);
    }
  }
  if (bits > 0) {
    out += ALPHABET.charAt((buffer << (5 - bits)) & 31);
  }
  if (options?.padding ?? true) {
    out += '='.repeat((8 - (out.length % 8)) % 8);
  }
  return out;
}

/**
 * Decodes RFC 4648 base32, tolerating lower case, spaces, hyphens and missing padding;
 * any other character, misplaced or wrong padding, or an impossible length throws a TypeError.
 */
export function decodeBase32(text: string): Uint8Array {
  if (typeof text !== 'string') {
    throw new TypeError('Base32 text must be a string');
  }
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let length = 0;
  let buffer = 0;
  let bits = 0;
  let dataChars = 0;
  let paddingChars = 0;
  let position = 0;
  for (const char of text) {
    const code = char.charCodeAt(0);
    const value = char.length === 1 && code < 128 ? (VALUES[code] ?? -1) : -1;
    if (value >= 0) {
      if (paddingChars > 0) {
        throw new TypeError(`Invalid base32: padding '=' in the middle, before position ${position}`);
      }
      buffer = ((buffer << 5) | value) & 0xfff;
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        out[length++] = (buffer >>> bits) & 0xff;
      }
      dataChars++;
    } else if (char === '=') {
      paddingChars++;
    } else if (!isSeparator(char)) {
      throw new TypeError(`Invalid base32 character ${describe(char)} at position ${position}`);
    }
    position += char.length;
  }
  const tail = dataChars % 8;
  if (!VALID_TAIL_LENGTHS.has(tail)) {
    throw new TypeError(`Invalid base32 length: ${dataChars} characters cannot encode whole bytes`);
  }
  if (paddingChars > 0 && paddingChars !== (8 - tail) % 8) {
    throw new TypeError(`Invalid base32 padding: ${paddingChars} '=' after ${dataChars} characters`);
  }
  // Canonical form: the bits left over after the last byte must be zero (RFC 4648 §3.5).
  if ((buffer & ((1 << bits) - 1)) !== 0) {
    throw new TypeError('Invalid base32: non-zero trailing bits');
  }
  return out.slice(0, length);
}
