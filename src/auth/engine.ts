/** The login engine as one object: what the HTTP layer and the CLI call. No HTTP here. */
import type { DeliveryChannel, FactorMethod, Session, User } from './ports.ts';
import type { AuthContext, AuthOptions, ClientInfo } from './context.ts';
import { createContext } from './context.ts';
import * as accounts from './accounts.ts';
import * as factors from './factors.ts';
import * as phones from './phone.ts';
import * as email from './email.ts';
import * as reauth from './reauth.ts';
import * as login from './login.ts';
import * as sessions from './sessions.ts';
import * as keys from './key-usage.ts';
import * as oneTimeView from './one-time-view.ts';
import * as devices from './devices.ts';
import * as passwordLock from './password-lock.ts';
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
    verifyLogin: (pendingLoginId: string, method: FactorMethod, code: string, client: ClientInfo, deviceToken?: string) => login.verifyLogin(ctx, pendingLoginId, method, code, client, deviceToken),
    describePendingLogin: (pendingLoginId: string) => login.describePendingLogin(ctx, pendingLoginId),

    validateSession: (token: string) => sessions.validateSession(ctx, token),
    endSession: (token: string, client: ClientInfo) => sessions.endSession(ctx, token, client),
    endPendingLogin: (pendingLoginId: string) => sessions.endPendingLogin(ctx, pendingLoginId),
    listSessions: (current: Session) => sessions.listSessions(ctx, current),
    revokeSession: (current: Session, id: string, client: ClientInfo, proof?: reauth.Reauthentication) => sessions.revokeSession(ctx, current, id, client, proof),
    listDevices: (current: Session, deviceToken?: string) => devices.listDevices(ctx, current, deviceToken),
    revokeDevice: (current: Session, id: string, client: ClientInfo, proof?: reauth.Reauthentication) => devices.revokeDevice(ctx, current, id, client, proof),
    /** Lifts the password lock for strangers with the mailed single-use link. */
    unlockWithLink: (token: string, client: ClientInfo) => passwordLock.unlockWithLink(ctx, token, client),
    /** True while the session's full sign-in is recent enough to stand for re-authentication. */
    isFreshSignIn: (session: Session) => reauth.isFreshSignIn(ctx, session),

    beginTOTPEnrollment: (session: Session, label?: string, proof?: reauth.Reauthentication, client?: ClientInfo) => factors.beginTOTPEnrollment(ctx, session, label, proof, client),
    confirmTOTPEnrollment: (session: Session, factorId: string, code: string, client: ClientInfo, options?: { endOtherSessions?: boolean }) =>
      factors.confirmTOTPEnrollment(ctx, session, factorId, code, client, options),
    removeTOTPFactor: (session: Session, factorId: string, proof: reauth.Reauthentication, client: ClientInfo) => factors.removeTOTPFactor(ctx, session, factorId, proof, client),
    regenerateRecoveryCodes: (session: Session, proof: reauth.Reauthentication, client: ClientInfo) => factors.regenerateRecoveryCodes(ctx, session, proof, client),
    startPhoneVerification: (session: Session, phone: string, client: ClientInfo, proof?: reauth.Reauthentication) => phones.startPhoneVerification(ctx, session, phone, client, proof),
    confirmPhoneVerification: (session: Session, code: string, client: ClientInfo) => phones.confirmPhoneVerification(ctx, session, code, client),

    /** Keeps a secret for one view by this session (Post/Redirect/Get); returns the handle. */
    holdForOneView: (session: Session, secret: oneTimeView.OneTimeSecret) => oneTimeView.holdForOneView(ctx, session, secret),
    /** The secret behind a handle, once, for the session it was kept for; else null. */
    takeOneView: <K extends oneTimeView.OneTimeSecretKind>(session: Session, handle: string, kind: K) => oneTimeView.takeOneView(ctx, session, handle, kind),

    verifyEmail: (session: Session, code: string, client: ClientInfo) => email.verifyEmail(ctx, session, code, client),
    resendEmailVerification: (session: Session, client: ClientInfo) => email.resendEmailVerification(ctx, session, client),
    changeEmail: (session: Session, address: string, proof: reauth.Reauthentication | undefined, client: ClientInfo) => email.changeEmail(ctx, session, address, proof, client),

    /** Waits for security notifications still being sent (tests, shutdown). */
    flushNotifications: () => ctx.settle(),

    /** The forward-auth gate's view of a session token: the live session and its account (username, verified email, groups), or null. */
    identifyToken: (token: string) => identity.identifyToken(ctx, token),
    listGroups: (userId: string) => ctx.store.listUserGroups(userId),
    addToGroup: (userId: string, group: string) => ctx.store.addUserGroup(userId, group),
    removeFromGroup: (userId: string, group: string) => ctx.store.removeUserGroup(userId, group),

    listAudit: (options: { userId?: string; limit: number }) => ctx.store.listAudit(options),
    /** Per secret-key id: how many records it still seals or keys, and whether it is configured (`otpgate keys check`). */
    checkKeys: () => keys.checkKeys(ctx),

    /** Deletes expired rows once, and audit events past the retention; answers how many rows went. */
    sweep: () => sweepOnce(ctx),

    /** Sweeps expired rows every `intervalMs` without holding the process open; returns a stop function. */
    startSweeper(intervalMs = 60_000, onError: (error: unknown) => void = () => undefined): () => void {
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        sweepOnce(ctx).catch(onError).finally(() => { running = false; });
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}

/** What the sweeper deletes: expired rows (sessions by their idle cutoff) and audit events past the retention. */
function sweepOnce(ctx: AuthContext): Promise<number> {
  return ctx.store.sweep(ctx.now(), sessions.idleCutoffMs(ctx), ctx.auditRetentionMs);
}
