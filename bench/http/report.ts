/** The tables `npm run bench:http` prints (plain text that is also valid Markdown). */
import { markdownTable } from '../lib.ts';
import type { Summary } from './load.ts';
import type { CPUAccount } from './monitor.ts';

export interface MeasurementRow {
  group: string;
  name: string;
  concurrency: number;
  summary: Summary;
  cpu: CPUAccount;
}

export interface TargetRow {
  target: string;
  measured: string;
  required: string;
  /** null: context for the reader, not a target. */
  pass: boolean | null;
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const ms = (value: number): string => (Number.isNaN(value) ? '–' : value < 10 ? value.toFixed(2) : value.toFixed(1));

export function formatMeasurements(rows: MeasurementRow[]): string {
  const header = [
    'Measurement', 'Workload', 'conc.', 'ops/s (median)', 'min', 'max', 'p50 ms', 'p95 ms', 'p99 ms', 'ok ops',
    'loop CPU ms/op', 'server+child CPU ms/op', 'driver CPU ms/op', 'others % CPU', 'failures',
  ];
  const lines = rows.map(({ group, name, concurrency, summary: s, cpu }) => {
    const perOp = (value: number): string => (s.samples === 0 || cpu.wallMs === 0 ? '–' : (value / s.samples).toFixed(2));
    return [
      group,
      s.exhausted ? `${name} (pool used up: round cut short)` : name,
      String(concurrency),
      integer.format(s.opsPerSecond.median),
      integer.format(s.opsPerSecond.min),
      integer.format(s.opsPerSecond.max),
      ms(s.latencyMs.p50),
      ms(s.latencyMs.p95),
      ms(s.latencyMs.p99),
      integer.format(s.samples),
      perOp(cpu.serverMainMs),
      perOp(cpu.serverMs + cpu.boundMs),
      perOp(cpu.driverMs),
      cpu.machineMs > 0 ? ((100 * cpu.otherMs) / cpu.machineMs).toFixed(0) : '–',
      s.failures === 0 ? '0' : `${s.failures}: ${Object.entries(s.failureKinds).map(([kind, n]) => `${kind} ×${n}`).join(', ')}`,
    ];
  });
  return markdownTable(header, lines, new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]));
}

export function formatTargets(rows: TargetRow[]): string {
  return markdownTable(['Target', 'Measured', 'Required', 'Result'], rows.map((r) => [r.target, r.measured, r.required, r.pass === null ? 'info' : r.pass ? 'PASS' : 'FAIL']), new Set());
}
