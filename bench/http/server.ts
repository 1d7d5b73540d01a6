/**
 * The real server process (`node src/main.ts`, as `npm start` runs it) on a free loopback
 * port with HTTPS (its own self-signed certificate), a fixed secret key and a seeded data
 * directory. The bench talks to it over the network and reads its peak RSS from /proc.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { captureOutput, whenListening } from '../../test/support/server-process.ts';

const REPO = resolve(import.meta.dirname, '..', '..');
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

export interface BenchServer {
  origin: string;
  port: number;
  pid: number;
  /** PEM of the server's self-signed certificate: the only CA the driver trusts. */
  ca: string;
  /** Peak resident set (VmHWM) and current RSS, in MiB, read from /proc/PID/status. */
  memory(): Promise<{ peakMiB: number; rssMiB: number }>;
  /** SIGTERM, then waits for a graceful exit (a CPU profile, when asked for, is written then). */
  stop(): Promise<number | null>;
  output(): string;
}

export interface ServerOptions {
  dataDir: string;
  secretKey: Buffer;
  /** Extra OTPGATE_* variables. */
  env?: Record<string, string>;
  /** Writes a V8 CPU profile of the server into this directory when it exits. */
  cpuProfileDir?: string;
}

export async function startServer(options: ServerOptions): Promise<BenchServer> {
  // The parent's OTPGATE_* and npm_* variables must not leak into the server's configuration.
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTPGATE_') && !name.startsWith('npm_')));
  const nodeArgs = options.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`];
  // process.execPath is the pinned Node 24 that runs this bench (npm run / npx node).
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, 'src/main.ts'], {
    cwd: REPO,
    env: {
      ...base,
      OTPGATE_PORT: '0',
      OTPGATE_DATA_DIR: options.dataDir,
      OTPGATE_SECRET_KEY: options.secretKey.toString('base64'),
      OTPGATE_LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Bounded: a chatty failure must not grow without limit.
  const { output, waitForOutput, exited } = captureOutput(child, START_TIMEOUT_MS, 200_000);
  const { port, origin, ca } = await whenListening({ output, waitForOutput, exited }, options.dataDir);
  const pid = child.pid;
  if (pid === undefined) throw new Error('server has no pid');
  return {
    origin,
    port,
    pid,
    ca,
    output,
    async memory() {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
      return { peakMiB: kib('VmHWM') / 1024, rssMiB: kib('VmRSS') / 1024 };
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
