/** Runs the `otpgate` command as an operator would, in its own process, and gathers its output. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'otpgate.js');

export interface CLIResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `otpgate ...args` with only PATH and `env` in its environment; `stdin` is written and closed. */
export function runCLI(args: string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<CLIResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}
