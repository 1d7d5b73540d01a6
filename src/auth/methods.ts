/** Which second factors an account has, as the login offers them. */
import type { DeliveryChannel, FactorMethod, User } from './ports.ts';
import type { AuthContext } from './context.ts';

export interface AccountFactors {
  /** Confirmed authenticators. */
  totp: number;
  email: boolean;
  sms: boolean;
  recoveryCodesLeft: number;
}

export async function accountFactors(ctx: AuthContext, user: User): Promise<AccountFactors> {
  const [factors, recoveryCodesLeft] = await Promise.all([
    ctx.store.listTOTPFactors(user.id),
    ctx.store.countRecoveryCodes(user.id),
  ]);
  return {
    totp: factors.filter((f) => f.confirmedAt !== null).length,
    // An address counts once proven with a code (or vouched for by the operator): someone
    // else's address given at sign-up must never receive sign-in codes.
    email: user.email !== null && user.emailVerifiedAt !== null,
    // A number counts only once verified with a code (SECURITY.md item 19).
    sms: user.phone !== null && user.phoneVerifiedAt !== null,
    recoveryCodesLeft,
  };
}

/**
 * The methods a login may use, in the order offered. SMS is a restricted authenticator
 * (SP 800-63B rev 4 §3.1.3.3; SECURITY.md item 19): it is offered only beside an
 * authenticator app, never as the only way in. Recovery codes only beside a real factor.
 */
export function loginMethods(ctx: AuthContext, factors: AccountFactors): FactorMethod[] {
  const methods: FactorMethod[] = [];
  const totp = factors.totp > 0 && ctx.factors.has('totp');
  if (totp) methods.push('totp');
  if (totp && factors.sms && ctx.factors.has('sms')) methods.push('sms');
  if (factors.email && ctx.factors.has('email')) methods.push('email');
  if (methods.length > 0 && factors.recoveryCodesLeft > 0 && ctx.factors.has('recovery')) methods.push('recovery');
  return methods;
}

/**
 * True when the account has a way to complete sign-in under OTPGATE_FACTORS: from then on
 * no password-only (level 1) session of it may exist (I13).
 */
export async function canCompleteSignIn(ctx: AuthContext, user: User): Promise<boolean> {
  return loginMethods(ctx, await accountFactors(ctx, user)).length > 0;
}

/**
 * Methods that prove the holder but no longer count (OTPGATE_FACTORS changed): the only way
 * such an account reaches enrollment. Today: a verified email when `email` is not a factor.
 */
export function enrollmentProofMethods(ctx: AuthContext, user: User): FactorMethod[] {
  return user.email !== null && user.emailVerifiedAt !== null && !ctx.factors.has('email') ? ['email'] : [];
}

/** The channel to send a code on at once, when the account's default method is email or SMS. */
export function defaultChannel(user: User, methods: FactorMethod[]): DeliveryChannel | null {
  const preferred = user.preferredMethod;
  if (preferred && methods.includes(preferred)) {
    return preferred === 'email' || preferred === 'sms' ? preferred : null;
  }
  const first = methods[0];
  return first === 'email' || first === 'sms' ? first : null;
}

export function isChannel(method: FactorMethod): method is DeliveryChannel {
  return method === 'email' || method === 'sms';
}
