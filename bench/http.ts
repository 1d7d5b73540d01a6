// `npm run bench:http`: the real server process over HTTPS (its self-signed certificate),
// driven by undici from this process, on a store seeded directly beforehand.
// Measures full logins against the bare argon2id bound and against a floor (a bare HTTPS
// server with the same hash pool), the OTP step alone, /api/health
// and the OTP step under password load, peak RSS, the OTP step at 10^3 vs 10^6 accounts, and
// the forward-auth gate: decisions beside /api/health, and through nginx (bench/http/gate.ts).
// Options: --seconds=N --rounds=N --skip-scale --scale-accounts=N --scale-sessions=N --server-cpu-prof --gate-only.
import { mkdtemp, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'undici';
import { argon2Implementation, hashPassword } from '../src/auth/password-hash.ts';
import { generateTOTP, getTOTPStep } from '../src/otp/index.ts';
import { startBoundProcess } from './http/argon2-bound.ts';
import { startFloorServer } from './http/floor-server.ts';
import type { FloorServer } from './http/floor-server.ts';
import { getHealth, nextClientAddress, openPool, postLogin, postVerify } from './http/client.ts';
import type { Requester } from './http/client.ts';
import { emptySample, runRound, startBackground, summarize } from './http/load.ts';
import type { Operation, Sample, Summary } from './http/load.ts';
import { addInterval, emptyAccount, probeSync, snapshot } from './http/monitor.ts';
import type { CPUAccount } from './http/monitor.ts';
import { parseHTTPBenchOptions } from './http/options.ts';
import { formatMeasurements, formatTargets } from './http/report.ts';
import { writeResult } from './lib.ts';
import type { MeasurementRow, TargetRow } from './http/report.ts';
import { PASSWORD, SECRET_KEY, checkSeedWithEngine, identity, seedStore } from './http/seed.ts';
import type { SeedResult } from './http/seed.ts';
import { startServer } from './http/server.ts';
import { measureGate } from './http/gate.ts';
import type { GateBenchResult } from './http/gate.ts';
import type { BenchServer } from './http/server.ts';

const options = parseHTTPBenchOptions(process.argv.slice(2));
const CONCURRENCIES: readonly number[] = [1, 8, 32];
const LOAD_CONCURRENCY = 32;
const HEALTH_PAUSE_MS = 5;
const RAMP_MS = 1000;
/** Other processes' share of the machine above which a cell's figures are not trusted. */
const DISTURBED_PERCENT = 10;
const segmentMs = (options.seconds * 1000) / options.rounds;
/** Accounts for full logins, each used at most once per TOTP step (30 s): enough for 600 logins/s. */
const FULL_ACCOUNTS = 20_000;
/** Accounts with one seeded pending login each, each used once: the OTP step alone and under load. */
const OTP_POOL = Math.ceil(9000 * options.seconds) + 10_000;
const FLOOR_NAME = 'floor: bare node:https, same certificate and argon2id pool; no framework, store or checks';
const THROTTLE_NOTE = 'OTPGATE_TRUST_PROXY=127.0.0.1; every password attempt has its own X-Forwarded-For address (10.x.y.z), so the per-address bucket never refuses';

const started = performance.now();
const rotate = <T>(items: readonly T[], by: number): T[] => items.map((_, k) => items[(k + by) % items.length] as T);
const log = (line: string): void => console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);

/** Accounts 0 … n-1 for full logins: one is handed out only when its last TOTP step is behind the current one. */
function fullLoginAccounts(n: number): { take(step: number): number | null; used(i: number, step: number): void } {
  const lastStep = new Float64Array(n).fill(-1);
  let cursor = 0;
  return {
    take(step) {
      for (let scanned = 0; scanned < n; scanned++) {
        const i = cursor;
        cursor = (cursor + 1) % n;
        if ((lastStep[i] ?? Infinity) < step) {
          lastStep[i] = step;
          return i;
        }
      }
      return null;
    },
    used(i, step) {
      lastStep[i] = Math.max(lastStep[i] ?? -1, step);
    },
  };
}

/** Account indexes from..to-1, each handed out once. */
function oncePool(from: number, to: number): { take(): number | null; left(): number } {
  let next = from;
  return { take: () => (next < to ? next++ : null), left: () => to - next };
}

