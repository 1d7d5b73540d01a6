/**
 * Where SMS may go and how many may leave, against SMS pumping (toll fraud): numbers in
 * premium, satellite and international-network ranges are refused always, an operator
 * may allow only some country calling codes (OTPGATE_SMS_COUNTRIES), and one hourly cap
 * (OTPGATE_SMS_HOURLY_CAP) counted in the Store covers every SMS of every instance.
 */
import type { AuthContext, ClientInfo } from './context.ts';
import { recordEvent } from './audit.ts';

/**
 * ITU-T E.164 codes that are not countries and are never sent to (ITU "List of ITU-T
 * Recommendation E.164 assigned country codes"): 800 international freephone, 808
 * shared-cost services, 870 Inmarsat, 878 universal personal telecommunication, 881
 * global mobile satellite systems, 882 and 883 international networks, 888 OCHA
 * disaster relief, 979 international premium rate, 991 trial services, 999 reserved.
 */
export const REFUSED_SMS_CODES: readonly string[] = ['800', '808', '870', '878', '881', '882', '883', '888', '979', '991', '999'];

// E.164 country codes are prefix-free: 1 and 7 have one digit, these two, the rest three.
const TWO_DIGIT = new Set(['20', '27', '30', '31', '32', '33', '34', '36', '39', '40', '41', '43', '44', '45', '46', '47', '48', '49',
  '51', '52', '53', '54', '55', '56', '57', '58', '60', '61', '62', '63', '64', '65', '66', '81', '82', '84', '86',
  '90', '91', '92', '93', '94', '95', '98']);

/** The country calling code of `digits` (an E.164 number without `+`, or a code alone). */
function callingCodeOf(digits: string): string {
  if (digits.startsWith('1') || digits.startsWith('7')) return digits.slice(0, 1);
  return TWO_DIGIT.has(digits.slice(0, 2)) ? digits.slice(0, 2) : digits.slice(0, 3);
}

/** True when `code` is a whole country calling code (`44`, not `4` or `441`). */
export function isCallingCode(code: string): boolean {
  // Padded, so a prefix too short for its zone (`4`) does not pass as a whole code.
  return /^[1-9]\d{0,2}$/.test(code) && callingCodeOf(`${code}000`) === code;
}

export type SMSNumberCheck = { ok: true } | { ok: false; message: string };

/** Whether SMS may go to `phone` (E.164, normalised) under the refused ranges and the allowed countries. */
export function checkSMSNumber(ctx: AuthContext, phone: string): SMSNumberCheck {
  const code = callingCodeOf(phone.slice(1));
  if (REFUSED_SMS_CODES.includes(code)) {
    return { ok: false, message: `Numbers starting +${code} (premium, satellite or international network) cannot receive codes` };
  }
  if (ctx.smsCountries !== null && !ctx.smsCountries.has(code)) {
    return { ok: false, message: `Codes are not sent to numbers starting +${code} on this server` };
  }
  return { ok: true };
}

const HOUR_MS = 3_600_000;

/**
 * Takes one SMS from the allowance before a send: the number must pass checkSMSNumber
 * and the hourly cap must have room. Refusals are never silent: an audit event and the
 * operator's delivery log say why.
 */
export async function claimSMSSend(ctx: AuthContext, input: { userId: string; to: string; client: ClientInfo; purpose: 'login' | 'phone_verification' }): Promise<boolean> {
  const now = ctx.now();
  let reason: 'number_not_allowed' | 'sms_hourly_cap' | null = checkSMSNumber(ctx, input.to).ok ? null : 'number_not_allowed';
  if (reason === null && ctx.smsHourlyCap !== null) {
    // One counter per clock hour for the whole fleet: every instance shares the Store row.
    const window = Math.floor(now / HOUR_MS);
    const take = await ctx.store.takeToken(`sms-hour:${window}`, now, ctx.smsHourlyCap, HOUR_MS);
    if (!take.ok) reason = 'sms_hourly_cap';
  }
  if (reason === null) return true;
  const problem = reason === 'sms_hourly_cap'
    ? `the server-wide SMS cap of ${ctx.smsHourlyCap ?? 0} an hour is reached (OTPGATE_SMS_HOURLY_CAP)`
    : 'the number is outside the allowed calling codes (OTPGATE_SMS_COUNTRIES)';
  ctx.onDeliveryError(new Error(`SMS not sent: ${problem}`), 'sms');
  await recordEvent(ctx, 'delivery_failed', { userId: input.userId, method: 'sms', client: input.client, detail: { purpose: input.purpose, reason } });
  return false;
}
