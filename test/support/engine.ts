/** A real engine on an in-memory SQLite store, a controllable clock and a sender that keeps what it sends. */
import { randomBytes } from 'node:crypto';
import type { AuthOptions, ClientInfo, OutgoingMessage, Sender } from '../../src/auth/index.ts';
import { createAuth } from '../../src/auth/index.ts';
import { openSQLiteStore } from '../../src/store/sqlite.ts';

/** Fast argon2id for tests that are not about hashing (the real parameters are tested on their own). */
export const FAST_ARGON2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

export interface Outbox extends Sender {
  messages: OutgoingMessage[];
  /** The newest 6-digit code sent to `to`. */
  lastCode(to: string): string;
  failing: boolean;
}

export function createOutbox(): Outbox {
  const outbox: Outbox = {
    messages: [],
    failing: false,
    supports: () => true,
    send(message) {
      if (outbox.failing) return Promise.reject(new Error('delivery refused'));
      outbox.messages.push(message);
      return Promise.resolve();
    },
    lastCode(to) {
      const message = outbox.messages.filter((m) => m.to === to && m.kind === 'code').at(-1);
      const code = message?.text.match(/\b\d{6}\b/)?.[0];
      if (!code) throw new Error(`no code was sent to ${to}`);
      return code;
    },
  };
  return outbox;
}

export const client: ClientInfo = { ip: '192.0.2.10', userAgent: 'test-agent/1.0' };

export async function makeEngine(options: Partial<AuthOptions> = {}) {
  let now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const store = options.store ?? (await openSQLiteStore(':memory:'));
  const outbox = createOutbox();
  const auth = createAuth({ store, sender: outbox, secretKey: randomBytes(32), argon2: FAST_ARGON2, clock: () => now, ...options });
  return {
    auth,
    store,
    outbox,
    now: () => now,
    advance(ms: number) { now += ms; },
    setNow(ms: number) { now = ms; },
    close: () => store.close(),
  };
}
