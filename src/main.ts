/**
 * `npm start`: reads the configuration, prepares the data directory, the secret key and
 * the certificate, wires the layers, listens, and prints the URL to open. A bad setting
 * prints one line to stderr and exits 1. SIGTERM/SIGINT close gracefully (in-flight
 * requests finish) and exit 0; a second signal exits at once.
 */
import type { FastifyInstance } from 'fastify';
import { ConfigError, isLoopbackHost, loadConfig } from './config.ts';
import type { Config } from './config.ts';
import { build } from './http/app.ts';
import { createLogger } from './http/logging.ts';
import { loadTLS } from './http/tls.ts';
import type { TLSMaterial } from './http/tls.ts';
import { openRuntime } from './runtime.ts';
import { flagsToEnv } from './flags.ts';
import { createRoutes } from './http/routes.ts';
import { loadAccessControl } from './gate/access-control.ts';
import type { AccessControl } from './gate/access-control.ts';
import { RulesError } from './gate/rules.ts';
import type { FastifyBaseLogger } from 'fastify';

/** How long a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

async function start(): Promise<void> {
  const config = loadConfig({ ...process.env, ...flagsToEnv(process.argv.slice(2)) });
  const logger = createLogger(config.logLevel);
  const access = loadGateRules(config);

  // --- wire: config -> store -> delivery -> auth -> http ---------------------------
  const runtime = await openRuntime({
    config,
    onDeliveryError: (error, channel) => logger.warn({ err: error, channel }, 'delivery failed'),
    onBreachCheckError: (error) => logger.warn({ err: error }, 'breached-password check failed; the password was checked against the bundled list only'),
  });
  if (runtime.dataDirTightened) say(`tightened ${config.dataDir} to mode 0700`);
  const tls = await loadTLS(config);
  if (runtime.secretKeySource === 'generated') say(`generated a secret key in ${config.dataDir} — back it up`);
  const stopSweeper = runtime.auth.startSweeper(60_000, (error) => logger.error({ err: error }, 'sweep failed'));
  const app = await build({
    config,
    logger,
    ...(tls === undefined ? {} : { tls }),
    routes: createRoutes({ auth: runtime.auth, config, access }),
    healthCheck: async () => { await runtime.store.getUserById(''); },
  });
  app.addHook('onClose', async () => {
    stopSweeper();
    await runtime.close();
  });
  // ----------------------------------------------------------------------------------

  handleSignals(app);
  reloadOnHangup(access, logger);
  await listen(app, config);
  announce(app, config, tls);
  for (const sender of runtime.senders) say(`delivery: ${sender}`);
  say(config.breachCheckURL ? `breached passwords: refused (range queries to ${config.breachCheckURL.origin})` : 'breached passwords: bundled common-password list only (set OTPGATE_BREACH_CHECK_URL for a breach corpus)');
  for (const r of await runtime.auth.checkKeys()) {
    // A rotation gone wrong: say so at start, not only at the first sign-in that needs the key.
    if (r.status === 'missing' && r.totpSecrets + r.recoveryCodes > 0) {
      logger.error(`secret key ${r.keyId ?? ''} is not configured but seals ${r.totpSecrets} TOTP secret(s) and keys ${r.recoveryCodes} recovery code(s): those sign-ins answer 503 until it is added to OTPGATE_PREVIOUS_SECRET_KEYS (see \`npx otpgate keys check\`)`);
    }
  }
  say(access.path === null ? 'forward-auth: no OTPGATE_ACCESS_RULES, so /api/authz/* denies every request' : `forward-auth: ${access.current().rules.length} rule(s) from ${access.path} (SIGHUP reloads it)`);
  if (config.signup === 'closed') say('sign-up is closed: create accounts with `npx otpgate user add NAME`');
  else say(`create the first account at ${config.publicURL.origin}/signup (or \`npx otpgate user add NAME\`)`);
}

async function listen(app: FastifyInstance, config: Config): Promise<void> {
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new ConfigError('OTPGATE_PORT', `${config.host}:${config.port} is already in use`);
    if (code === 'EACCES') throw new ConfigError('OTPGATE_PORT', `no permission to listen on ${config.host}:${config.port}`);
    if (code === 'EADDRNOTAVAIL') throw new ConfigError('OTPGATE_HOST', `${config.host} is not an address of this machine`);
    throw error;
  }
}

/** Prints where to go: the listening URL, the public URL when it differs, and the certificate to expect. */
function announce(app: FastifyInstance, config: Config, tls: TLSMaterial | undefined): void {
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  // With port 0 the default public URL learns the real port now (CSRF checks compare against it).
  if (config.publicURL.port === '0') config.publicURL.port = String(port);
  const wildcard = config.host === '0.0.0.0' || config.host === '::';
  const host = wildcard || isLoopbackHost(config.host) ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
  const listening = new URL(`${tls === undefined ? 'http' : 'https'}://${host}:${port}`);
  say(`otpgate listening on ${listening.origin}`);
  if (config.publicURL.origin !== listening.origin) say(`open ${config.publicURL.origin}`);
  if (tls?.selfSigned === true) {
    say(`self-signed certificate${tls.generated ? ' (new)' : ''}, SHA-256 fingerprint ${tls.fingerprint256}`);
  } else if (tls !== undefined && tls.notAfter.getTime() < Date.now()) {
    process.stderr.write(`otpgate: warning: the certificate in OTPGATE_TLS_CERT expired on ${tls.notAfter.toISOString()}\n`);
  }
}

/** The gate's rules, checked now: a bad file stops start-up with its line number. */
function loadGateRules(config: Config): AccessControl {
  try {
    return loadAccessControl(config.accessRulesPath);
  } catch (error) {
    if (error instanceof RulesError) throw new ConfigError('OTPGATE_ACCESS_RULES', error.message, { cause: error });
    throw error;
  }
}

/** SIGHUP re-reads the rules; requests keep flowing, and a bad file keeps the old rules. */
function reloadOnHangup(access: AccessControl, logger: FastifyBaseLogger): void {
  process.on('SIGHUP', () => {
    if (access.path === null) return;
    const result = access.reload();
    if (result.ok) logger.info({ rules: result.rules }, 'forward-auth rules reloaded');
    else logger.error(`forward-auth rules NOT reloaded (${result.reason}); the previous rules stay in force`);
  });
}

function handleSignals(app: FastifyInstance): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      say(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    say(`${signal}: closing (again to force)`);
    setTimeout(() => {
      process.stderr.write('otpgate: shutdown took too long; exiting\n');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    // close() stops accepting, lets in-flight requests finish, then runs onClose hooks.
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`otpgate: error while closing: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

start().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`otpgate: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
