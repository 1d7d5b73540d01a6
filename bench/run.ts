// `npm run bench` runs every suite below; `npm run bench -- otp` runs only the named ones.
// Options: --rounds=N --round-ms=N --warmup-ms=N.
import { runBenchmarks } from './lib.ts';
import { otpSuite } from './otp.ts';
import { engineSuite } from './engine.ts';

await runBenchmarks([otpSuite, engineSuite]);
