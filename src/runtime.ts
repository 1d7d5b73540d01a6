/**
 * Wires the layers from one configuration: config → data dir and secret key → store →
 * delivery → login engine. The server (main.ts) and the CLI both start here, so they
 * always see the same accounts.
 */
import type { Config } from './config.ts';
import { loadConfig } from './config.ts';
import { ensureDataDir } from './data-dir.ts';
import { loadSecretKey } from './secret-key.ts';
import type { SecretKeySource } from './secret-key.ts';
import type { Auth, Sender, Store } from './auth/index.ts';
import { createAuth } from './auth/index.ts';
import { openStore } from './store/index.ts';
import { createConsoleSender } from './delivery/index.ts';

export interface Runtime {
  config: Config;
  store: Store;
  auth: Auth;
  /** Which senders deliver codes, for the start-up line. */
  senders: string[];
  secretKeySource: SecretKeySource;
  /** The data dir existed with looser permissions and was set to 0700. */
  dataDirTightened: boolean;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  config?: Config;
  /** The CLI prints no delivery chatter on stdout. */
  quiet?: boolean;
  onDeliveryError?: (error: unknown, channel: string) => void;
}

export async function openRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const config = options.config ?? loadConfig();
  const { tightened } = await ensureDataDir(config.dataDir);
  const secret = await loadSecretKey(config);
  const store = await openStore(config.database);
  const { sender, names } = createSender(config, options);
  const auth = createAuth({
    store,
    sender,
    secretKey: secret.key,
    issuer: config.issuer,
    factors: config.factors,
    signup: config.signup,
    codeTTLSeconds: config.codeTTLSeconds,
    loginTTLSeconds: config.loginTTLSeconds,
    sessionIdleSeconds: config.sessionIdleSeconds,
    sessionMaxSeconds: config.sessionMaxSeconds,
    ...(options.onDeliveryError ? { onDeliveryError: options.onDeliveryError } : {}),
  });
  return {
    config,
    store,
    auth,
    senders: names,
    secretKeySource: secret.source,
    dataDirTightened: tightened,
    close: () => store.close(),
  };
}

function createSender(_config: Config, options: RuntimeOptions): { sender: Sender; names: string[] } {
  // SMTP and SMS senders come with real delivery; until then codes go to this terminal.
  const write = options.quiet ? (text: string) => process.stderr.write(text) : (text: string) => process.stdout.write(text);
  return { sender: createConsoleSender(write), names: ['console (development: codes are printed here)'] };
}
