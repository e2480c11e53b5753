/**
 * The isolation runs' tables on stdout, from the results object that run.ts also writes as JSON,
 * and what every table shares (the standard run's is bench/summary.ts).
 */
import type { Summary } from './stats.ts';
import { formatThreads } from './threads.ts';

export const n = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toLocaleString('en-US'));
export const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

/** The CPU columns of a run: one process on SQLite; api, workers and PostgreSQL on PostgreSQL. */
export function cpuColumns(r: any): { header: string; cell: (c: Record<string, number>, p?: string) => string } {
  // steal (the hypervisor's other guests) is part of `others`; shown from 3 % of a core (a quiet
  // run reads 0–2, and `others` is rounded after our own processes' CPU is taken off)
  const tail = (c: Record<string, number>, p: string) =>
    `${c[p + 'others'] ?? '–'}${(c[p + 'steal'] ?? 0) >= 3 ? ` (steal ${c[p + 'steal']})` : ''}, ${c[p + 'iowait'] ?? '–'}`;
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

// ---- isolation runs (bench/isolation.ts) ------------------------------------------------------

/** A "with ÷ without" ratio is only as good as the machine was quiet during both phases. */
function noiseWarning(phases: any[]): void {
  const busiest = Math.max(...phases.map((p) => Math.max(p.cpu_pct.others ?? 0, p.cpu_pct.drain_others ?? 0)));
  if (busiest > 15) console.log(`  warning: other processes used up to ${busiest} % of a core during a phase: the ratio is skewed, run again on a quiet machine\n`);
}

const mb = (r: Record<string, number> | undefined) => (r ? `${n(r.total)} MB` : '–');

function header(r: any, what: string): void {
  console.log(`\nHookline bench, ${what}: ${r.machine.cpus} CPUs, Node ${r.machine.node}, ${r.topology}`);
  console.log(` load average before the run: ${r.machine.load_avg_before}; Hookline --retry-schedule ${r.options.retrySchedule ?? 'default'}\n`);
}

export function printBadTargets(r: any): void {
  const b = r.bad_targets;
  const row = (label: string, value: string, target = '') => console.log(`  ${label.padEnd(52)}${value.padStart(26)}  ${target}`);
  const lat = (s: Summary) => `${n(s.p50)} / ${n(s.p95)} / ${n(s.p99)} ms`;
  const cpu = cpuColumns(r);
  header(r, `--bad-targets (healthy endpoint at ${b.events_per_s} events/s, ${b.duration_s} s per phase)`);
  for (const [label, p] of [['without bad targets', b.without], ['with a hanging and a 500-answering target', b.with]] as const) {
    console.log(`  ${label}`);
    row('  healthy event→receipt p50 / p95 / p99', lat(p.latency_ms));
    row('  healthy event→receipt max', `${n(p.latency_ms.max)} ms`);
    row(`  healthy p99 per ${p.window_s} s of the phase`, p.p99_by_window_ms.map((v: number | null) => n(v)).join(', ') + ' ms');
    row('  healthy expected / received / dup. / out of order', `${n(p.expected)} / ${n(p.received)} / ${n(p.duplicates)} / ${n(p.out_of_order)}`);
    row('  healthy deliveries/s', `${n(p.deliveries_per_s)} /s`);
    row('  API answer p50 / p95 / p99', lat(p.load.api_ms));
    row('  CPU, % of a core (columns below)', cpu.cell(p.cpu_pct));
  }
  console.log(`  (CPU columns: ${cpu.header})`);
  const x = b.ratio_with_to_without;
  console.log('\n  with ÷ without');
  row('  healthy p50 / p95 / p99', `${n(x.p50)} / ${n(x.p95)} / ${n(x.p99)} ×`, `target p99 ≤ ${r.targets.p99_ratio} ×  ${verdict(x.p99 !== null && x.p99 <= r.targets.p99_ratio)}`);
  const q = b.bad_targets.queue_after;
  const st = (c: Record<string, number> | undefined) => (c ? `${n(c.due)} / ${n(c.pending)} / ${n(c.queued)} / ${n(c.dead)}` : '–');
  console.log('\n  the bad targets during "with"');
  row('  requests to the 500 target / to the hanging one', `${n(b.bad_targets.requests_to_failing)} / ${n(b.bad_targets.requests_to_hanging)}`);
  row('  after: due / pending / queued / dead, 500 target', st(q?.failing));
  row('  after: due / pending / queued / dead, hanging', st(q?.hanging));
  console.log('');
  noiseWarning([b.without, b.with]);
}

export function printBacklog(r: any): void {
  const b = r.backlog;
  const row = (label: string, value: string, target = '') => console.log(`  ${label.padEnd(52)}${value.padStart(26)}  ${target}`);
  header(r, `--backlog ${n(b.backlog_requested)} (full speed, ${r.options.concurrency} API requests in flight, ${r.options.durationS} s per phase)`);
  console.log('  Hookline is started three times on one database: "without", then API-only to build the backlog, then "with"\n');
  const bb = b.backlog_before;
  row('backlog built by an API-only Hookline (events, /s)', `${n(b.build.requests - b.build.failed)} in ${n(b.build.seconds)} s (${n(b.build.per_s)}/s)`);
  row('hanging target before "with": due / total', bb ? `${n(bb.due)} / ${n(bb.total)}` : '–');
  row('hanging target after "with": due / total', b.backlog_after ? `${n(b.backlog_after.due)} / ${n(b.backlog_after.total)}` : '–');
  console.log('');
  row('healthy deliveries/s without / with backlog', `${n(b.without.deliveries_per_s)} / ${n(b.with.deliveries_per_s)} /s`);
  row('  while calls were being placed', `${n(b.without.deliveries_per_s_during_load)} / ${n(b.with.deliveries_per_s_during_load)} /s`);
  row('  calls accepted/s by the API', `${n(b.without.load.calls_per_s)} / ${n(b.with.load.calls_per_s)} /s`);
  row('slowdown', `${n(b.slowdown_pct)} %`, `target < ${r.targets.slowdown_pct} %  ${verdict(b.slowdown_pct !== null && b.slowdown_pct < r.targets.slowdown_pct)}`);
  row('Hookline CPU ms per 1,000 deliveries, without / with', `${n(b.without.hookline_cpu_ms_per_1000)} / ${n(b.with.hookline_cpu_ms_per_1000)}`);
  row('  more CPU per delivery with the backlog', `${n(b.cpu_per_delivery_increase_pct)} %`, '(less skewed by other load than deliveries/s)');
  row('expected / received, without', `${n(b.without.expected)} / ${n(b.without.received)}`);
  row('expected / received, with', `${n(b.with.expected)} / ${n(b.with.received)}`);
  console.log('');
  row('Hookline RSS before the phase, without / with', `${mb(b.rss_mb_before.without)} / ${mb(b.rss_mb_before.with)}`);
  row('Hookline RSS peak without / with backlog', `${mb(b.without.rss_mb_peak)} / ${mb(b.with.rss_mb_peak)}`);
  row('V8 heap peak per thread, MB: without', formatThreads(b.without.thread_heap_mb_peak));
  row('V8 heap peak per thread, MB: with', formatThreads(b.with.thread_heap_mb_peak));
  row('V8 heap after a full GC (main thread), end of without / with', `${mb(b.without.heap_mb_after_gc)} / ${mb(b.with.heap_mb_after_gc)}`);
  row('RSS growth (peak with − peak without)', `${n(b.rss_growth_mb)} MB`, `target ≤ ${r.targets.rss_growth_mb} MB  ${verdict(b.rss_growth_mb <= r.targets.rss_growth_mb)}`);
  console.log('');
  noiseWarning([b.without, b.with]);
}
