/**
 * The standard run's report on stdout (bench/throughput.ts makes the figures): each phase, the
 * CPU table, then a summary block with every issue-10 figure and its verdict. The targets differ
 * by backend: SQLite's are (b) ≥ BullMQ and ≥ 50 % of the ceiling, (a) ≥ 35 %, 1,000 events/s
 * kept up with a p99 under 25 ms; PostgreSQL's are (b) ≥ 50 % of graphile-worker and a p99 under
 * 50 ms at 500 events/s. A figure with no target for the backend is printed without a verdict.
 */
import { round } from './load.ts';
import type { PeerOutcome, PeerResult } from './peers.ts';
import { cpuColumns, n, verdict } from './report.ts';
import type { Summary } from './stats.ts';
import { formatThreads } from './threads.ts';

/** a rate: whole numbers read better than 4,201.7 /s */
const r0 = (v: number | null | undefined) => n(v === null || v === undefined ? v : Math.round(v));
const lat = (s: Summary) => `${n(s.p50)} / ${n(s.p95)} / ${n(s.p99)} ms`;
const pct = (x: number) => `${round(x * 100)} %`;
const times = (x: number) => `${round(x, 2)} ×`;
const isPeer = (p: PeerOutcome | undefined): p is PeerResult => p !== undefined && !('skipped' in p);

/** pass null: no verdict (`why` says why: another backend's target, another rate, no peer measured) */
export interface Check { label: string; value: string; target: string; pass: boolean | null; why?: string }

/** the peer of that name when it ran, else null */
export function peer(r: any, name: PeerResult['name']): PeerResult | null {
  const p = (r.peers as PeerOutcome[]).find((x) => x.name === name);
  return isPeer(p) ? p : null;
}

/** Hookline's phases with their lost / duplicate / out-of-order counts */
export function hooklinePhases(r: any): [string, any][] {
  const sw: [string, any][] = r.rounds ? r.rounds.map((x: any, i: number) => [`(b) switch events, round ${i + 1}`, x.switch_batches]) : [['(b) switch events', r.switch_batches]];
  return [...sw, ['(a) calls at full speed', r.full_speed], ['fixed rate', r.fixed_rate]];
}

/** most CPU the rest of the machine used during any phase, % of a core */
export function othersMax(r: any): number {
  const rounds: any[] = r.rounds ?? [r];
  return Math.max(...rounds.map((x) => x.ceiling.cpu_pct.others ?? 0), ...hooklinePhases(r).map(([, p]) => p.cpu_pct.others ?? 0),
    ...rounds.flatMap((x) => x.peers.filter(isPeer).map((p: PeerResult) => p.cpu_pct.others ?? 0)));
}

