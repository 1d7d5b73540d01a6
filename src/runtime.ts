/**
 * Wires the layers from one configuration: config → data dir and secret key → store →
 * delivery → login engine. The server (main.ts) and the CLI both start here, so they
 * always see the same accounts.
 */
import type { Config } from './config.ts';
import { ConfigError, loadConfig } from './config.ts';
import { ensureDataDir } from './data-dir.ts';
import { loadSecretKey } from './secret-key.ts';
import type { SecretKeySource } from './secret-key.ts';
import type { Auth, Store } from './auth/index.ts';
import { createAuth, DEFAULT_LIMITS } from './auth/index.ts';
import { openStore } from './store/index.ts';
import { createRangeBreachCheck } from './auth/breach-check.ts';
import { readFileSync } from 'node:fs';
import { createCompositeSender, createConsoleSender, createSMSWebhookSender, createSMTPSender, createTwilioSender, describeSMTPURL } from './delivery/index.ts';
import type { CompositeSender } from './delivery/index.ts';

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
  /** A breached-password lookup failed (the password was let through). */
  onBreachCheckError?: (error: unknown) => void;
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
    previousSecretKeys: config.previousSecretKeys,
    auditRetentionDays: config.auditRetentionDays,
    issuer: config.issuer,
    factors: config.factors,
    signup: config.signup,
    codeTTLSeconds: config.codeTTLSeconds,
    loginTTLSeconds: config.loginTTLSeconds,
    sessionIdleSeconds: config.sessionIdleSeconds,
    sessionMaxSeconds: config.sessionMaxSeconds,
    publicURL: config.publicURL,
    limits: {
      otp: { ...DEFAULT_LIMITS.otp, baseDelayMs: config.backoffSeconds * 1000 },
      recovery: { ...DEFAULT_LIMITS.recovery, baseDelayMs: config.backoffSeconds * 1000 },
    },
    ...(options.onDeliveryError ? { onDeliveryError: options.onDeliveryError } : {}),
    ...(config.smsCountries ? { smsCountries: config.smsCountries } : {}),
    ...(config.smsHourlyCap === undefined ? {} : { smsHourlyCap: config.smsHourlyCap }),
    ...(config.breachCheckURL
      ? { breachCheck: createRangeBreachCheck(config.breachCheckURL, options.onBreachCheckError ? { onError: options.onBreachCheckError } : {}) }
      : {}),
  });
  return {
    config,
    store,
    auth,
    senders: names,
    secretKeySource: secret.source,
    dataDirTightened: tightened,
    async close() {
      // Notifications in flight first, then pooled SMTP connections, then the database.
      await auth.context.settle();
      sender.close();
      await store.close();
    },
  };
}

/**
 * The engine's sender from the configuration: SMTP for email, the webhook or Twilio for
 * SMS, and the development console for a channel with nothing configured. `names` are
 * one line per channel for the start-up output; they never hold a credential.
 */
export function createSender(config: Config, options: Pick<RuntimeOptions, 'quiet'> = {}): { sender: CompositeSender; names: string[] } {
  const names: string[] = [];
  const smtp = config.smtp;
  const email = smtp && createSMTPSender({ url: smtp.url, from: smtp.from, ...(smtp.caPath === undefined ? {} : { ca: readCA(smtp.caPath) }) });
  if (smtp) names.push(`email: smtp (${describeSMTPURL(smtp.url)})`);
  let sms;
  if (config.sms) {
    sms = createSMSWebhookSender({ url: config.sms.webhookURL, secret: config.sms.webhookSecret });
    // The origin only: a path or query may hold the receiver's token.
    names.push(`sms: webhook (${config.sms.webhookURL.origin}, signed)`);
  } else if (config.twilio) {
    sms = createTwilioSender(config.twilio);
    names.push(`sms: twilio (account ${config.twilio.accountSID.slice(0, 6)}…, from ${config.twilio.from})`);
  }
  // Codes go to this terminal only for channels with nothing configured, never as a fallback
  // after a failure, and never in production (config refuses an enabled channel without a sender).
  const write = options.quiet ? (text: string) => process.stderr.write(text) : (text: string) => process.stdout.write(text);
  const fallback = (email && sms) || config.env === 'production' ? undefined : createConsoleSender(write);
  for (const channel of [...(email ? [] : ['email' as const]), ...(sms ? [] : ['sms' as const])]) {
    const configure = channel === 'email' ? 'OTPGATE_SMTP_URL' : 'OTPGATE_SMS_WEBHOOK_URL or OTPGATE_TWILIO_*';
    const what = channel === 'email' ? 'email' : 'SMS';
    if (config.factors.includes(channel)) {
      names.push(`${channel}: console (development): ${what} codes are printed to this terminal, not sent; configure ${configure}`);
    } else if (channel === 'sms') {
      names.push('sms: off (sms is not in OTPGATE_FACTORS)');
    } else {
      // Security notifications still go by email to accounts that have an address.
      names.push(`email: codes off (not in OTPGATE_FACTORS); security notifications ${fallback ? 'are printed to this terminal' : 'are not sent'}; configure ${configure}`);
    }
  }
  return { sender: createCompositeSender({ ...(email ? { email } : {}), ...(sms ? { sms } : {}), ...(fallback ? { fallback } : {}) }), names };
}

function readCA(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('OTPGATE_SMTP_CA', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError('OTPGATE_SMTP_CA', `${path} holds no PEM certificate`);
  return pem;
}
