/**
 * `npm start` on a given data directory, like `startServer`, that can also be killed
 * hard: `kill('SIGKILL')` signals the whole process group (npm and the node server
 * under it) and resolves once npm has exited and the server's port no longer answers.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import type { RunningServer } from './server.ts';
import { captureOutput, whenListening } from './server-process.ts';

const REPO = resolve(import.meta.dirname, '..', '..');
const START_TIMEOUT_MS = 30_000;

export interface KillableServer extends Omit<RunningServer, 'stop'> {
  /** Sends `signal` to the process group; resolves when it is gone (SIGKILL: no cleanup runs). */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Starts the server on `dataDir` (kept: the caller owns it). */
export async function startKillableServer(dataDir: string, env: Record<string, string> = {}): Promise<KillableServer> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTPGATE_') && !name.startsWith('npm_')));
  const child = spawn('npm', ['start', '--silent'], {
    cwd: REPO,
    env: { ...base, OTPGATE_PORT: '0', OTPGATE_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group
  });
  const { output, waitForOutput, exited } = captureOutput(child, START_TIMEOUT_MS);
  const { port, origin, ca } = await whenListening({ output, waitForOutput, exited }, dataDir);
  return {
    origin,
    port,
    dataDir,
    ca,
    output,
    waitForOutput,
    async kill(signal) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, signal);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
        }
      }
      await exited;
      await portClosed(port);
    },
  };
}

/** Resolves once nothing accepts connections on 127.0.0.1:`port` (the server under npm is gone too). */
async function portClosed(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolveProbe) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolveProbe(true);
      });
      socket.once('error', () => resolveProbe(false));
    });
    if (!open) return;
    if (Date.now() > deadline) throw new Error(`port ${port} still accepts connections ${timeoutMs} ms after the kill`);
    await new Promise<void>((r) => setImmediate(r));
  }
}
