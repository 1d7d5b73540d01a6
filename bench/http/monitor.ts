/**
 * What the machine did while a cell ran, so a figure can be trusted or explained: CPU
 * time of the server's main thread (its event loop) and of the whole server process
 * (argon2id threads included), of this driver and of the argon2 bound's process, and
 * what every other process on the machine took. Also the latency of a 4 KiB write +
 * fdatasync in the data directory, which every SQLite commit pays (synchronous=FULL).
 * Linux /proc only; elsewhere the figures are NaN.
 */
import { closeSync, fdatasyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { percentile } from './load.ts';

const TICK_MS = 10; // USER_HZ = 100 on Linux

function readTicks(path: string): number {
  try {
    const text = readFileSync(path, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14 and stime 15 (1-based).
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return NaN;
  }
}

function machineTicks(): { busy: number; total: number } {
  try {
    const [, ...values] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = values.map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    return { busy: busy * TICK_MS, total: (busy + idle + iowait) * TICK_MS };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

export interface CPUSnapshot {
  machineBusyMs: number;
  machineTotalMs: number;
  serverMainMs: number;
  serverMs: number;
  driverMs: number;
  boundMs: number;
}

export function snapshot(pids: { server?: number | undefined; bound?: number | undefined }): CPUSnapshot {
  const machine = machineTicks();
  const usage = process.cpuUsage();
  return {
    machineBusyMs: machine.busy,
    machineTotalMs: machine.total,
    serverMainMs: pids.server === undefined ? 0 : readTicks(`/proc/${pids.server}/task/${pids.server}/stat`),
    serverMs: pids.server === undefined ? 0 : readTicks(`/proc/${pids.server}/stat`),
    driverMs: (usage.user + usage.system) / 1000,
    boundMs: pids.bound === undefined ? 0 : readTicks(`/proc/${pids.bound}/stat`),
  };
}

/** CPU spent over one or more intervals, summed. */
export interface CPUAccount {
  wallMs: number;
  machineMs: number;
  serverMainMs: number;
  serverMs: number;
  driverMs: number;
  boundMs: number;
  /** Busy CPU of every other process on the machine. */
  otherMs: number;
}

export function emptyAccount(): CPUAccount {
  return { wallMs: 0, machineMs: 0, serverMainMs: 0, serverMs: 0, driverMs: 0, boundMs: 0, otherMs: 0 };
}

/** Adds the interval between two snapshots (`wallMs` long) to `account`. */
export function addInterval(account: CPUAccount, before: CPUSnapshot, after: CPUSnapshot, wallMs: number): void {
  const d = (key: keyof CPUSnapshot): number => after[key] - before[key];
  const ours = d('serverMs') + d('driverMs') + d('boundMs');
  account.wallMs += wallMs;
  account.machineMs += d('machineTotalMs');
  account.serverMainMs += d('serverMainMs');
  account.serverMs += d('serverMs');
  account.driverMs += d('driverMs');
  account.boundMs += d('boundMs');
  account.otherMs += Math.max(0, d('machineBusyMs') - ours);
}

/** p50 and p99 of a 4 KiB write + fdatasync in `directory` (what one SQLite commit waits for at least). */
export function probeSync(directory: string, count = 40): { p50Ms: number; p99Ms: number } {
  const path = join(directory, `.sync-probe-${process.pid}`);
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(4096, 7);
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      writeSync(fd, block, 0, block.length, 0);
      fdatasyncSync(fd);
      times.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  return { p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
}
