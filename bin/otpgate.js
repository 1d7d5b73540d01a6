#!/usr/bin/env node
// The operator CLI, run from the repository's TypeScript sources (Node 24 strips the types).
import { runCLI } from '../src/cli/main.ts';

try {
  process.exitCode = await runCLI(process.argv.slice(2));
} catch (error) {
  console.error(`otpgate: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
