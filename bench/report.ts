/** The bench's table on stdout, from the results object that run.ts also writes as JSON. */
import { round } from './load.ts';
import type { Summary } from './stats.ts';

export const TARGETS = { ratio: 0.5, p99_ms: 25 };

const n = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toLocaleString('en-US'));
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

/** The CPU columns of a run: one process on SQLite; api, workers and PostgreSQL on PostgreSQL. */
function cpuColumns(r: any): { header: string; cell: (c: Record<string, number>, p?: string) => string } {
  const tail = (c: Record<string, number>, p: string) => `${c[p + 'others'] ?? '–'}, ${c[p + 'iowait'] ?? '–'}`;
  if (r.workers === null) {
    return {
      header: 'this process / hookline / receiver | other processes, iowait',
      cell: (c, p = '') => `${c[p + 'parent']} / ${c[p + 'server']} / ${c[p + 'receiver']} | ${tail(c, p)}`,
    };
  }
  const each = (c: Record<string, number>, p: string) =>
    r.workers > 1 ? ` (${Array.from({ length: r.workers }, (_, i) => c[`${p}worker_${i + 1}`]).join('+')})` : '';
  return {
    header: `this process / api / worker${r.workers > 1 ? 's (sum, each)' : ''} / receiver / postgres | other processes, iowait`,
    cell: (c, p = '') => `${c[p + 'parent']} / ${c[p + 'api']} / ${c[p + 'workers']}${each(c, p)} / ${c[p + 'receiver']} / ${c[p + 'postgres'] ?? '–'} | ${tail(c, p)}`,
  };
}

export function print(r: any): void {
  const f = r.full_speed;
  const q = r.fixed_rate;
  const row = (label: string, value: string, target = '') => console.log(`  ${label.padEnd(50)}${value.padStart(24)}  ${target}`);
  const lat = (s: Summary) => `${n(s.p50)} / ${n(s.p95)} / ${n(s.p99)} ms`;
  const counts = (p: any) => `${n(p.expected)} / ${n(p.received)} / ${n(p.duplicates)} / ${n(p.out_of_order)}`;
  const procs = r.workers === null ? 'receiver, Hookline and this load generator are 3 processes'
    : `receiver, ${r.workers + 1} Hookline processes, PostgreSQL and this load generator all`;
  console.log(`\nHookline bench: ${r.machine.cpus} CPUs, Node ${r.machine.node}, ${r.topology}, 1 standard endpoint`);
  console.log(`(${procs} sharing those CPUs; delivery bodies ≈ ${r.delivery_body_bytes} B;`);
  console.log(` load average before the run: ${r.machine.load_avg_before})`);
  const pg = r.postgres;
  if (pg) console.log(`PostgreSQL ${pg.server_version}: synchronous_commit ${pg.synchronous_commit}, fsync ${pg.fsync} (${pg.wal_sync_method}), shared_buffers ${pg.shared_buffers}`);
  console.log('');
  row(`raw undici ceiling (${r.ceiling.in_flight} in flight, ${r.ceiling.duration_s} s)`, `${n(r.ceiling.rps)} req/s`);
  console.log(`\n  full speed (${f.concurrency} API requests in flight, ${r.options.durationS} s of calls)`);
  row('Hookline deliveries/s (first call → last receipt)', `${n(f.deliveries_per_s)} /s`);
  row('ratio to the raw ceiling', `${round(f.ratio_to_ceiling * 100)} %`, `target ≥ ${TARGETS.ratio * 100} %  ${verdict(f.ratio_to_ceiling >= TARGETS.ratio)}`);
  row('deliveries/s while calls were being placed', `${n(f.deliveries_per_s_during_load)} /s`);
  row('calls accepted/s by the API', `${n(f.load.calls_per_s)} /s`);
  row('API answer p50 / p95 / p99', lat(f.load.api_ms));
  row('event→receipt p50 / p95 / p99', lat(f.latency_ms));
  row('expected / received / duplicates / out of order', counts(f));
  row('drain after the last call', `${n(round(f.waited_ms / 1000))} s`);
  console.log(`\n  fixed rate: ${q.events_per_s} events/s (${q.calls_per_s} calls/s) for ${r.options.durationS} s`);
  row('event→receipt p50 / p95 / p99', lat(q.latency_ms), `target p99 < ${TARGETS.p99_ms} ms  ${verdict((q.latency_ms.p99 ?? Infinity) < TARGETS.p99_ms)}`);
  row('event→receipt max', `${n(q.latency_ms.max)} ms`);
  for (const [seq, l] of Object.entries(q.latency_ms_by_seq as Record<string, Summary>)) row(`  seq ${seq}: p50 / p95 / p99`, lat(l));
  row('deliveries/s', `${n(q.deliveries_per_s)} /s`);
  row('API answer p50 / p95 / p99', lat(q.load.api_ms));
  row('expected / received / duplicates / out of order', counts(q));
  if (q.load.skipped > 0) row('calls skipped (256 API requests outstanding)', n(q.load.skipped));
  const failed = q.load.calls_failed + f.load.calls_failed;
  if (failed > 0) row('API calls failed', `${failed}: ${q.load.first_error ?? f.load.first_error}`);
  const cpu = cpuColumns(r);
  console.log(`\n  CPU, % of one core (${cpu.header})`);
  row('raw ceiling', cpu.cell(r.ceiling.cpu_pct));
  row('fixed rate (load + drain)', cpu.cell(q.cpu_pct));
  row('full speed, while placing calls', cpu.cell(f.cpu_pct));
  row('full speed, draining', cpu.cell(f.cpu_pct, 'drain_'));
  const busiest = Math.max(r.ceiling.cpu_pct.others ?? 0, q.cpu_pct.others ?? 0, f.cpu_pct.others ?? 0, f.cpu_pct.drain_others ?? 0);
  if (busiest > 15) console.log(`\n  warning: other processes used up to ${busiest} % of a core during a phase: these numbers are skewed, run again on a quiet machine`);
  console.log('');
}
