/**
 * One Sender for the engine: email to the SMTP sender, SMS to the SMS sender. A channel
 * with nothing configured goes to the fallback (the development console) when one is
 * given; a configured channel never falls back, so a failing SMTP server cannot leak
 * codes to a terminal.
 */
import type { DeliveryChannel, OutgoingMessage, Sender } from '../auth/ports.ts';
import { DeliveryError } from './errors.ts';

export interface CompositeSenderOptions {
  email?: Sender;
  sms?: Sender;
  /** For channels with nothing configured. */
  fallback?: Sender;
}

export interface CompositeSender extends Sender {
  /** Closes every sender that can be closed (pooled SMTP connections). */
  close(): void;
}

export function createCompositeSender(options: CompositeSenderOptions): CompositeSender {
  const route = (channel: DeliveryChannel): Sender | undefined => options[channel] ?? options.fallback;
  return {
    supports: (channel: DeliveryChannel) => route(channel)?.supports(channel) ?? false,
    send(message: OutgoingMessage): Promise<void> {
      const sender = route(message.channel);
      if (!sender?.supports(message.channel)) {
        return Promise.reject(new DeliveryError('composite', 'no_sender', `nothing is configured to deliver ${message.channel}`));
      }
      return sender.send(message);
    },
    close(): void {
      for (const sender of new Set([options.email, options.sms, options.fallback])) {
        if (sender && 'close' in sender && typeof sender.close === 'function') (sender as { close(): void }).close();
      }
    },
  };
}
