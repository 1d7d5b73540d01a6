/** Sign-up, the two sign-in steps and logout, as HTML pages (API.md "Pages"). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DeliveryChannel, FactorMethod } from '../../auth/index.ts';
import { clientOf } from '../client-info.ts';
import { COOKIE, clearCookie, readCookie, setCookie } from '../cookies.ts';
import { loginPage, logoutPage, otpPage, signupClosedPage, signupPage } from '../views/auth-pages.ts';
import type { OTPModel, SignupModel } from '../views/auth-pages.ts';
import { driftHint } from '../views/components.ts';
import { PASSWORD_INPUT_MAX, flashOf, formField, pageContext, queryParam, redirect, sendHTML, tooManyAttempts, withFlash, unhandled } from './forms.ts';
import { startSession } from '../cookies.ts';
import { rememberReturnURL, safeReturnURL, signInPolicy, takeReturnURL } from '../return-url.ts';

const METHODS: readonly FactorMethod[] = ['totp', 'email', 'sms', 'recovery'];
const isMethod = (value: string): value is FactorMethod => (METHODS as readonly string[]).includes(value);
const isChannel = (value: string): value is DeliveryChannel => value === 'email' || value === 'sms';

const INVALID_CREDENTIALS = 'Invalid username or password';
const DELIVERY_FAILED = "We couldn't send the code — try another method";

export async function loginPages(app: FastifyInstance): Promise<void> {
  const { auth, otpgateConfig: config } = app;
  const signupOpen = () => config.signup === 'open';
  const policy = signInPolicy(config);
  if (policy !== null) app.addHook('onRequest', async (_request, reply) => { void reply.header('content-security-policy', policy); });


  // --- sign-up ---------------------------------------------------------------------

  app.get('/signup', (request, reply) => {
    if (!signupOpen()) return sendHTML(reply, 403, signupClosedPage(pageContext(request, reply)));
    return sendHTML(reply, 200, signupPage(pageContext(request, reply), { values: { username: '', email: '', phone: '' } }));
  });

  app.post('/signup', async (request, reply) => {
    if (!signupOpen()) return sendHTML(reply, 403, signupClosedPage(pageContext(request, reply)));
    const values = { username: formField(request.body, 'username'), email: formField(request.body, 'email'), phone: formField(request.body, 'phone') };
    const password = formField(request.body, 'password');
    const refuse = (status: number, error: string, field: SignupModel['field']) =>
      sendHTML(reply, status, signupPage(pageContext(request, reply), { values, error, field }));
    if (password.length > PASSWORD_INPUT_MAX) return refuse(400, 'Password is too long', 'password');
    const result = await auth.signup(
      { username: values.username, password, email: values.email.trim() || null, phone: values.phone.trim() || null },
      clientOf(request),
    );
    switch (result.status) {
      case 'ok':
        await startSession(request, reply, result.session);
        // An address counts only once verified: "Check your email"; without one, enroll an authenticator now.
        return redirect(reply, result.user.email === null ? '/settings/totp' : '/settings/email');
      case 'signup_closed':
        return sendHTML(reply, 403, signupClosedPage(pageContext(request, reply)));
      case 'rate_limited':
        return refuse(429, tooManyAttempts(reply, result.retryAfter), 'username');
      case 'username_taken':
        return refuse(409, 'That username is taken', 'username');
      case 'weak_password':
        return refuse(400, result.message, 'password');
      case 'invalid_request':
        return refuse(400, result.message, /^Email/.test(result.message) ? 'email' : /^Phone/.test(result.message) ? 'phone' : 'username');
    }
    return unhandled(result);
  });

  // --- step one: the password ------------------------------------------------------

  app.get('/login', (request, reply) => {
    // From the forward-auth gate: `rd` is the app to go back to, kept only when safe (return-url.ts).
    const rd = safeReturnURL(queryParam(request, 'rd'), config);
    if (request.session?.level === 2) return redirect(reply, rd ?? '/');
    rememberReturnURL(request, reply, rd);
    return sendHTML(reply, 200, loginPage(pageContext(request, reply), { notice: flashOf(request), signupOpen: signupOpen() }));
  });

  app.post('/login', async (request, reply) => {
    const username = formField(request.body, 'username');
    const password = formField(request.body, 'password');
    const refuse = (status: number, error: string) =>
      sendHTML(reply, status, loginPage(pageContext(request, reply), { username, error, signupOpen: signupOpen() }));
    if (username === '' || password === '' || password.length > PASSWORD_INPUT_MAX) return refuse(401, INVALID_CREDENTIALS);
    const result = await auth.startLogin(username, password, clientOf(request), readCookie(request, COOKIE.device));
    switch (result.status) {
      case 'invalid_credentials':
        return refuse(401, INVALID_CREDENTIALS);
      case 'rate_limited':
        return refuse(429, tooManyAttempts(reply, result.retryAfter));
      case 'enrollment_required':
        await startSession(request, reply, result.session);
        // A level-1 session passes the gate's one_factor rules only; elsewhere it enrolls.
        return redirect(reply, takeReturnURL(request, reply) ?? '/settings/totp');
      case 'otp_required':
        setCookie(reply, COOKIE.pending, result.pendingLoginId, config.loginTTLSeconds);
        if (result.deliveryFailed) {
          // "Try another method": open the page on one that needs no delivery when there is one.
          const other = result.methods.find((m) => m !== result.deliveryFailed) ?? result.deliveryFailed;
          return redirect(reply, withFlash(`/login/otp?method=${other}`, 'delivery_failed'));
        }
        return redirect(reply, '/login/otp');
    }
    return unhandled(result);
  });

  // --- step two: the code ----------------------------------------------------------

  /** Renders the code page for the pending login, or sends the browser back to /login when it is gone. */
  async function showOTP(request: FastifyRequest, reply: FastifyReply, status: number, wanted: string, extra: Pick<OTPModel, 'error' | 'notice'> & { deliveryFailed?: boolean }): Promise<FastifyReply> {
    const pendingId = readCookie(request, COOKIE.pending);
    const view = pendingId === undefined ? null : await auth.describePendingLogin(pendingId);
    if (!view || view.methods.length === 0) return loginExpired(reply);
    // A code whose delivery failed is stored but never arrived: offer to send, not to type it.
    const sent = extra.deliveryFailed === true ? null : view.sent;
    const current: FactorMethod =
      isMethod(wanted) && view.methods.includes(wanted) ? wanted
      : sent ?? view.methods[0] ?? 'totp';
    const model: OTPModel = {
      methods: view.methods,
      current,
      sent,
      resendAfter: view.resendAfter,
      codeTTLMinutes: Math.max(1, Math.round(config.codeTTLSeconds / 60)),
      error: extra.error,
      notice: extra.notice,
    };
    return sendHTML(reply, status, otpPage(pageContext(request, reply), model));
  }

  function loginExpired(reply: FastifyReply, key: 'login_expired' | 'attempts_exhausted' = 'login_expired'): FastifyReply {
    clearCookie(reply, COOKIE.pending);
    return redirect(reply, withFlash('/login', key));
  }

  app.get('/login/otp', (request, reply) => showOTP(request, reply, 200, queryParam(request, 'method'), {
    notice: flashOf(request),
    deliveryFailed: queryParam(request, 'm') === 'delivery_failed',
  }));

  app.post('/login/otp', async (request, reply) => {
    const pendingId = readCookie(request, COOKIE.pending);
    if (pendingId === undefined) return loginExpired(reply);
    const method = formField(request.body, 'method');
    const code = formField(request.body, 'code').trim();
    if (!isMethod(method)) return showOTP(request, reply, 400, '', { error: { message: 'Choose a way to sign in' } });
    // An empty field is a slip, not a guess: it costs no attempt.
    if (code === '') return showOTP(request, reply, 400, method, { error: { message: 'Enter the code' } });
    const result = await auth.verifyLogin(pendingId, method, code, clientOf(request), readCookie(request, COOKIE.device));
    switch (result.status) {
      case 'enrollment_required':
        // The code proved a factor that no longer counts: enroll one that does.
        await startSession(request, reply, result.session);
        return redirect(reply, takeReturnURL(request, reply) ?? '/settings/totp');
      case 'authenticated': {
        await startSession(request, reply, result.session, result.deviceToken);
        const back = takeReturnURL(request, reply);
        if (back !== null) return redirect(reply, back);
        return redirect(reply, result.method === 'recovery' ? withFlash('/', 'recovery_code_used') : '/');
      }
      case 'invalid_code':
        if (result.attemptsLeft <= 0) return loginExpired(reply, 'attempts_exhausted');
        return showOTP(request, reply, 401, method, {
          error: { message: 'Invalid one-time password', hint: result.driftSeconds === undefined ? undefined : driftHint(result.driftSeconds) },
        });
      case 'code_expired':
        return showOTP(request, reply, 410, method, { error: { message: 'One-time password has expired', hint: 'Send a new code, or choose another way to sign in.' } });
      case 'login_expired':
        return loginExpired(reply);
      case 'method_unavailable':
        return showOTP(request, reply, 400, '', { error: { message: 'That way to sign in is not available for this account' } });
      case 'too_many_attempts':
        return showOTP(request, reply, 429, method, {
          error: result.retryAfter === null
            ? { message: 'Too many attempts — your second factors are locked. Use a recovery code, or ask an administrator to unlock your account.' }
            : { message: tooManyAttempts(reply, result.retryAfter) },
        });
    }
    return unhandled(result);
  });

  app.post('/login/otp/send', async (request, reply) => {
    const pendingId = readCookie(request, COOKIE.pending);
    if (pendingId === undefined) return loginExpired(reply);
    const method = formField(request.body, 'method');
    if (!isChannel(method)) return showOTP(request, reply, 400, '', { error: { message: 'Choose a way to sign in' } });
    const result = await auth.sendLoginCode(pendingId, method, clientOf(request));
    switch (result.status) {
      case 'sent':
        return redirect(reply, `/login/otp?method=${result.channel}`);
      case 'login_expired':
        return loginExpired(reply);
      case 'method_unavailable':
        return showOTP(request, reply, 400, '', { error: { message: 'That way to sign in is not available for this account' } });
      case 'delivery_failed':
        return showOTP(request, reply, 503, method, { error: { message: DELIVERY_FAILED }, deliveryFailed: true });
      case 'rate_limited':
        void reply.header('retry-after', String(result.retryAfter));
        return showOTP(request, reply, 429, method, { error: { message: `Too many codes sent — try again in ${result.retryAfter} seconds` } });
    }
    return unhandled(result);
  });

  // --- logout ----------------------------------------------------------------------

  // GET only asks: a link or a prefetch must never log anyone out.
  app.get('/logout', (request, reply) => {
    if (!request.session) return redirect(reply, '/login');
    return sendHTML(reply, 200, logoutPage(pageContext(request, reply)));
  });

  app.post('/logout', async (request, reply) => {
    if (request.sessionToken) await auth.endSession(request.sessionToken, clientOf(request));
    const pendingId = readCookie(request, COOKIE.pending);
    if (pendingId !== undefined) await auth.endPendingLogin(pendingId);
    request.session = null;
    request.sessionToken = null;
    clearCookie(reply, COOKIE.session);
    clearCookie(reply, COOKIE.pending);
    return redirect(reply, withFlash('/login', 'logged_out'));
  });

  await Promise.resolve();
}
