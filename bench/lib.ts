// Benchmark harness shared by every suite: warm-up, interleaved rounds, median/min/max,
// a printed table and a JSON record under bench/results/.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';

/** How a row relates to the others: the code under test, a library compared with it, or a raw floor. */
export type BenchRole = 'subject' | 'peer' | 'baseline';

/** One implementation of one operation. */
export interface BenchCase {
  name: string;
  role: BenchRole;
  /** One operation; a returned promise is awaited before the next, as its callers would. */
  run: () => unknown;
  /** Runs once before timing, to prove the operation does what the row claims (throw if not). */
  check?: () => void | Promise<void>;
}

/** Implementations of the same operation, measured interleaved and compared. */
export interface BenchGroup {
  name: string;
  cases: BenchCase[];
}

/** A named set of groups that `npm run bench -- NAME` runs on its own. */
export interface BenchSuite {
  name: string;
  description: string;
  /** Builds the groups (keys, fixtures) just before the suite runs. */
  setup: () => BenchGroup[] | Promise<BenchGroup[]>;
}

/** Timing parameters; the defaults keep a suite of ~20 rows under a minute. */
export interface BenchOptions {
  warmupMs: number;
  rounds: number;
  roundMs: number;
}

/** One row of results: operations per second over the rounds. */
export interface BenchRow {
  name: string;
  role: BenchRole;
  medianOpsPerSecond: number;
  minOpsPerSecond: number;
  maxOpsPerSecond: number;
  /** Median divided by the fastest peer's median in the same group (null when the group has no peer). */
  ratioToFastestPeer: number | null;
  /** Median divided by the group's baseline (floor) median (null when the group has none). */
  ratioToFloor: number | null;
  samples: number[];
}

/** A suite's results as written to bench/results/NAME-<date>.json. */
export interface SuiteResult {
  suite: string;
  description: string;
  date: string;
  environment: { node: string; v8: string; platform: string; arch: string; cpu: string; cpuCount: number };
  options: BenchOptions;
  groups: { name: string; rows: BenchRow[] }[];
}

export const DEFAULT_OPTIONS: BenchOptions = { warmupMs: 250, rounds: 7, roundMs: 300 };

// Results land here so no call can be optimised away.
let sink: unknown;

/** Defines a suite (an identity function that gives the object its type). */
export function defineSuite(suite: BenchSuite): BenchSuite {
  return suite;
}

interface Runner {
  isAsync: boolean;
  batchSize: number;
}

async function runBatch(benchCase: BenchCase, runner: Runner): Promise<void> {
  const { run } = benchCase;
  if (runner.isAsync) {
    for (let i = 0; i < runner.batchSize; i++) sink = await run();
  } else {
    for (let i = 0; i < runner.batchSize; i++) sink = run();
  }
}

/** Runs a case for about `durationMs` in batches; returns operations per second. */
async function measure(benchCase: BenchCase, runner: Runner, durationMs: number): Promise<number> {
  let operations = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    await runBatch(benchCase, runner);
    operations += runner.batchSize;
    elapsed = performance.now() - start;
  } while (elapsed < durationMs);
  return (operations / elapsed) * 1000;
}

/** Warms a case up and sizes its batches to about one millisecond, so reading the clock costs nothing measurable. */
async function warmUp(benchCase: BenchCase, warmupMs: number): Promise<Runner> {
  const first = benchCase.run();
  const isAsync = first instanceof Promise;
  sink = isAsync ? await first : first;
  const runner: Runner = { isAsync, batchSize: 1 };
  const start = performance.now();
  while (performance.now() - start < warmupMs) {
    const batchStart = performance.now();
    await runBatch(benchCase, runner);
    if (performance.now() - batchStart < 1) runner.batchSize *= 2;
  }
  return runner;
}

/** The median; NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? NaN) : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}

/** Runs every group of a suite: checks, warm-up, then rounds in which the cases take turns in a rotating order. */
export async function runSuite(suite: BenchSuite, options: BenchOptions = DEFAULT_OPTIONS): Promise<SuiteResult> {
  const groups = await suite.setup();
  const result: SuiteResult = {
    suite: suite.name,
    description: suite.description,
    date: new Date().toISOString(),
    environment: {
      node: process.version,
      v8: process.versions.v8,
      platform: process.platform,
      arch: process.arch,
      cpu: cpus()[0]?.model ?? 'unknown',
      cpuCount: cpus().length,
    },
    options,
    groups: [],
  };
  for (const group of groups) {
    for (const benchCase of group.cases) {
      await benchCase.check?.();
    }
    const runners: Runner[] = [];
    for (const benchCase of group.cases) {
      runners.push(await warmUp(benchCase, options.warmupMs));
    }
    const samples: number[][] = group.cases.map(() => []);
    for (let round = 0; round < options.rounds; round++) {
      // Rotate the order each round so no implementation always runs first (or right after a heavy one).
      for (let k = 0; k < group.cases.length; k++) {
        const index = (k + round) % group.cases.length;
        const benchCase = group.cases[index];
        const runner = runners[index];
        if (benchCase && runner) {
          samples[index]?.push(await measure(benchCase, runner, options.roundMs));
        }
      }
    }
    const medians = samples.map(median);
    const peerMedians = medians.filter((_, index) => group.cases[index]?.role === 'peer');
    const fastestPeer = peerMedians.length > 0 ? Math.max(...peerMedians) : null;
    const floorIndex = group.cases.findIndex((c) => c.role === 'baseline');
    const floor = floorIndex >= 0 ? (medians[floorIndex] ?? null) : null;
    result.groups.push({
      name: group.name,
      rows: group.cases.map((benchCase, index) => {
        const caseSamples = samples[index] ?? [];
        const caseMedian = medians[index] ?? 0;
        return {
          name: benchCase.name,
          role: benchCase.role,
          medianOpsPerSecond: Math.round(caseMedian),
          minOpsPerSecond: Math.round(Math.min(...caseSamples)),
          maxOpsPerSecond: Math.round(Math.max(...caseSamples)),
          ratioToFastestPeer: fastestPeer === null ? null : Math.round((caseMedian / fastestPeer) * 100) / 100,
          ratioToFloor: floor === null || floor === 0 ? null : Math.round((caseMedian / floor) * 100) / 100,
          samples: caseSamples.map(Math.round),
        };
      }),
    });
  }
  if (sink === Symbol.for('otpgate.bench.never')) console.log('');
  return result;
}

