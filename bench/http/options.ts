/** Command-line options of `npm run bench:http`. */

export interface HTTPBenchOptions {
  /** Measured seconds per cell (one workload at one concurrency), split over the rounds. */
  seconds: number;
  /** Interleaved rounds per group. */
  rounds: number;
  skipScale: boolean;
  scaleAccounts: number;
  scaleSessions: number;
  /** Verifies measured per scale store, after `scaleWarmup` more; each uses its own account of the 10^3 (at most 1000 together). */
  scaleVerifies: number;
  scaleWarmup: number;
  /** Write a V8 CPU profile of the main server process (into a temp directory, printed at the end). */
  serverCPUProfile: boolean;
  /** Run only the forward-auth gate's measurements (bench/http/gate.ts). */
  gateOnly: boolean;
}

export const DEFAULT_HTTP_OPTIONS: HTTPBenchOptions = {
  seconds: 10,
  rounds: 3,
  skipScale: false,
  scaleAccounts: 1_000_000,
  scaleSessions: 100_000,
  scaleVerifies: 800,
  scaleWarmup: 200,
  serverCPUProfile: false,
  gateOnly: false,
};

const USAGE = 'options: --seconds=N --rounds=N --skip-scale --scale-accounts=N --scale-sessions=N --scale-verifies=N --server-cpu-prof --gate-only';

export function parseHTTPBenchOptions(argv: string[]): HTTPBenchOptions {
  const options = { ...DEFAULT_HTTP_OPTIONS };
  for (const argument of argv) {
    if (argument === '--skip-scale') options.skipScale = true;
    else if (argument === '--server-cpu-prof') options.serverCPUProfile = true;
    else if (argument === '--gate-only') options.gateOnly = true;
    else {
      const match = /^--(seconds|rounds|scale-accounts|scale-sessions|scale-verifies)=(\d+(?:\.\d+)?)$/.exec(argument);
      if (!match) throw new TypeError(`Unknown option ${argument}; ${USAGE}`);
      const value = Number(match[2]);
      if (match[1] === 'seconds') options.seconds = Math.min(600, Math.max(1, value));
      else if (match[1] === 'rounds') options.rounds = Math.min(20, Math.max(1, Math.floor(value)));
      else if (match[1] === 'scale-accounts') options.scaleAccounts = Math.min(5_000_000, Math.max(2000, Math.floor(value)));
      else if (match[1] === 'scale-sessions') options.scaleSessions = Math.min(1_000_000, Math.floor(value));
      else options.scaleVerifies = Math.min(1000 - options.scaleWarmup, Math.max(50, Math.floor(value)));
    }
  }
  return options;
}
