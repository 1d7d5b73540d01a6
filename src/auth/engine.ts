/** The login engine as one object: what the HTTP layer and the CLI call. No HTTP here. */
import type { DeliveryChannel, FactorMethod, Session, User } from './ports.ts';
import type { AuthOptions, ClientInfo } from './context.ts';
import { createContext } from './context.ts';
import * as accounts from './accounts.ts';
import * as factors from './factors.ts';
import * as reauth from './reauth.ts';
import * as login from './login.ts';
import * as sessions from './sessions.ts';
import * as identity from './identity.ts';

export type Auth = ReturnType<typeof createAuth>;

export function createAuth(options: AuthOptions) {
  const ctx = createContext(options);
  return {
    context: ctx,
    signup: (input: accounts.NewAccount, client: ClientInfo) => accounts.signup(ctx, input, client),
    createAccount: (input: accounts.NewAccount) => accounts.createAccount(ctx, input, null),
    changePassword: (session: Session, current: string, next: string, client: ClientInfo) => accounts.changePassword(ctx, session, current, next, client),
    overview: (session: Session) => accounts.accountOverview(ctx, session),
    disableAccount: (userId: string) => accounts.disableAccount(ctx, userId),
    enableAccount: (userId: string) => accounts.enableAccount(ctx, userId),
    unlockAccount: (user: User) => accounts.unlockAccount(ctx, user),
    resetSecondFactors: (user: User) => accounts.resetSecondFactors(ctx, user),

    startLogin: (username: string, password: string, client: ClientInfo, deviceToken?: string) => login.startLogin(ctx, username, password, client, deviceToken),
    sendLoginCode: (pendingLoginId: string, channel: DeliveryChannel, client: ClientInfo) => login.sendLoginCode(ctx, pendingLoginId, channel, client),
    verifyLogin: (pendingLoginId: string, method: FactorMethod, code: string, client: ClientInfo) => login.verifyLogin(ctx, pendingLoginId, method, code, client),
    describePendingLogin: (pendingLoginId: string) => login.describePendingLogin(ctx, pendingLoginId),

    validateSession: (token: string) => sessions.validateSession(ctx, token),
    endSession: (token: string, client: ClientInfo) => sessions.endSession(ctx, token, client),
    listSessions: (current: Session) => sessions.listSessions(ctx, current),
    revokeSession: (current: Session, id: string, client: ClientInfo, proof?: reauth.Reauthentication) => sessions.revokeSession(ctx, current, id, client, proof),
    /** True while the session's full sign-in is recent enough to stand for re-authentication. */
    isFreshSignIn: (session: Session) => reauth.isFreshSignIn(ctx, session),

    beginTOTPEnrollment: (session: Session, label?: string, proof?: reauth.Reauthentication, client?: ClientInfo) => factors.beginTOTPEnrollment(ctx, session, label, proof, client),
    confirmTOTPEnrollment: (session: Session, factorId: string, code: string, client: ClientInfo) => factors.confirmTOTPEnrollment(ctx, session, factorId, code, client),
    removeTOTPFactor: (session: Session, factorId: string, proof: reauth.Reauthentication, client: ClientInfo) => factors.removeTOTPFactor(ctx, session, factorId, proof, client),
    regenerateRecoveryCodes: (session: Session, proof: reauth.Reauthentication, client: ClientInfo) => factors.regenerateRecoveryCodes(ctx, session, proof, client),
    startPhoneVerification: (session: Session, phone: string, client: ClientInfo, proof?: reauth.Reauthentication) => factors.startPhoneVerification(ctx, session, phone, client, proof),
    confirmPhoneVerification: (session: Session, code: string, client: ClientInfo) => factors.confirmPhoneVerification(ctx, session, code, client),

    /** Waits for security notifications still being sent (tests, shutdown). */
    flushNotifications: () => ctx.settle(),

    /** The forward-auth gate's view of a session's account (username, email, groups), or null. */
    identify: (session: Session) => identity.identify(ctx, session),
    listGroups: (userId: string) => ctx.store.listUserGroups(userId),
    addToGroup: (userId: string, group: string) => ctx.store.addUserGroup(userId, group),
    removeFromGroup: (userId: string, group: string) => ctx.store.removeUserGroup(userId, group),

    listAudit: (options: { userId?: string; limit: number }) => ctx.store.listAudit(options),

    /** Sweeps expired rows every `intervalMs` without holding the process open; returns a stop function. */
    startSweeper(intervalMs = 60_000, onError: (error: unknown) => void = () => undefined): () => void {
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        ctx.store.sweep(ctx.now(), ctx.sessionIdleMs).catch(onError).finally(() => { running = false; });
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
