/** Input normalisation for account identifiers: one canonical form per person. */

const USERNAME_MIN = 3;
const USERNAME_MAX = 64;

export type Normalized = { ok: true; value: string } | { ok: false; reason: string };

/**
 * Characters that must never reach a terminal or a page as they are: C0, DEL and C1
 * controls (ESC, CSI U+009B…), format characters (\p{Cf}: bidi embeddings and overrides,
 * isolates, marks, zero-width joiners, BOM) and the line/paragraph separators.
 */
const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

/** Makes every control, format or separator character visible (`\x1b`, `\u202e`), for a terminal line. */
export function escapeControls(text: string): string {
  return text.replace(new RegExp(CONTROL_OR_FORMAT.source, 'gu'), (c) => {
    const code = c.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * NFKC then case-folded, trimmed; letters, digits and `._-@+` only, from one script
 * (UTS #39 "highly restrictive"). With `forLookup` the name is only folded, so accounts
 * stored before a rule existed are still found.
 */
export function normalizeUsername(input: string, options: { forLookup?: boolean } = {}): Normalized {
  const value = input.normalize('NFKC').trim().toLowerCase().normalize('NFKC');
  const length = [...value].length;
  if (length < USERNAME_MIN || length > USERNAME_MAX) {
    return { ok: false, reason: `Username must be ${USERNAME_MIN} to ${USERNAME_MAX} characters` };
  }
  if (options.forLookup === true) return { ok: true, value };
  if (CONTROL_OR_FORMAT.test(value)) {
    return { ok: false, reason: 'Username must not contain invisible formatting or text-direction characters' };
  }
  if (!/^[\p{L}\p{N}._@+-]+$/u.test(value)) {
    return { ok: false, reason: 'Username may contain letters, digits and . _ - @ + only' };
  }
  if (!isHighlyRestrictive(value)) {
    return { ok: false, reason: 'Username mixes writing scripts (e.g. Cyrillic and Latin letters); use letters of one script' };
  }
  return { ok: true, value };
}

/** A plain, deliverable address: one @, no spaces or invisible characters, at most 254 characters; the domain lower-cased. */
export function normalizeEmail(input: string): Normalized {
  const value = input.normalize('NFKC').trim();
  if (CONTROL_OR_FORMAT.test(value)) {
    return { ok: false, reason: 'Email address must not contain control, invisible formatting or text-direction characters' };
  }
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

// Unicode script codes (ISO 15924) that a username letter may belong to. Codes this
// runtime's regular expressions do not know are skipped: none of their letters match \p{L} tests here anyway.
const SCRIPT_CODES = (
  'Adlm Aghb Ahom Arab Armi Armn Avst Bali Bamu Bass Batk Beng Bhks Bopo Brah Brai Bugi Buhd Cakm Cans Cari Cham Cher Chrs ' +
  'Copt Cpmn Cprt Cyrl Deva Diak Dogr Dsrt Dupl Egyp Elba Elym Ethi Gara Geor Glag Gong Gonm Goth Gran Grek Gujr Gukh Guru ' +
  'Hang Hani Hano Hatr Hebr Hira Hluw Hmng Hmnp Hung Ital Java Kali Kana Kawi Khar Khmr Khoj Kits Knda Krai Kthi Lana Laoo ' +
  'Latn Lepc Limb Lina Linb Lisu Lyci Lydi Mahj Maka Mand Mani Marc Medf Mend Merc Mero Mlym Modi Mong Mroo Mtei Mult Mymr ' +
  'Nagm Nand Narb Nbat Newa Nkoo Nshu Ogam Olck Onao Orkh Orya Osge Osma Ougr Palm Pauc Perm Phag Phli Phlp Phnx Plrd Prti ' +
  'Rjng Rohg Runr Samr Sarb Saur Sgnw Shaw Shrd Sidd Sind Sinh Sogd Sogo Sora Soyo Sund Sunu Sylo Syrc Tagb Takr Tale Talu ' +
  'Taml Tang Tavt Telu Tfng Tglg Thaa Thai Tibt Tirh Tnsa Todr Toto Tutg Ugar Vaii Vith Wara Wcho Xpeo Xsux Yezi Yiii Zanb'
).split(' ');

const SCRIPTS: Array<{ code: string; test: RegExp }> = SCRIPT_CODES.flatMap((code) => {
  try {
    return [{ code, test: new RegExp(`^\\p{Script_Extensions=${code}}$`, 'u') }];
  } catch {
    return [];
  }
});

// UTS #39 §5.2 "highly restrictive": one script, or Latin with one of these East Asian sets.
const ALLOWED_MIXES = [['Latn', 'Hani', 'Hira', 'Kana'], ['Latn', 'Hani', 'Bopo'], ['Latn', 'Hani', 'Hang']];

/** True when every letter fits one script, or one of the allowed mixes (Common and Inherited characters fit any). */
function isHighlyRestrictive(value: string): boolean {
  const sets: string[][] = [];
  for (const char of new Set(value)) {
    // Script_Extensions: a character shared by a few scripts (e.g. U+30FC) fits each of them.
    const scripts = SCRIPTS.filter((s) => s.test.test(char)).map((s) => s.code);
    if (scripts.length > 0) sets.push(scripts);
  }
  if (sets.length === 0) return true;
  const [first = [], ...rest] = sets;
  if (first.some((code) => rest.every((set) => set.includes(code)))) return true;
  return ALLOWED_MIXES.some((mix) => sets.every((set) => set.some((code) => mix.includes(code))));
}
