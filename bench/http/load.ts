/**
 * Closed-loop load: N workers, each sending its next request when the last one answered,
 * for a bounded time and a bounded count. Every operation's latency is kept; failures
 * are counted by label. Rounds of the same cell are merged into one Sample.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { median } from '../lib.ts';
import type { Outcome } from './client.ts';

/** One operation: its outcome, or null when the workload has nothing left to send (pool used up). */
export type Operation = (worker: number) => Promise<Outcome | null>;

export interface RunOptions {
  concurrency: number;
  durationMs: number;
  /** Stop after this many operations in all (default: no count limit beyond time). */
  maxOps?: number;
  /** Pause after each operation (an open probe rather than a saturating worker). */
  pauseMs?: number;
  /** Stop early when this returns true (checked before each operation). */
  stopped?: () => boolean;
}

export interface Round {
  ops: number;
  failures: number;
  seconds: number;
  exhausted: boolean;
}

/** What a cell (workload × concurrency) measured over its rounds. */
export interface Sample {
  rounds: Round[];
  latenciesMs: number[];
  failureKinds: Record<string, number>;
}

export function emptySample(): Sample {
  return { rounds: [], latenciesMs: [], failureKinds: {} };
}

/** Runs one round of `operation` and adds it to `sample`. */
export async function runRound(sample: Sample, operation: Operation, options: RunOptions): Promise<Round> {
  const start = performance.now();
  const end = start + options.durationMs;
  const maxOps = options.maxOps ?? Number.MAX_SAFE_INTEGER;
  let started = 0;
  let ops = 0;
  let failures = 0;
  let exhausted = false;
  const worker = async (index: number): Promise<void> => {
    while (performance.now() < end && started < maxOps && !exhausted && !(options.stopped?.() ?? false)) {
      started++;
      const t0 = performance.now();
      let outcome: Outcome | null;
      try {
        outcome = await operation(index);
      } catch (error) {
        outcome = `error ${error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.name) : 'unknown'}`;
      }
      if (outcome === null) {
        exhausted = true;
        break;
      }
      const latency = performance.now() - t0;
      ops++;
      if (outcome === 'ok') {
        sample.latenciesMs.push(latency);
      } else {
        failures++;
        sample.failureKinds[outcome] = (sample.failureKinds[outcome] ?? 0) + 1;
      }
      if (options.pauseMs !== undefined) await sleep(options.pauseMs);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, index) => worker(index)));
  const round: Round = { ops, failures, seconds: (performance.now() - start) / 1000, exhausted };
  sample.rounds.push(round);
  return round;
}

/** A load that runs in the background until stopped (the password logins that saturate the cores). */
export function startBackground(operation: Operation, concurrency: number, sample: Sample, maxDurationMs: number): { stop(): Promise<Round> } {
  let stopping = false;
  const round = runRound(sample, operation, { concurrency, durationMs: maxDurationMs, stopped: () => stopping });
  return {
    stop() {
      stopping = true;
      return round;
    },
  };
}

/** Nearest-rank percentile of unsorted values (p in 0…100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? NaN;
}

export interface Summary {
  ops: number;
  failures: number;
  failureKinds: Record<string, number>;
  /** Successful operations per second: median, min and max over the rounds. */
  opsPerSecond: { median: number; min: number; max: number };
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  samples: number;
  exhausted: boolean;
}

export function summarize(sample: Sample): Summary {
  const rates = sample.rounds.filter((r) => r.seconds > 0).map((r) => (r.ops - r.failures) / r.seconds);
  const ops = sample.rounds.reduce((sum, r) => sum + r.ops, 0);
  const failures = sample.rounds.reduce((sum, r) => sum + r.failures, 0);
  const lat = sample.latenciesMs;
  return {
    ops,
    failures,
    failureKinds: sample.failureKinds,
    opsPerSecond: { median: median(rates), min: rates.length ? Math.min(...rates) : NaN, max: rates.length ? Math.max(...rates) : NaN },
    latencyMs: { p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99), max: lat.length ? lat.reduce((a, b) => Math.max(a, b), 0) : NaN },
    samples: lat.length,
    exhausted: sample.rounds.some((r) => r.exhausted),
  };
}
