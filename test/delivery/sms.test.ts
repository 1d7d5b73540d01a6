/** The SMS senders against an HTTP receiver on loopback: the signed webhook and the Twilio-style API. */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createSMSWebhookSender } from '../../src/delivery/sms-webhook.ts';
import { createTwilioSender } from '../../src/delivery/twilio.ts';
import { createCompositeSender } from '../../src/delivery/composite.ts';
import { DeliveryError } from '../../src/delivery/errors.ts';
import type { OutgoingMessage, Sender } from '../../src/auth/index.ts';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';
import { client, makeEngine } from '../support/engine.ts';
import { answer, closedPort, memorySender, startReceiver } from './helpers.ts';
import type { Receiver } from './helpers.ts';

const SECRET = 'whsec-0123456789abcdef';
const CODE = '402913';
const sms: OutgoingMessage = { channel: 'sms', to: '+14155550123', kind: 'code', subject: '', text: `${CODE} is your otpgate sign-in code. It expires in 5 min. Never share it.` };

/** The receiver's check, exactly as the comment block in src/delivery/sms-webhook.ts tells it. */
function verifyWebhook(rawBody: string, header: string | undefined, secret: string, nowSeconds: number, idempotencyKey: unknown): boolean {
  const fields = new Map((header ?? '').split(',').map((pair) => pair.split('=', 2) as [string, string]));
  const t = Number(fields.get('t'));
  const v2 = fields.get('v2') ?? '';
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > 300) return false;
  const expected = Buffer.from(createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${t}.${String(idempotencyKey)}.${rawBody}`).digest('hex'));
  const given = Buffer.from(v2);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

async function failure(sender: Sender, message: OutgoingMessage = sms): Promise<DeliveryError> {
  const error = await sender.send(message).then(() => assert.fail('expected the send to fail'), (e: unknown) => e);
  assert.ok(error instanceof DeliveryError, String(error));
  const logged = `${error.message} ${error.cause instanceof Error ? `${error.cause.message} ${String(error.cause.cause)}` : ''}`;
  assert.ok(!logged.includes(CODE) && !logged.includes('sign-in code'), logged);
  return error;
}

let receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  receivers = [];
});
async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
}

describe('createSMSWebhookSender()', () => {
  it('POSTs {to, text} as JSON, signed so a receiver following the docs accepts it', async () => {
    const r = await receiver((_req, _i, res) => answer(res, 204));
    const url = new URL('/hooks/sms?token=abc', r.url);
    await createSMSWebhookSender({ url, secret: SECRET }).send(sms);
    assert.equal(r.requests.length, 1);
    const [request] = r.requests;
    assert.ok(request);
    assert.equal(request.method, 'POST');
    assert.equal(request.url, '/hooks/sms?token=abc');
    assert.equal(request.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(request.body), { to: '+14155550123', text: sms.text });
    const signature = request.headers['x-otpgate-signature'];
    assert.match(String(signature), /^t=\d+,v2=[0-9a-f]{64}$/);
    assert.ok(verifyWebhook(request.body, String(signature), SECRET, Math.floor(Date.now() / 1000), request.headers['idempotency-key']));
    assert.ok(!verifyWebhook(request.body, String(signature), 'another-secret-123', Math.floor(Date.now() / 1000), request.headers['idempotency-key']), 'another secret fails');
    assert.ok(!verifyWebhook(request.body.replace('+1415', '+1416'), String(signature), SECRET, Math.floor(Date.now() / 1000), request.headers['idempotency-key']), 'a changed body fails');
    assert.ok(!verifyWebhook(request.body, String(signature), SECRET, Math.floor(Date.now() / 1000) + 301, request.headers['idempotency-key']), 'an old request fails');
    assert.match(String(request.headers['idempotency-key']), /^[0-9a-f-]{36}$/);
  });

  it('signs with the time it sends at', async () => {
    const r = await receiver((_req, _i, res) => answer(res, 200));
    await createSMSWebhookSender({ url: r.url, secret: SECRET, clock: () => 1_767_268_800_500 }).send(sms);
    const request = r.requests[0];
    assert.ok(request);
    assert.match(String(request.headers['x-otpgate-signature']), /^t=1767268800,/);
    assert.ok(verifyWebhook(request.body, String(request.headers['x-otpgate-signature']), SECRET, 1_767_268_800, request.headers['idempotency-key']));
  });

  it('retries a 5xx once with the same Idempotency-Key and body, freshly signed', async () => {
    const r = await receiver((_req, i, res) => answer(res, i === 0 ? 503 : 202));
    await createSMSWebhookSender({ url: r.url, secret: SECRET, retryDelayMs: 0 }).send(sms);
    assert.equal(r.requests.length, 2);
    const [first, second] = r.requests;
    assert.ok(first && second);
    assert.equal(first.headers['idempotency-key'], second.headers['idempotency-key']);
    assert.equal(first.body, second.body);
    assert.ok(verifyWebhook(second.body, String(second.headers['x-otpgate-signature']), SECRET, Math.floor(Date.now() / 1000), second.headers['idempotency-key']));
  });

  it('fails as unavailable after a second 5xx, and sends a new key for the next message', async () => {
    const r = await receiver((_req, _i, res) => answer(res, 500));
    const sender = createSMSWebhookSender({ url: r.url, secret: SECRET, retryDelayMs: 0 });
    const error = await failure(sender);
    assert.equal(error.code, 'unavailable');
    assert.equal(error.message, `sms-webhook: HTTP 500 twice (${r.url.host})`);
    await failure(sender);
    assert.equal(r.requests.length, 4);
    assert.notEqual(r.requests[0]?.headers['idempotency-key'], r.requests[2]?.headers['idempotency-key']);
  });

  it('does not retry a 4xx', async () => {
    const r = await receiver((_req, _i, res) => answer(res, 400, '{"error":"bad number +14155550123"}'));
    const error = await failure(createSMSWebhookSender({ url: r.url, secret: SECRET, retryDelayMs: 0 }));
    assert.equal(error.code, 'rejected');
    assert.equal(r.requests.length, 1);
  });

  it('times out a receiver that never answers, without retrying', async () => {
    const r = await receiver(() => undefined);
    const error = await failure(createSMSWebhookSender({ url: r.url, secret: SECRET, timeoutMs: 200, retryDelayMs: 0 }));
    assert.equal(error.code, 'timeout');
    assert.equal(error.message, `sms-webhook: no answer within 200 ms (${r.url.host})`);
    assert.equal(r.requests.length, 1);
  });

  it('retries a refused connection once, then reports it with the host only', async () => {
    const url = new URL(`http://127.0.0.1:${await closedPort()}/hook?token=s3cr3t`);
    const error = await failure(createSMSWebhookSender({ url, secret: SECRET, retryDelayMs: 0 }));
    assert.equal(error.code, 'connection_refused');
    assert.equal(error.message, `sms-webhook: connection refused (${url.host})`);
  });

  it('does not follow a redirect', async () => {
    const r = await receiver((_req, _i, res) => {
      res.writeHead(307, { location: 'http://127.0.0.1:9/elsewhere' });
      res.end();
    });
    assert.equal((await failure(createSMSWebhookSender({ url: r.url, secret: SECRET, retryDelayMs: 0 }))).code, 'protocol_error');
    assert.equal(r.requests.length, 1);
  });

  it('refuses a number that is not E.164 without a request', async () => {
    const r = await receiver((_req, _i, res) => answer(res, 200));
    const sender = createSMSWebhookSender({ url: r.url, secret: SECRET });
    for (const to of ['14155550123', '+0415555012', '+1 415 555 0123', '+1415555012345678']) {
      assert.equal((await failure(sender, { ...sms, to })).code, 'invalid_recipient');
    }
    assert.equal(r.requests.length, 0);
  });
});

