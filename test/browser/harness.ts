/**
 * The browser suite's harness: Debian's Chromium driven by playwright-core, against the
 * real server (`npm start`) over HTTPS on a free loopback port, with an SMTP sink on
 * loopback so that email codes arrive as real mail.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext } from 'playwright-core';
import { startServer } from '../support/server.ts';
import type { RunningServer } from '../support/server.ts';
import { startSMTPSink } from '../support/smtp-sink.ts';
import type { SMTPSink } from '../support/smtp-sink.ts';
import { freePort } from '../support/proxies.ts';

/** Debian's Chromium: no browser is ever downloaded for these tests. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Why the suite cannot run on this machine, or undefined when it can. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `chromium not installed: no ${CHROMIUM_PATH} (apt-get install chromium)`;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: LAUNCH_ARGS });
}

/** A server with its mail sink: what one group of journeys runs against. */
export interface Site {
  /** `https://localhost:PORT`: the browser's origin and OTPGATE_PUBLIC_URL alike. */
  origin: string;
  server: RunningServer;
  sink: SMTPSink;
  close(): Promise<void>;
}


/** `npm start` with email over SMTP (STARTTLS, the sink's CA trusted) and any extra OTPGATE_* settings. */
export async function startSite(env: Record<string, string> = {}): Promise<Site> {
  const sink = await startSMTPSink({ tls: 'starttls' });
  const dir = await mkdtemp(join(tmpdir(), 'otpgate-browser-'));
  const caPath = join(dir, 'smtp-ca.pem');
  await writeFile(caPath, sink.ca);
  let server: RunningServer | undefined;
  let origin = '';
  // The port is chosen before the start so the public URL can name it; another process
  // taking it in between only costs a retry.
  for (let attempt = 1; server === undefined; attempt++) {
    const port = await freePort();
    origin = `https://localhost:${port}`;
    try {
      server = await startServer({
        OTPGATE_PORT: String(port),
        OTPGATE_PUBLIC_URL: origin,
        OTPGATE_SMTP_URL: sink.url,
        OTPGATE_SMTP_CA: caPath,
        OTPGATE_MAIL_FROM: 'otpgate <no-reply@example.test>',
        OTPGATE_LOG_LEVEL: 'warn',
        ...env,
      });
    } catch (error) {
      if (attempt >= 3 || !/EADDRINUSE/.test(String(error))) {
        await sink.close();
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const running = server;
  return {
    origin,
    server: running,
    sink,
    async close() {
      await running.stop();
      await sink.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh browser profile for one person. The self-signed certificate is accepted by this
 * test browser only; any request to another origin is aborted, so nothing leaves loopback.
 */
export async function openContext(browser: Browser, site: Site, options: { javaScript?: boolean } = {}): Promise<BrowserContext> {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    javaScriptEnabled: options.javaScript ?? true,
    baseURL: site.origin,
    viewport: { width: 1280, height: 800 },
    colorScheme: 'light',
    locale: 'en-GB',
    timezoneId: 'UTC',
    acceptDownloads: true,
  });
  context.setDefaultTimeout(15_000);
  await context.route((url) => url.origin !== site.origin, (route) => route.abort('blockedbyclient'));
  return context;
}

/** Polls `condition` (every 100 ms, up to `timeoutMs`) until it holds: a wait for a state, never a fixed pause. */
export async function waitUntil(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await delay(100);
  }
}
