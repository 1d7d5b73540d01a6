import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeliveryChannel, OutgoingMessage, Sender } from '../auth/ports.ts';
import { createCompositeSender } from './composite.ts';
import { DeliveryError } from './errors.ts';

function recorder(channels: DeliveryChannel[]): Sender & { sent: OutgoingMessage[]; closed: number } {
  const r = {
    sent: [] as OutgoingMessage[],
    closed: 0,
    supports: (channel: DeliveryChannel) => channels.includes(channel),
    send(message: OutgoingMessage) {
      r.sent.push(message);
      return Promise.resolve();
    },
    close() {
      r.closed++;
    },
  };
  return r;
}

const email: OutgoingMessage = { channel: 'email', to: 'a@example.test', kind: 'code', subject: 's', text: 't' };
const sms: OutgoingMessage = { channel: 'sms', to: '+14155550123', kind: 'code', subject: '', text: 't' };

describe('createCompositeSender()', () => {
  it('routes each channel to its sender', async () => {
    const smtp = recorder(['email']);
    const webhook = recorder(['sms']);
    const composite = createCompositeSender({ email: smtp, sms: webhook });
    await composite.send(email);
    await composite.send(sms);
    assert.deepEqual(smtp.sent, [email]);
    assert.deepEqual(webhook.sent, [sms]);
  });

  it('falls back only for a channel with nothing configured', async () => {
    const smtp = recorder(['email']);
    const console = recorder(['email', 'sms']);
    const composite = createCompositeSender({ email: smtp, fallback: console });
    await composite.send(sms);
    await composite.send(email);
    assert.deepEqual(console.sent, [sms]);
    assert.deepEqual(smtp.sent, [email]);
  });

  it('a configured sender that fails does not fall back', async () => {
    const failing: Sender = { supports: () => true, send: () => Promise.reject(new Error('down')) };
    const console = recorder(['email', 'sms']);
    await assert.rejects(createCompositeSender({ email: failing, fallback: console }).send(email), /down/);
    assert.equal(console.sent.length, 0);
  });

  it('refuses a channel nobody delivers, as no_sender', async () => {
    const composite = createCompositeSender({ email: recorder(['email']) });
    assert.equal(composite.supports('sms'), false);
    assert.equal(composite.supports('email'), true);
    const error = await composite.send(sms).then(() => assert.fail(), (e: unknown) => e);
    assert.ok(error instanceof DeliveryError);
    assert.equal(error.code, 'no_sender');
  });

  it('closes each sender once', () => {
    const both = recorder(['email', 'sms']);
    createCompositeSender({ email: both, sms: both }).close();
    assert.equal(both.closed, 1);
  });
});