/** every issue-10 figure of one run against its target (null: no target for this backend or rate) */
export function checks(r: any): Check[] {
  const sqlite = r.backend === 'sqlite';
  const sw = r.switch_batches;
  const bull = peer(r, 'bullmq');
  const gw = peer(r, 'graphile-worker');
  const q = r.fixed_rate;
  const t = r.targets;
  const out: Check[] = [];
  const add = (label: string, value: string, target: string, pass: boolean | null, why = 'not this backend/rate') => out.push({ label, value, target, pass, why });
  add('(b) deliveries/s ÷ ceiling', pct(sw.ratio_to_ceiling), `≥ ${pct(t.switch_ratio_to_ceiling)} (SQLite)`, sqlite ? sw.ratio_to_ceiling >= t.switch_ratio_to_ceiling : null);
  add('(b) deliveries/s ÷ BullMQ peer', bull ? times(sw.deliveries_per_s / bull.deliveries_per_s) : 'no peer', `≥ ${times(t.switch_ratio_to_bullmq)} (SQLite)`,
    sqlite && bull ? sw.deliveries_per_s >= bull.deliveries_per_s * t.switch_ratio_to_bullmq : null, bull ? undefined : 'peer not measured');
  if (!sqlite) {
    add('(b) deliveries/s ÷ graphile-worker peer', gw ? times(sw.deliveries_per_s / gw.deliveries_per_s) : 'no peer', `≥ ${times(t.switch_ratio_to_graphile)}`,
      gw ? sw.deliveries_per_s >= gw.deliveries_per_s * t.switch_ratio_to_graphile : null, 'peer not measured');
  }
  add('(a) deliveries/s ÷ ceiling', pct(r.full_speed.ratio_to_ceiling), `≥ ${pct(t.calls_ratio_to_ceiling)} (SQLite)`, sqlite ? r.full_speed.ratio_to_ceiling >= t.calls_ratio_to_ceiling : null);
  // The latency targets are set at a rate: a run at a lower rate says nothing about them.
  const targetRate = sqlite ? 1000 : 500;
  const p99Target = sqlite ? t.p99_ms.sqlite : t.p99_ms.postgres;
  const atRate = q.events_per_s >= targetRate;
  add(`fixed rate ${r0(q.events_per_s)} events/s: event→receipt p99`, `${n(q.latency_ms.p99)} ms`, `< ${p99Target} ms at ${n(targetRate)} events/s`,
    atRate ? (q.latency_ms.p99 ?? Infinity) < p99Target : null);
  const all = q.received >= q.expected;
  add('fixed rate: last event after the load\'s end', all ? `${n(q.last_receipt_after_load_end_ms)} ms` : `${n(q.expected - q.received)} never arrived`,
    `≤ ${n(t.last_after_end_ms)} ms${sqlite ? ` at ${n(targetRate)} events/s` : ''}`,
    sqlite && !atRate ? null : all && q.last_receipt_after_load_end_ms !== null && q.last_receipt_after_load_end_ms <= t.last_after_end_ms);
  const lost = hooklinePhases(r).reduce((s, [, p]) => s + Math.max(0, p.expected - p.received), 0);
  const ooo = hooklinePhases(r).reduce((s, [, p]) => s + p.out_of_order, 0);
  const dup = hooklinePhases(r).reduce((s, [, p]) => s + p.duplicates, 0);
  add('Hookline lost / duplicated / out of order', `${n(lost)} / ${n(dup)} / ${n(ooo)}`, '0 lost, 0 out of order', lost === 0 && ooo === 0);
  return out;
}