function fullLogin(r: Requester, accounts: ReturnType<typeof fullLoginAccounts>): Operation {
  return async () => {
    const i = accounts.take(getTOTPStep(Date.now()));
    if (i === null) return null;
    const address = nextClientAddress();
    const login = await postLogin(r, identity.username(i), PASSWORD, address);
    if (login.outcome !== 'ok' || login.pendingId === undefined) return login.outcome;
    const now = Date.now();
    accounts.used(i, getTOTPStep(now));
    return postVerify(r, login.pendingId, generateTOTP(identity.totpSecret(i), now), address);
  };
}

function otpStep(r: Requester, pool: { take(): number | null }): Operation {
  return async () => {
    const i = pool.take();
    if (i === null) return null;
    return postVerify(r, identity.pendingId(i), generateTOTP(identity.totpSecret(i), Date.now()), nextClientAddress());
  };
}

function passwordStep(r: Requester, accounts: number): Operation {
  let next = 0;
  return async () => {
    next = (next + 1) % accounts;
    return (await postLogin(r, identity.username(next), PASSWORD, nextClientAddress())).outcome;
  };
}

const health = (r: Requester): Operation => () => getHealth(r);

interface Cell {
  group: string;
  name: string;
  concurrency: number;
  sample: Sample;
  cpu: CPUAccount;
}

function cell(cells: Cell[], group: string, name: string, concurrency: number): Cell {
  const created: Cell = { group, name, concurrency, sample: emptySample(), cpu: emptyAccount() };
  cells.push(created);
  return created;
}

/** The processes whose CPU time is charged to a cell (the rest of the machine is "others"). */
const watched: { server?: number | undefined; bound?: number | undefined } = {};

/** Runs one round of a cell with its CPU accounted. */
async function measured<T>(target: Cell, run: (sample: Sample) => Promise<T>): Promise<T> {
  const before = snapshot(watched);
  const t0 = performance.now();
  const result = await run(target.sample);
  addInterval(target.cpu, before, snapshot(watched), performance.now() - t0);
  return result;
}

/** fdatasync latency in the data directory at a group's start and end. */
const syncProbes: { group: string; when: 'before' | 'after'; p50Ms: number; p99Ms: number }[] = [];
function probeDisk(directory: string, group: string, when: 'before' | 'after'): void {
  syncProbes.push({ group, when, ...probeSync(directory) });
}

