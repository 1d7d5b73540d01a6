/**
 * Development delivery: prints messages to the server's own terminal, never to a
 * client. It is the only place a code is written out on purpose; use SMTP or an SMS
 * provider in production.
 */
import type { DeliveryChannel, OutgoingMessage, Sender } from '../auth/ports.ts';
import { escapeControls } from '../auth/normalize.ts';

export function createConsoleSender(write: (text: string) => void = (text) => process.stdout.write(text)): Sender {
  return {
    supports: (_channel: DeliveryChannel) => true,
    send(message: OutgoingMessage): Promise<void> {
      // Addresses and texts may hold terminal escapes (old rows, user agents): shown, never run.
      const heading = escapeControls(message.channel === 'email' ? `email to ${message.to}: ${message.subject}` : `SMS to ${message.to}`);
      const body = message.text.split('\n').map((line) => `  | ${escapeControls(line)}`).join('\n');
      write(`\n[console sender] ${heading}\n${body}\n\n`);
      return Promise.resolve();
    },
  };
}
