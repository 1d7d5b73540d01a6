/**
 * Development delivery: prints messages to the server's own terminal, never to a
 * client. It is the only place a code is written out on purpose; use SMTP or an SMS
 * provider in production.
 */
import type { DeliveryChannel, OutgoingMessage, Sender } from '../auth/ports.ts';

export function createConsoleSender(write: (text: string) => void = (text) => process.stdout.write(text)): Sender {
  return {
    supports: (_channel: DeliveryChannel) => true,
    send(message: OutgoingMessage): Promise<void> {
      const heading = message.channel === 'email' ? `email to ${message.to}: ${message.subject}` : `SMS to ${message.to}`;
      const body = message.text.split('\n').map((line) => `  | ${line}`).join('\n');
      write(`\n[console sender] ${heading}\n${body}\n\n`);
      return Promise.resolve();
    },
  };
}