function findSummary(rows: MeasurementRow[], name: string, concurrency: number): Summary {
  const row = rows.find((r) => r.name === name && r.concurrency === concurrency);
  if (!row) throw new Error(`no row ${name} ×${concurrency}`);
  return row.summary;
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');

async function main(): Promise<number> {
  if (options.gateOnly) return gateOnly();
  const workDir = await mkdtemp(join(tmpdir(), 'otpgate-bench-http-'));
  const profileDir = options.serverCPUProfile ? await mkdtemp(join(tmpdir(), 'otpgate-bench-http-prof-')) : undefined;
  const servers: BenchServer[] = [];
  const pools: Pool[] = [];
  let bound: ReturnType<typeof startBoundProcess> | undefined;
  let floor: FloorServer | undefined;
  const date = new Date().toISOString();
  const cells: Cell[] = [];
  const seeds: Record<string, SeedResult> = {};
  const memory: Record<string, { peakMiB: number; rssMiB: number }> = {};
  const warmupFailures: Record<string, number> = {};
  try {
    // --- seed the main store, prove the rows with the engine, start the server ------------
    const phc = await hashPassword(PASSWORD);
    const checkAccount = FULL_ACCOUNTS + OTP_POOL;
    log(`seeding the main store: ${FULL_ACCOUNTS + OTP_POOL + 1} accounts with TOTP, ${OTP_POOL + 1} pending logins`);
    const mainDir = join(workDir, 'main');
    seeds.main = await seedStore(join(mainDir, 'otpgate.db'), {
      accounts: checkAccount + 1,
      pending: Array.from({ length: OTP_POOL + 1 }, (_, k) => FULL_ACCOUNTS + k),
      sessions: 0,
      passwordHash: phc,
      now: Date.now(),
    });
    await checkSeedWithEngine(join(mainDir, 'otpgate.db'), checkAccount);
    log(`seeded in ${seeds.main.seconds.toFixed(1)} s; the engine signed in a seeded account; starting the server`);
    const server = await startServer({
      dataDir: mainDir,
      secretKey: SECRET_KEY,
      env: { OTPGATE_TRUST_PROXY: '127.0.0.1' },
      ...(profileDir === undefined ? {} : { cpuProfileDir: profileDir }),
    });
    servers.push(server);
    const requester = (connections: number): Requester => {
      const pool = openPool(server, connections);
      pools.push(pool);
      return { pool, origin: server.origin };
    };
    const byConcurrency = new Map(CONCURRENCIES.map((c) => [c, requester(c)]));
    const at = (c: number): Requester => byConcurrency.get(c) ?? requester(c);
    const probe = requester(1);
    const loadRequester = requester(LOAD_CONCURRENCY);
    bound = startBoundProcess(phc, PASSWORD);
    floor = await startFloorServer(join(mainDir, 'tls'), phc);
    const floorPool = openPool(floor, LOAD_CONCURRENCY);
    pools.push(floorPool);
    const floorRequester: Requester = { pool: floorPool, origin: server.origin };
    watched.server = server.pid;
    watched.bound = bound.pid;
    const accounts = fullLoginAccounts(FULL_ACCOUNTS);
    const otpPool = oncePool(FULL_ACCOUNTS, FULL_ACCOUNTS + OTP_POOL);

    // --- warm-up (not recorded, but any failure makes the run invalid) ---------------------
    const warm = emptySample();
    await runRound(warm, fullLogin(at(8), accounts), { concurrency: 8, durationMs: 2000 });
    await runRound(warm, otpStep(at(8), otpPool), { concurrency: 8, durationMs: 2000 });
    await runRound(warm, health(probe), { concurrency: 1, durationMs: 300 });
    await runRound(warm, fullLogin(floorRequester, accounts), { concurrency: 8, durationMs: 1000 });
    await bound.measure(4, 500);
    Object.assign(warmupFailures, warm.failureKinds);
    log(`warm-up: ${warm.rounds.reduce((n, r) => n + r.ops, 0)} requests, ${Object.keys(warmupFailures).length === 0 ? 'no failures' : JSON.stringify(warmupFailures)}`);

    // --- (a)+(d) full logins vs the bare argon2id bound, interleaved --------------------------
    const G1 = 'full login vs argon2id bound';
    const boundCells = new Map(CONCURRENCIES.map((c) => [c, cell(cells, G1, 'bare argon2id verify (child process; server idle)', c)]));
    const fullCells = new Map(CONCURRENCIES.map((c) => [c, cell(cells, G1, 'full login: POST /api/login + /api/login/verify', c)]));
    // The floor only at the target's concurrency: what a server doing nothing but TLS, HTTP and the hash reaches.
    const floorCell = cell(cells, G1, FLOOR_NAME, LOAD_CONCURRENCY);
    probeDisk(mainDir, G1, 'before');
    for (let round = 0; round < options.rounds; round++) {
      for (const [k, c] of rotate(CONCURRENCIES, round).entries()) {
        const boundCell = boundCells.get(c);
        const fullCell = fullCells.get(c);
        if (!boundCell || !fullCell) continue;
        const runBound = (): Promise<void> => measured(boundCell, async (sample) => {
          const result = await bound?.measure(c, segmentMs);
          if (!result) return;
          sample.rounds.push({ ops: result.ops, failures: result.failures, seconds: result.seconds, exhausted: false });
          for (const latency of result.latenciesMs) sample.latenciesMs.push(latency);
          if (result.failures > 0) sample.failureKinds['argon2 mismatch'] = (sample.failureKinds['argon2 mismatch'] ?? 0) + result.failures;
        });
        const runFull = (): Promise<unknown> => measured(fullCell, (sample) => runRound(sample, fullLogin(at(c), accounts), { concurrency: c, durationMs: segmentMs }));
        const runFloor = (): Promise<unknown> => {
          const serverPid = watched.server;
          watched.server = floor?.pid;
          return measured(floorCell, (sample) => runRound(sample, fullLogin(floorRequester, accounts), { concurrency: c, durationMs: segmentMs }))
            .finally(() => { watched.server = serverPid; });
        };
        const steps = c === LOAD_CONCURRENCY ? rotate([runBound, runFull, runFloor], round + k) : (round + k) % 2 === 0 ? [runBound, runFull] : [runFull, runBound];
        for (const step of steps) await step();
      }
      log(`${G1}: round ${round + 1}/${options.rounds}`);
    }
    probeDisk(mainDir, G1, 'after');

    // --- (b) the OTP step alone ----------------------------------------------------------------
    const G2 = 'OTP step alone';
    const otpCells = new Map(CONCURRENCIES.map((c) => [c, cell(cells, G2, 'POST /api/login/verify (TOTP, seeded pending login)', c)]));
    probeDisk(mainDir, G2, 'before');
    for (let round = 0; round < options.rounds; round++) {
      for (const c of rotate(CONCURRENCIES, round)) {
        const otpCell = otpCells.get(c);
        if (otpCell) await measured(otpCell, (sample) => runRound(sample, otpStep(at(c), otpPool), { concurrency: c, durationMs: segmentMs }));
      }
      log(`${G2}: round ${round + 1}/${options.rounds} (${otpPool.left()} pending logins left)`);
    }
    probeDisk(mainDir, G2, 'after');

    // --- (c)+(e) /api/health and the OTP step, alone and under password load, interleaved ----
    const G3 = 'under password load';
    const healthAlone = cell(cells, G3, `GET /api/health alone (a probe every ${HEALTH_PAUSE_MS} ms)`, 1);
    const otpAlone = cell(cells, G3, 'OTP step alone', 1);
    const healthLoaded = cell(cells, G3, `GET /api/health under password load (a probe every ${HEALTH_PAUSE_MS} ms)`, 1);
    const otpLoaded = cell(cells, G3, 'OTP step under password load', 1);
    const passwordLoad = cell(cells, G3, `the load: POST /api/login (password step), ${LOAD_CONCURRENCY} workers`, LOAD_CONCURRENCY);
    probeDisk(mainDir, G3, 'before');
    for (let round = 0; round < options.rounds; round++) {
      const probes = [
        () => measured(healthAlone, (sample) => runRound(sample, health(probe), { concurrency: 1, durationMs: segmentMs, pauseMs: HEALTH_PAUSE_MS })),
        () => measured(otpAlone, (sample) => runRound(sample, otpStep(probe, otpPool), { concurrency: 1, durationMs: segmentMs })),
      ];
      for (const run of round % 2 === 0 ? probes : probes.reverse()) await run();
      await measured(passwordLoad, async (sample) => {
        const load = startBackground(passwordStep(loadRequester, FULL_ACCOUNTS), LOAD_CONCURRENCY, sample, 2 * segmentMs + RAMP_MS + 10_000);
        await sleep(RAMP_MS);
        const loaded = [
          () => measured(healthLoaded, (s2) => runRound(s2, health(probe), { concurrency: 1, durationMs: segmentMs, pauseMs: HEALTH_PAUSE_MS })),
          () => measured(otpLoaded, (s2) => runRound(s2, otpStep(probe, otpPool), { concurrency: 1, durationMs: segmentMs })),
        ];
        for (const run of round % 2 === 0 ? loaded : loaded.reverse()) await run();
        await load.stop();
      });
      log(`${G3}: round ${round + 1}/${options.rounds}`);
    }
    probeDisk(mainDir, G3, 'after');

    // --- (f) peak RSS ------------------------------------------------------------------------
    memory.main = await server.memory();
    bound.close();
    bound = undefined;
    watched.bound = undefined;
    floor.close();
    floor = undefined;
    await Promise.all(pools.splice(0).map((p) => p.close()));
    await server.stop();
    servers.splice(servers.indexOf(server), 1);

    // --- (g) the OTP step at 10^3 and at 10^6 accounts -------------------------------------
    let scale: { small: Summary; large: Summary } | undefined;
    if (!options.skipScale) scale = await measureScale(phc, workDir, cells, seeds, memory, servers, warmupFailures);

    // --- (h)+(i) the forward-auth gate ------------------------------------------------------------
    const gate = await measureGate({ segmentMs, rounds: options.rounds, log });

    // --- report --------------------------------------------------------------------------------
    const rows: MeasurementRow[] = cells.map((c) => ({ group: c.group, name: c.name, concurrency: c.concurrency, summary: summarize(c.sample), cpu: c.cpu }));
    const targets: TargetRow[] = [];
    const full32 = findSummary(rows, 'full login: POST /api/login + /api/login/verify', 32).opsPerSecond.median;
    const bound32 = findSummary(rows, 'bare argon2id verify (child process; server idle)', 32).opsPerSecond.median;
    const floor32 = findSummary(rows, FLOOR_NAME, LOAD_CONCURRENCY).opsPerSecond.median;
    // Each round ran the three side by side, so a round's own ratio cancels the machine's slow drift.
    const roundRatios = (of: Cell | undefined, to: Cell | undefined): string =>
      (of?.sample.rounds ?? []).map((r, i) => {
        const base = to?.sample.rounds[i];
        return base ? `${fmt((100 * (r.ops - r.failures) * base.seconds) / (r.seconds * (base.ops - base.failures)))} %` : '–';
      }).join(', ');
    const bound32Cell = boundCells.get(LOAD_CONCURRENCY);
    targets.push({
      target: '(a)/(d) full logins/s at concurrency 32 vs bare argon2id bound (same run)',
      measured: `${fmt(full32)} / ${fmt(bound32)} = ${fmt((100 * full32) / bound32, 1)} % (rounds: ${roundRatios(fullCells.get(LOAD_CONCURRENCY), bound32Cell)})`,
      required: '≥ 90 %',
      pass: full32 >= 0.9 * bound32,
    });
    targets.push({
      target: '(a) context: the floor (bare node:https + the same argon2id pool) vs the bound, concurrency 32',
      measured: `${fmt(floor32)} / ${fmt(bound32)} = ${fmt((100 * floor32) / bound32, 1)} % (rounds: ${roundRatios(floorCell, bound32Cell)})`,
      required: 'the most any server reaches here',
      pass: null,
    });
    targets.push({
      target: '(a) context: otpgate vs the floor, concurrency 32',
      measured: `${fmt(full32)} / ${fmt(floor32)} = ${fmt((100 * full32) / floor32, 1)} % (rounds: ${roundRatios(fullCells.get(LOAD_CONCURRENCY), floorCell)})`,
      required: '',
      pass: null,
    });
    const otp32 = findSummary(rows, 'POST /api/login/verify (TOTP, seeded pending login)', 32).opsPerSecond.median;
    targets.push({ target: '(b) OTP step alone, verifies/s at concurrency 32', measured: fmt(otp32), required: '≥ 1,500', pass: otp32 >= 1500 });
    const healthP99 = summarize(healthLoaded.sample).latencyMs.p99;
    targets.push({ target: '(c) /api/health p99 under password load', measured: `${fmt(healthP99, 1)} ms (alone: ${fmt(summarize(healthAlone.sample).latencyMs.p99, 1)} ms)`, required: '≤ 20 ms', pass: healthP99 <= 20 });
    const otpLoadedP99 = summarize(otpLoaded.sample).latencyMs.p99;
    const otpAloneP99 = summarize(otpAlone.sample).latencyMs.p99;
    targets.push({ target: '(e) OTP step p99 under password load vs alone (concurrency 1)', measured: `${fmt(otpLoadedP99, 1)} / ${fmt(otpAloneP99, 1)} ms = ${fmt(otpLoadedP99 / otpAloneP99, 2)}×`, required: '≤ 2×', pass: otpLoadedP99 <= 2 * otpAloneP99 });
    if (scale) {
      const ratio = scale.large.latencyMs.p50 / scale.small.latencyMs.p50;
      targets.push({
        target: `(g) OTP step p50 at ${fmt(options.scaleAccounts)} accounts + ${fmt(options.scaleSessions)} sessions vs 1,000 accounts`,
        measured: `${fmt(scale.large.latencyMs.p50, 2)} / ${fmt(scale.small.latencyMs.p50, 2)} ms = ${fmt(ratio, 2)}×`,
        required: '≤ 1.5×',
        pass: ratio <= 1.5,
      });
    }
    rows.push(...gate.rows);
    targets.push(...gate.targets);
    const failures = rows.reduce((n, r) => n + r.summary.failures, 0) + Object.values(warmupFailures).reduce((n, v) => n + v, 0);
    const exhausted = rows.filter((r) => r.summary.exhausted).map((r) => `${r.name} ×${r.concurrency}`);
    // Another process taking more than a tenth of the machine during a cell skews it (the
    // bound most of all): such a run is reported, not trusted.
    const othersPercent = (r: MeasurementRow): number => (r.cpu.machineMs > 0 ? (100 * r.cpu.otherMs) / r.cpu.machineMs : 0);
    const disturbed = rows.filter((r) => othersPercent(r) > DISTURBED_PERCENT).map((r) => `${r.name} ×${r.concurrency} (${othersPercent(r).toFixed(0)} %)`);
    const valid = failures === 0 && exhausted.length === 0 && disturbed.length === 0;

    const cpu = cpus();
    const environment = { node: process.version, cpu: cpu[0]?.model ?? 'unknown', cpuCount: cpu.length, argon2: argon2Implementation };
    const lines = [
      `http: the server process over HTTPS (TLS, self-signed CA trusted by the driver), undici keep-alive, pipelining 1`,
      `Node ${environment.node}, ${environment.cpu} ×${environment.cpuCount}, argon2id by ${environment.argon2}; server and driver share the machine`,
      `${options.rounds} interleaved rounds of ${fmt(segmentMs / 1000, 1)} s per cell; throughput = median over rounds, latency percentiles over all requests`,
      `Throttles: ${THROTTLE_NOTE}`,
      `Main store: ${fmt(seeds.main.accounts)} accounts with TOTP, ${fmt(seeds.main.pending)} seeded pending logins (seeded in ${fmt(seeds.main.seconds, 1)} s)`,
      ...(seeds.large ? [`Scale stores: 1,000 accounts; ${fmt(seeds.large.accounts)} accounts + ${fmt(seeds.large.sessions)} live sessions (${fmt(seeds.large.bytes / 2 ** 20)} MiB, seeded in ${fmt(seeds.large.seconds, 1)} s)`] : []),
      `Peak RSS (VmHWM) of the server process: ${Object.entries(memory).map(([name, m]) => `${name} ${fmt(m.peakMiB)} MiB`).join(', ')}`,
      `fdatasync of 4 KiB in the data dir (each SQLite commit waits for one), p50/p99 ms: ${syncProbes.map((p) => `${p.group} ${p.when} ${fmt(p.p50Ms, 2)}/${fmt(p.p99Ms, 2)}`).join('; ')}`,
      ...gate.notes,
      'CPU columns: loop = the server main thread (event loop, SQLite included); server+child = the server process (argon2id threads included) or the bound\'s process; others = every other process on the machine, % of its capacity',
      '',
      formatMeasurements(rows),
      '',
      formatTargets(targets),
      '',
      valid
        ? `Valid run: no failed request (warm-up included), no pool used up, no cell with other processes above ${DISTURBED_PERCENT} % of the machine.`
        : `INVALID RUN: ${failures} failed requests ${JSON.stringify(warmupFailures)}${exhausted.length ? `; pool used up in ${exhausted.join(', ')}` : ''}${disturbed.length ? `; other processes busy during ${disturbed.join(', ')}` : ''}`,
    ];
    console.log(lines.join('\n'));
    const file = await writeResult({ suite: 'http', date, environment, options, throttles: THROTTLE_NOTE, seeds, memory, syncProbes, valid, disturbed, warmupFailures, rows, targets }, new URL('results/', import.meta.url));
    console.log(`\nResults: ${file}`);
    if (profileDir !== undefined) console.log(`Server CPU profile: ${profileDir}/ (open in Chrome DevTools or speedscope)`);
    console.log(`Total ${fmt((performance.now() - started) / 1000)} s`);
    return valid ? 0 : 1;
  } finally {
    bound?.close();
    floor?.close();
    await Promise.all(pools.map((p) => p.destroy()));
    await Promise.all(servers.map((s) => s.stop()));
    await rm(workDir, { recursive: true, force: true });
  }
}

/** `--gate-only`: the forward-auth gate's rows and targets alone. */
async function gateOnly(): Promise<number> {
  const date = new Date().toISOString();
  const gate: GateBenchResult = await measureGate({ segmentMs, rounds: options.rounds, log });
  const cpu = cpus();
  const environment = { node: process.version, cpu: cpu[0]?.model ?? 'unknown', cpuCount: cpu.length };
  console.log([
    `http (gate only): Node ${environment.node}, ${environment.cpu} ×${environment.cpuCount}; server, nginx and driver share the machine`,
    `${options.rounds} interleaved rounds of ${fmt(segmentMs / 1000, 1)} s per cell; throughput = median over rounds, latency percentiles over all requests`,
    ...gate.notes,
    '',
    formatMeasurements(gate.rows),
    '',
    formatTargets(gate.targets),
    '',
    gate.failures === 0 ? 'Valid run: no failed request.' : `INVALID RUN: ${gate.failures} failed requests`,
  ].join('\n'));
  const file = await writeResult({ suite: 'http-gate', date, environment, options, valid: gate.failures === 0, rows: gate.rows, targets: gate.targets, notes: gate.notes }, new URL('results/', import.meta.url));
  console.log(`\nResults: ${file}`);
  return gate.failures === 0 ? 0 : 1;
}

/** Two stores side by side (10^3 accounts; 10^6 accounts + 10^5 sessions), the OTP step at concurrency 1 on each, interleaved. */
async function measureScale(
  phc: string,
  workDir: string,
  cells: Cell[],
  seeds: Record<string, SeedResult>,
  memory: Record<string, { peakMiB: number; rssMiB: number }>,
  servers: BenchServer[],
  warmupFailures: Record<string, number>,
): Promise<{ small: Summary; large: Summary }> {
  const used = options.scaleWarmup + options.scaleVerifies;
  const SMALL = 1000;
  // The large store's measured accounts are spread over its whole range.
  const spread = Array.from({ length: used }, (_, k) => Math.floor(((k + 0.5) * options.scaleAccounts) / used));
  const now = Date.now();
  log(`seeding the scale stores: ${fmt(SMALL)} accounts; ${fmt(options.scaleAccounts)} accounts + ${fmt(options.scaleSessions)} sessions`);
  seeds.small = await seedStore(join(workDir, 'small', 'otpgate.db'), { accounts: SMALL, pending: Array.from({ length: used }, (_, k) => k), sessions: 0, passwordHash: phc, now });
  seeds.large = await seedStore(join(workDir, 'large', 'otpgate.db'), { accounts: options.scaleAccounts, pending: spread, sessions: options.scaleSessions, passwordHash: phc, now });
  log(`seeded: small in ${seeds.small.seconds.toFixed(1)} s, large in ${seeds.large.seconds.toFixed(1)} s (${(seeds.large.bytes / 2 ** 20).toFixed(0)} MiB)`);
  const small = await startServer({ dataDir: join(workDir, 'small'), secretKey: SECRET_KEY });
  servers.push(small);
  const large = await startServer({ dataDir: join(workDir, 'large'), secretKey: SECRET_KEY });
  servers.push(large);
  const smallPool = openPool(small, 1);
  const largePool = openPool(large, 1);
  try {
    const orderOf = (list: number[]): { take(): number | null } => {
      let k = 0;
      return { take: () => (k < list.length ? (list[k++] ?? null) : null) };
    };
    const smallAccounts = orderOf(Array.from({ length: used }, (_, k) => k));
    const largeAccounts = orderOf(spread);
    const smallOp = otpStep({ pool: smallPool, origin: small.origin }, smallAccounts);
    const largeOp = otpStep({ pool: largePool, origin: large.origin }, largeAccounts);
    const warm = emptySample();
    await runRound(warm, smallOp, { concurrency: 1, durationMs: 60_000, maxOps: options.scaleWarmup });
    await runRound(warm, largeOp, { concurrency: 1, durationMs: 60_000, maxOps: options.scaleWarmup });
    for (const [kind, n] of Object.entries(warm.failureKinds)) warmupFailures[`scale warm-up: ${kind}`] = n;
    const G4 = 'scale (OTP step p50)';
    const smallCell = cell(cells, G4, `OTP step, ${fmt(SMALL)} accounts`, 1);
    const largeCell = cell(cells, G4, `OTP step, ${fmt(options.scaleAccounts)} accounts + ${fmt(options.scaleSessions)} sessions`, 1);
    probeDisk(workDir, G4, 'before');
    const rounds = 5;
    const perRound = Math.floor(options.scaleVerifies / rounds);
    for (let round = 0; round < rounds; round++) {
      const pair = [
        () => { watched.server = small.pid; return measured(smallCell, (sample) => runRound(sample, smallOp, { concurrency: 1, durationMs: 60_000, maxOps: perRound })); },
        () => { watched.server = large.pid; return measured(largeCell, (sample) => runRound(sample, largeOp, { concurrency: 1, durationMs: 60_000, maxOps: perRound })); },
      ];
      for (const run of round % 2 === 0 ? pair : pair.reverse()) await run();
    }
    probeDisk(workDir, G4, 'after');
    memory.small = await small.memory();
    memory.large = await large.memory();
    return { small: summarize(smallCell.sample), large: summarize(largeCell.sample) };
  } finally {
    await smallPool.close();
    await largePool.close();
  }
}

process.exitCode = await main();
