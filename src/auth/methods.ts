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
    // An address given at sign-up counts from the start: the first code sent there proves it.
    email: user.email !== null,
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
