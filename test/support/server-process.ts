/**
 * What every harness that runs the real server shares: the child's output gathered as it
 * comes, a wait for a pattern in it, and the address and certificate once it listens.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ServerOutput {
  /** Everything the process wrote to stdout and stderr so far (the last `keepChars`). */
  output: () => string;
  /** Resolves when `pattern` appears in the output after `from` characters. */
  waitForOutput: (pattern: RegExp, from?: number, timeoutMs?: number) => Promise<RegExpMatchArray>;
  /** The exit code (null after a signal). */
  exited: Promise<number | null>;
}

export function captureOutput(child: ChildProcess, defaultTimeoutMs: number, keepChars = Infinity): ServerOutput {
  let output = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    if (output.length > keepChars) output = output.slice(-keepChars);
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));

  const waitForOutput = (pattern: RegExp, from = 0, timeoutMs = defaultTimeoutMs): Promise<RegExpMatchArray> =>
    new Promise((resolveMatch, reject) => {
      const check = (): void => {
        const match = pattern.exec(output.slice(from));
        if (match) done(() => resolveMatch(match));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${pattern}; output:\n${output}`))), timeoutMs);
      const done = (then: () => void): void => {
        clearTimeout(timer);
        listeners.delete(check);
        then();
      };
      listeners.add(check);
      void exited.then((code) => done(() => reject(new Error(`server exited (${code}) before ${pattern}; output:\n${output}`))));
      check();
    });
  return { output: () => output, waitForOutput, exited };
}

/** Waits for the server's "listening" line; its port, origin and self-signed certificate. */
export async function whenListening(process: ServerOutput, dataDir: string): Promise<{ port: number; origin: string; ca: string }> {
  const listening = await process.waitForOutput(/otpgate listening on https:\/\/localhost:(\d+)/);
  const port = Number(listening[1]);
  const ca = await readFile(join(dataDir, 'tls', 'cert.pem'), 'utf8');
  return { port, origin: `https://localhost:${port}`, ca };
}
