import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NOTIFY_WINDOW_MS, maskPhone, notificationMessage, notify } from './notifications.ts';
import type { NotificationContext } from './notifications.ts';
import { client, makeEngine } from '../../test/support/engine.ts';

const c: NotificationContext = { to: 'a@example.test', username: 'ada', issuer: 'Example', at: Date.UTC(2026, 0, 2, 3, 4, 5), client };

describe('notificationMessage()', () => {
  it('tells how many recovery codes are left, and asks for new ones at 3 or fewer', () => {
    const text = (left: number) => notificationMessage({ type: 'recovery_code_used', left }, c).text;
    assert.match(text(9), /9 recovery codes are left\./);
    assert.doesNotMatch(text(4), /generate a new set/);
    assert.match(text(3), /3 recovery codes are left\.\nFew are left: generate a new set/);
    assert.match(text(1), /1 recovery code is left\./);
    assert.match(text(0), /No recovery codes are left: generate a new set on your account page now\./);
  });

  it('is an email notification with the time in UTC', () => {
    const message = notificationMessage({ type: 'new_sign_in', method: 'sms' }, c);
    assert.equal(message.kind, 'notification');
    assert.equal(message.channel, 'email');
    assert.match(message.text, /^When: 2026-01-02 03:04:05 UTC$/m);
    assert.match(message.text, /with a code sent by SMS/);
  });

  it('keeps a client-chosen user agent on one line, bounded', () => {
    const text = notificationMessage({ type: 'new_sign_in', method: 'totp' }, { ...c, client: { ip: '192.0.2.1', userAgent: `evil\r\nWhen: fake\u202e${'x'.repeat(500)}` } }).text;
    const line = text.split('\n').find((l) => l.startsWith('Browser: ')) ?? '';
    assert.match(line, /^Browser: evil When: fake x+…$/);
    assert.ok([...line].length <= 'Browser: '.length + 200);
    assert.equal(text.match(/^When:/gm)?.length, 1);
  });
});

describe('maskPhone()', () => {
  it('shows the first two and last four digits', () => {
    assert.equal(maskPhone('+14155550123'), '+14•••••0123');
    assert.equal(maskPhone('+4915123456789'), '+49•••••••6789');
  });
});

describe('notify()', () => {
  it('never throws, reports a failed send, and settle() waits for it', async () => {
    const errors: unknown[] = [];
    const e = await makeEngine({ onDeliveryError: (error) => errors.push(error) });
    const created = await e.auth.createAccount({ username: 'ada', password: 'tangerine-kayak-91', email: 'ada@example.test' });
    assert.ok(created.status === 'ok');
    e.outbox.failing = true;
    notify(e.auth.context, created.user.id, { type: 'recovery_codes_regenerated' }, client);
    assert.equal(e.auth.context.notifications.size, 1);
    await e.auth.context.settle();
    assert.equal(e.auth.context.notifications.size, 0);
    assert.equal(errors.length, 1);
    e.outbox.failing = false;
    e.advance(NOTIFY_WINDOW_MS); // the failed one used the 10-minute window of its kind
    notify(e.auth.context, created.user.id, { type: 'recovery_codes_regenerated' }, client);
    await e.auth.context.settle();
    assert.equal(e.outbox.messages.at(-1)?.kind, 'notification');
    await e.close();
  });

  it('survives an error handler that throws', async () => {
    const e = await makeEngine({ onDeliveryError: () => { throw new Error('handler broke'); } });
    const created = await e.auth.createAccount({ username: 'bob', password: 'tangerine-kayak-91', email: 'bob@example.test' });
    assert.ok(created.status === 'ok');
    e.outbox.failing = true;
    notify(e.auth.context, created.user.id, { type: 'password_changed', revokedSessions: 0 }, client);
    await e.auth.context.settle();
    await e.close();
  });

  it('sends nothing to an account without an email address', async () => {
    const e = await makeEngine();
    const created = await e.auth.createAccount({ username: 'cyd', password: 'tangerine-kayak-91', phone: '+14155550123' });
    assert.ok(created.status === 'ok');
    notify(e.auth.context, created.user.id, { type: 'password_changed', revokedSessions: 0 }, client);
    await e.auth.context.settle();
    assert.equal(e.outbox.messages.length, 0);
    await e.close();
  });
});