export function printThroughput(r: any): void {
  const row = (label: string, value: string, target = '') => console.log(`  ${label.padEnd(54)}${value.padStart(26)}  ${target}`);
  const counts = (p: any) => `${n(p.expected)} / ${n(p.received)} / ${n(p.duplicates)} / ${n(p.out_of_order)}`;
  const procs = r.workers === null ? 'receiver, Hookline, the peer\'s worker and this load generator'
    : `receiver, ${r.workers + 1} Hookline processes, PostgreSQL, Redis, the peers' workers and this load generator`;
  console.log(`\nHookline bench: ${r.machine.cpus} CPUs, Node ${r.machine.node}, ${r.topology}, 1 standard endpoint`);
  console.log(`(${procs} share those CPUs; delivery bodies ≈ ${r.delivery_body_bytes} B; load average before the run: ${r.machine.load_avg_before})`);
  if (r.hookline_args?.length) console.log(`Hookline started with ${r.hookline_args.join(' ')}`);
  console.log(`Concurrency: Hookline's endpoint ${r.endpoint.concurrency} in flight, each peer's worker ${r.endpoint.concurrency}; the raw ceiling ${r.ceiling.in_flight}.`);
  const pg = r.postgres;
  if (pg) console.log(`PostgreSQL ${pg.server_version}: synchronous_commit ${pg.synchronous_commit}, fsync ${pg.fsync} (${pg.wal_sync_method}), shared_buffers ${pg.shared_buffers}`);
  console.log('');
  row(`raw undici ceiling (${r.ceiling.in_flight} in flight, ${r.ceiling.duration_s} s)`, `${r0(r.ceiling.rps)} req/s`);
  if ((r.rounds?.length ?? 1) > 1) {
    console.log(`\n  ${r.rounds.length} rounds, alternating; below, the best of each (the ceiling's too). Per round:`);
    console.log('    ceiling / BullMQ / (b) / graphile-worker, /s; (b) ÷ ceiling; (b) ÷ peer(s); most CPU of other processes');
    r.rounds.forEach((x: any, i: number) => {
      const ps = (x.peers as PeerOutcome[]).filter(isPeer);
      const p = (name: string) => ps.find((y) => y.name === name);
      const b = x.switch_batches.deliveries_per_s;
      const others = Math.max(x.ceiling.cpu_pct.others ?? 0, x.switch_batches.cpu_pct.others ?? 0, ...ps.map((y) => y.cpu_pct.others ?? 0));
      console.log(`    round ${i + 1}: ${r0(x.ceiling.rps)} / ${r0(p('bullmq')?.deliveries_per_s)} / ${r0(b)} / ${r0(p('graphile-worker')?.deliveries_per_s)}; `
        + `${pct(x.switch_batches.ratio_to_ceiling)}; ${ps.map((y) => `${times(b / y.deliveries_per_s)} ${y.name}`).join(', ') || '–'}; ${others} %`);
    });
  }

  for (const p of r.peers as PeerOutcome[]) {
    if (!isPeer(p)) {
      console.log(`\n  ${p.name}: ${p.skipped}`);
      continue;
    }
    console.log(`\n  peer: ${p.name} ${p.version}, ${n(p.expected)} jobs (one per event) in batches of 1,000, worker concurrency ${p.config.concurrency}`);
    row('  deliveries/s (first enqueue → last receipt)', `${r0(p.deliveries_per_s)} /s`, `${pct(p.deliveries_per_s / r.ceiling.rps)} of the ceiling`);
    row('  jobs enqueued/s by the producer', `${r0(p.produce.jobs_per_s)} /s`);
    row('  event→receipt p50 / p95 / p99', lat(p.latency_ms));
    row('  expected / received / duplicates / out of order', counts(p), '(no order per call promised)');
    row('  CPU ms per 1,000 deliveries: worker + its store; + producer', `${n(p.cpu_ms_per_1000)}; ${n(p.cpu_ms_per_1000_with_producer)}`);
    row('  worker RSS peak', `${n(p.rss_mb_peak.total)} MB`);
  }

  const sw = r.switch_batches;
  console.log(`\n  (b) switch events: ${n(sw.events)} in batched POST /v1/call-events (${n(sw.batch_events)} per request, ${sw.in_flight} in flight)`);
  row('  deliveries/s (first event sent → last receipt)', `${r0(sw.deliveries_per_s)} /s`);
  row('  deliveries/s while events were being posted', `${r0(sw.deliveries_per_s_during_load)} /s`);
  row('  events accepted/s by the API', `${r0(sw.load.events_per_s)} /s`);
  row('  batch request answer p50 / p95 / p99', lat(sw.load.request_ms));
  row('  event→receipt p50 / p95 / p99', lat(sw.latency_ms));
  row('  expected / received / duplicates / out of order', counts(sw));
  row('  CPU ms per 1,000 deliveries: Hookline (+ PostgreSQL)', n(sw.cpu_ms_per_1000));
  if (sw.cpu_ms_per_1000_by_thread) row('    by thread (other: checkpointer, GC helpers)', formatThreads(sw.cpu_ms_per_1000_by_thread));
  row('  Hookline RSS peak', `${n(sw.rss_mb_peak.total)} MB`);
  if (sw.load.events_failed > 0) row('  events refused', `${n(sw.load.events_failed)}: ${sw.load.first_error}`);

  const f = r.full_speed;
  console.log(`\n  (a) simulated calls through POST /v1/calls at full speed (${f.concurrency} in flight, ${f.duration_s} s)`);
  row('  deliveries/s (first call → last receipt)', `${r0(f.deliveries_per_s)} /s`);
  row('  deliveries/s while calls were being placed', `${r0(f.deliveries_per_s_during_load)} /s`);
  row('  calls accepted/s by the API; answer p50 / p95 / p99', `${r0(f.load.calls_per_s)} /s; ${lat(f.load.api_ms)}`);
  row('  event→receipt p50 / p95 / p99', lat(f.latency_ms));
  row('  expected / received / duplicates / out of order', counts(f));
  row('  CPU ms per 1,000 deliveries: Hookline (+ PostgreSQL)', n(f.cpu_ms_per_1000));
  if (f.cpu_ms_per_1000_by_thread) row('    by thread (other: checkpointer, GC helpers)', formatThreads(f.cpu_ms_per_1000_by_thread));
  row('  Hookline RSS peak', `${n(f.rss_mb_peak.total)} MB`);

  const q = r.fixed_rate;
  console.log(`\n  fixed rate (a): ${r0(q.events_per_s)} events/s (${r0(q.calls_per_s)} calls/s) for ${q.duration_s} s`);
  row('  event→receipt p50 / p95 / p99; max', `${lat(q.latency_ms)}; ${n(q.latency_ms.max)}`);
  for (const [seq, l] of Object.entries(q.latency_ms_by_seq as Record<string, Summary>)) row(`    seq ${seq}: p50 / p95 / p99`, lat(l));
  row('  last event arrived after the load\'s end', `${n(q.last_receipt_after_load_end_ms)} ms`);
  if (q.p99_by_window_ms) {
    row(`  p99 per ${q.window_s} s, ms (other processes' CPU, %)`, '');
    console.log(`      ${q.p99_by_window_ms.map((v: number | null, i: number) => `${n(v)} (${q.others_cpu_pct_by_window[i] ?? '–'})`).join(', ')}`);
    row(`  p50 / p95 / p99 in the ${q.quiet_windows} windows with others ≤ 30 %`, q.quiet_windows > 0 ? lat(q.quiet_latency_ms) : '–');
  }
  if (q.stalls !== undefined) {
    row(`  stalls (${q.stall_bin_s} s, median > ${n(q.stall_median_bound_ms)} ms); tail share in them`, `${n(q.stalls)}; ${q.tail_in_stalls_pct ?? '–'} %`);
  }
  row('  deliveries/s; API answer p50 / p95 / p99', `${r0(q.deliveries_per_s)} /s; ${lat(q.load.api_ms)}`);
  row('  expected / received / duplicates / out of order', counts(q));
  row('  Hookline RSS peak', `${n(q.rss_mb_peak.total)} MB`);
  if (q.load.skipped > 0) row('  calls skipped (256 API requests outstanding)', n(q.load.skipped));
  const failed = q.load.calls_failed + f.load.calls_failed;
  if (failed > 0) row('  API calls failed', `${failed}: ${q.load.first_error ?? f.load.first_error}`);

  const cpu = cpuColumns(r);
  console.log(`\n  CPU, % of one core (${cpu.header})`);
  row('  raw ceiling', cpu.cell(r.ceiling.cpu_pct));
  row('  (b) while posting / draining', `${cpu.cell(sw.cpu_pct)}`);
  row('', cpu.cell(sw.cpu_pct, 'drain_'));
  row('  (a) while placing calls / draining', cpu.cell(f.cpu_pct));
  row('', cpu.cell(f.cpu_pct, 'drain_'));
  row('  fixed rate', cpu.cell(q.cpu_pct));
  for (const p of (r.peers as PeerOutcome[]).filter(isPeer)) {
    const store = p.name === 'bullmq' ? 'redis' : 'postgres';
    row(`  ${p.name}: this process / worker / receiver / ${store} | others`, `${p.cpu_pct.parent} / ${p.cpu_pct[p.name === 'bullmq' ? 'bullmq_worker' : 'graphile_worker']} / ${p.cpu_pct.receiver} / ${p.cpu_pct[store] ?? '–'} | ${p.cpu_pct.others ?? '–'}`);
  }
  const busiest = othersMax(r);
  if (busiest > 15) console.log(`\n  warning: other processes used up to ${busiest} % of a core during a phase: these numbers are skewed, compare within the run`);

  console.log(`\n  summary (${r.backend}; ratios from this run${(r.rounds?.length ?? 1) > 1 ? `, best of ${r.rounds.length} rounds for the ceiling, the peers and (b)` : ''})`);
  const bull = peer(r, 'bullmq');
  const gw = peer(r, 'graphile-worker');
  row('raw ceiling', `${r0(r.ceiling.rps)} req/s`);
  row('BullMQ peer; graphile-worker peer', `${bull ? r0(bull.deliveries_per_s) : '–'} /s; ${gw ? r0(gw.deliveries_per_s) : '–'} /s`);
  row('Hookline (b) switch events; (a) calls', `${r0(sw.deliveries_per_s)} /s; ${r0(f.deliveries_per_s)} /s`);
  if (bull) row('(a) deliveries/s ÷ BullMQ peer', times(f.deliveries_per_s / bull.deliveries_per_s));
  if (gw) row('(a) deliveries/s ÷ graphile-worker peer', times(f.deliveries_per_s / gw.deliveries_per_s));
  row('Hookline RSS peak over the phases', `${n(Math.max(sw.rss_mb_peak.total ?? 0, f.rss_mb_peak.total ?? 0, q.rss_mb_peak.total ?? 0))} MB`);
  for (const c of checks(r)) row(c.label, c.value, `target ${c.target}  ${c.pass === null ? `(${c.why})` : verdict(c.pass)}`);
  console.log('');
}