const number = new Intl.NumberFormat('en-US');

/** Formats a suite's results as a plain-text table (also valid Markdown). */
export function formatTable(result: SuiteResult): string {
  const header = ['Operation', 'Implementation', 'ops/s (median)', 'min', 'max', 'vs fastest peer', 'vs floor'];
  const lines: string[][] = [];
  for (const group of result.groups) {
    for (const row of group.rows) {
      const label = row.role === 'baseline' ? `${row.name} (floor)` : row.name;
      const ratio = row.ratioToFastestPeer === null ? '' : `${row.ratioToFastestPeer.toFixed(2)}×`;
      const floorRatio = row.ratioToFloor === null || row.role === 'baseline' ? '' : `${row.ratioToFloor.toFixed(2)}×`;
      lines.push([group.name, label, number.format(row.medianOpsPerSecond), number.format(row.minOpsPerSecond), number.format(row.maxOpsPerSecond), ratio, floorRatio]);
    }
  }
  const { environment, options } = result;
  return [
    `${result.suite}: ${result.description}`,
    `Node ${environment.node}, ${environment.cpu} ×${environment.cpuCount}; ${options.rounds} rounds of ${options.roundMs} ms after ${options.warmupMs} ms warm-up`,
    '',
    markdownTable(header, lines, new Set([2, 3, 4, 5, 6])),
  ].join('\n');
}

/** A plain-text table that is also valid Markdown, with the `numeric` columns right-aligned. */
export function markdownTable(header: string[], lines: string[][], numeric: ReadonlySet<number>): string {
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] ?? '').length)));
  const format = (cells: string[]): string =>
    `| ${cells.map((cell, column) => (numeric.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (numeric.has(column) ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2))).join('|')}|`;
  return [format(header), rule, ...lines.map(format)].join('\n');
}

/** Writes a suite's results to DIRECTORY/SUITE-<date>.json and returns the path. */
export async function writeResult<T extends { suite: string; date: string }>(result: T, directory: URL): Promise<string> {
  await mkdir(directory, { recursive: true });
  const stamp = result.date.slice(0, 19).replaceAll(':', '-');
  const file = new URL(`${result.suite}-${stamp}.json`, directory);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  return file.pathname;
}

function parseArguments(argv: string[]): { names: string[]; options: BenchOptions } {
  const options = { ...DEFAULT_OPTIONS };
  const names: string[] = [];
  for (const argument of argv) {
    const match = /^--(warmup-ms|rounds|round-ms)=(\d+)$/.exec(argument);
    if (match) {
      const value = Number(match[2]);
      if (match[1] === 'warmup-ms') options.warmupMs = value;
      else if (match[1] === 'rounds') options.rounds = Math.max(1, value);
      else options.roundMs = value;
    } else if (argument.startsWith('-')) {
      throw new TypeError(`Unknown option ${argument}; use --rounds=N, --round-ms=N or --warmup-ms=N`);
    } else {
      names.push(argument);
    }
  }
  return { names, options };
}

/**
 * Runs the suites named on the command line (all of them when none is named), printing each table and
 * writing its JSON to bench/results/.
 */
export async function runBenchmarks(suites: BenchSuite[], argv: string[] = process.argv.slice(2)): Promise<void> {
  const { names, options } = parseArguments(argv);
  const unknown = names.filter((name) => !suites.some((suite) => suite.name === name));
  if (unknown.length > 0) {
    throw new TypeError(`Unknown benchmark suite ${unknown.join(', ')}; available: ${suites.map((suite) => suite.name).join(', ')}`);
  }
  const selected = names.length === 0 ? suites : suites.filter((suite) => names.includes(suite.name));
  const resultsDirectory = new URL('results/', import.meta.url);
  for (const suite of selected) {
    const result = await runSuite(suite, options);
    console.log(`${formatTable(result)}\n`);
    console.log(`Results: ${await writeResult(result, resultsDirectory)}\n`);
  }
}