describe('createTwilioSender()', () => {
  const SID = `AC${'0123456789abcdef'.repeat(2)}`;
  const TOKEN = 'f00dfeedf00dfeedf00dfeedf00dfeed';

  it('POSTs To, From and Body as a form to the Messages API with Basic auth', async () => {
    const r = await receiver((_req, _i, res) => answer(res, 201, '{"sid":"SM123","status":"queued"}'));
    await createTwilioSender({ accountSID: SID, authToken: TOKEN, from: '+14155550100', baseURL: r.url }).send(sms);
    const request = r.requests[0];
    assert.ok(request);
    assert.equal(request.method, 'POST');
    assert.equal(request.url, `/2010-04-01/Accounts/${SID}/Messages.json`);
    assert.equal(request.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(request.headers.authorization, `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`);
    const form = new URLSearchParams(request.body);
    assert.deepEqual([...form.keys()], ['To', 'From', 'Body']);
    assert.equal(form.get('To'), '+14155550123');
    assert.equal(form.get('From'), '+14155550100');
    assert.equal(form.get('Body'), sms.text);
  });

  it('sends from a Messaging Service when given its SID', async () => {
    const r = await receiver((_req, _i, res) => answer(res, 201, '{}'));
    const service = `MG${'ab'.repeat(16)}`;
    await createTwilioSender({ accountSID: SID, authToken: TOKEN, from: service, baseURL: r.url }).send(sms);
    const form = new URLSearchParams(r.requests[0]?.body);
    assert.equal(form.get('MessagingServiceSid'), service);
    assert.equal(form.get('From'), null);
  });

  it('never retries: a 5xx fails after one request', async () => {
    const r = await receiver((_req, _i, res) => answer(res, 503, '{"code":20503,"message":"Service unavailable"}'));
    const error = await failure(createTwilioSender({ accountSID: SID, authToken: TOKEN, from: '+14155550100', baseURL: r.url }));
    assert.equal(error.code, 'unavailable');
    assert.equal(r.requests.length, 1);
  });

  it('reports Twilio\'s error code but not its message text (which quotes the number)', async () => {
    const r = await receiver((_req, _i, res) => answer(res, 400, '{"code":21211,"message":"The \'To\' number +14155550123 is not a valid phone number.","status":400}'));
    const error = await failure(createTwilioSender({ accountSID: SID, authToken: TOKEN, from: '+14155550100', baseURL: r.url }));
    assert.equal(error.code, 'rejected');
    assert.equal(error.message, `twilio: HTTP 400, Twilio error 21211 (${r.url.host})`);
    const denied = await receiver((_req, _i, res) => answer(res, 401, '{"code":20003}'));
    assert.equal((await failure(createTwilioSender({ accountSID: SID, authToken: TOKEN, from: '+14155550100', baseURL: denied.url }))).code, 'auth_failed');
  });

  it('times out a provider that never answers, after one request', async () => {
    const r = await receiver(() => undefined);
    const error = await failure(createTwilioSender({ accountSID: SID, authToken: TOKEN, from: '+14155550100', baseURL: r.url, timeoutMs: 200 }));
    assert.equal(error.code, 'timeout');
    assert.equal(r.requests.length, 1);
  });

  it('refuses a number that is not E.164', async () => {
    const r = await receiver((_req, _i, res) => answer(res, 201));
    const error = await failure(createTwilioSender({ accountSID: SID, authToken: TOKEN, from: '+14155550100', baseURL: r.url }), { ...sms, to: '555-0123' });
    assert.equal(error.code, 'invalid_recipient');
    assert.equal(r.requests.length, 0);
  });
});

describe('the engine sending SMS through the webhook', () => {
  it('sends login codes only to a verified number', async () => {
    const r = await receiver((_req, _i, res) => answer(res, 200));
    const email = memorySender();
    const e = await makeEngine({ sender: createCompositeSender({ email, sms: createSMSWebhookSender({ url: r.url, secret: SECRET }) }) });
    const PASSWORD = 'tangerine-kayak-91';
    await e.auth.createAccount({ username: 'sam', password: PASSWORD, phone: '+1 415 555 0123' });
    const start = await e.auth.startLogin('sam', PASSWORD, client);
    assert.equal(start.status, 'enrollment_required', 'an unverified number is no second factor');
    assert.equal(r.requests.length, 0, 'and gets no code');
    if (start.status !== 'enrollment_required') return;

    // Only a full sign-in may add a number (issue 12 finding 3): first an authenticator.
    const enrolled = await e.auth.beginTOTPEnrollment(start.session.session, 'Phone');
    if (enrolled.status !== 'ok') return assert.fail();
    const confirmed = await e.auth.confirmTOTPEnrollment(start.session.session, enrolled.enrollment.factorId, generateTOTP(decodeBase32(enrolled.enrollment.secret), e.now()), client);
    if (confirmed.status !== 'ok' || !confirmed.session) return assert.fail();
    const full = confirmed.session.session;

    assert.equal((await e.auth.startPhoneVerification(full, '+14155550123', client)).status, 'sent');
    const verification = JSON.parse(r.requests[0]?.body ?? '{}') as { to: string; text: string };
    assert.equal(verification.to, '+14155550123');
    const code = /\d{6}/.exec(verification.text)?.[0] ?? '';
    assert.equal((await e.auth.confirmPhoneVerification(full, code, client)).status, 'ok');
    assert.equal(r.requests.length, 1);

    const again = await e.auth.startLogin('sam', PASSWORD, client);
    assert.ok(again.status === 'otp_required');
    assert.ok(again.methods.includes('sms'));
    assert.equal((await e.auth.sendLoginCode(again.pendingLoginId, 'sms', client)).status, 'sent');
    assert.equal(r.requests.length, 2);
    const login = JSON.parse(r.requests[1]?.body ?? '{}') as { to: string; text: string };
    assert.equal((await e.auth.verifyLogin(again.pendingLoginId, 'sms', /\d{6}/.exec(login.text)?.[0] ?? '', client)).status, 'authenticated');
    await e.auth.context.settle();
    assert.equal(email.messages.length, 0, 'no email address: no notifications');
    await e.close();
  });
});
