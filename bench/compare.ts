/**
 * Bench results side by side, as a markdown table (one column per run), e.g. for the README:
 *
 *   node bench/compare.ts                    the latest .bench/results-*.json of each setup
 *                                            (SQLite; PostgreSQL with 1, 3, … workers),
 *                                            leaving out --quick and --cpu-prof runs and runs
 *                                            from before the peers (bench_version < 2)
 *   node bench/compare.ts a.json b.json …    these runs, in this order
 *
 * Every ratio is within one run: the machine's load drifts too much between runs to divide a
 * figure of one by a figure of another.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { n } from './report.ts';
import { checks, hooklinePhases, othersMax, peer } from './summary.ts';

const dir = fileURLToPath(new URL('../.bench/', import.meta.url));

function latestPerSetup(): string[] {
  const files = readdirSync(dir).filter((f) => /^results-.*\.json$/.test(f)).sort(); // ISO stamps sort by time
  const latest = new Map<string, string>();
  for (const f of files) {
    const r = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
    if (r.options?.quick || r.options?.cpuProf || (r.bench_version ?? 1) < 2) continue; // smoke, profiled and old runs are not this table's
    latest.set(`${r.backend}:${r.workers ?? 0}:${r.options?.threads ?? ''}`, path.join(dir, f));
  }
  const rank = (key: string) => (key.startsWith('sqlite:') ? 0 : key.startsWith('postgres:') ? 100 + Number(key.split(':')[1]) : 1000);
  return [...latest].sort((a, b) => rank(a[0]) - rank(b[0])).map(([, f]) => f);
}

const files = process.argv.length > 2 ? process.argv.slice(2) : latestPerSetup();
if (files.length === 0) {
  console.error('compare: no results yet: run npm run bench first');
  process.exit(1);
}
const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));
const old = runs.findIndex((r) => (r.bench_version ?? 1) < 2);
if (old >= 0) {
  console.error(`compare: ${files[old]} is from before the peers and workloads (a)/(b): run npm run bench again`);
  process.exit(1);
}

const i0 = (v: number | null | undefined) => n(v === null || v === undefined ? v : Math.round(v));
const lat = (s: { p50: number | null; p95: number | null; p99: number | null }) => `${n(s.p50)} / ${n(s.p95)} / ${n(s.p99)}`;
const pct = (x: number) => `${Math.round(x * 1000) / 10} %`;
const times = (a: number, b: number | undefined) => (b ? `${Math.round((a / b) * 100) / 100} ×` : '–');
const setup = (r: any) => (r.workers === null || r.workers === undefined
  ? `${r.backend}, 1 process${r.options?.threads ? `, --threads ${r.options.threads}` : ''}`
  : `${r.backend}, api + ${r.workers} worker${r.workers === 1 ? '' : 's'}`);
const bull = (r: any) => peer(r, 'bullmq');
const gw = (r: any) => peer(r, 'graphile-worker');
const check = (r: any, label: string) => {
  const c = checks(r).find((x) => x.label.startsWith(label));
  return c ? `${c.value}${c.pass === null ? '' : c.pass ? ' ✓' : ' ✗'}` : '–';
};
const sum = (r: any, k: string) => hooklinePhases(r).reduce((s, [, p]) => s + (k === 'lost' ? Math.max(0, p.expected - p.received) : p[k]), 0);

const rows: [string, (r: any) => string][] = [
  ['raw undici ceiling, req/s (128 in flight)', (r) => i0(r.ceiling.rps)],
  ['BullMQ peer: deliveries/s (÷ ceiling)', (r) => (bull(r) ? `${i0(bull(r)!.deliveries_per_s)} (${pct(bull(r)!.deliveries_per_s / r.ceiling.rps)})` : 'skipped')],
  ['graphile-worker peer: deliveries/s (÷ ceiling)', (r) => (gw(r) ? `${i0(gw(r)!.deliveries_per_s)} (${pct(gw(r)!.deliveries_per_s / r.ceiling.rps)})` : '–')],
  ['**(b) switch events: deliveries/s**', (r) => `**${i0(r.switch_batches.deliveries_per_s)}**`],
  ['(b) ÷ ceiling (SQLite target ≥ 50 %)', (r) => check(r, '(b) deliveries/s ÷ ceiling')],
  ['(b) ÷ BullMQ peer (SQLite target ≥ 1 ×)', (r) => (r.backend === 'sqlite' ? check(r, '(b) deliveries/s ÷ BullMQ') : times(r.switch_batches.deliveries_per_s, bull(r)?.deliveries_per_s))],
  ['(b) ÷ graphile-worker peer (PostgreSQL target ≥ 0.5 ×)', (r) => (r.backend === 'sqlite' ? '–' : check(r, '(b) deliveries/s ÷ graphile'))],
  ['(b) per round: ÷ ceiling; ÷ BullMQ; ÷ graphile-worker (the rows above: best of the rounds)', (r) => {
    const rounds: any[] = r.rounds ?? [r];
    const to = (name: 'bullmq' | 'graphile-worker') => rounds.map((x) => {
      const p = peer(x, name);
      return p ? times(x.switch_batches.deliveries_per_s, p.deliveries_per_s) : '–';
    }).join(', ');
    return `${rounds.map((x) => pct(x.switch_batches.ratio_to_ceiling)).join(', ')}; ${to('bullmq')}; ${to('graphile-worker')}`;
  }],
  ['(b) events accepted/s by the API; batch answer p99, ms', (r) => `${i0(r.switch_batches.load.events_per_s)}; ${n(r.switch_batches.load.request_ms.p99)}`],
  ['**(a) simulated calls at full speed: deliveries/s**', (r) => `**${i0(r.full_speed.deliveries_per_s)}**`],
  ['(a) ÷ ceiling (SQLite target ≥ 35 %)', (r) => check(r, '(a) deliveries/s ÷ ceiling')],
  ['(a) calls accepted/s; API answer p99, ms', (r) => `${i0(r.full_speed.load.calls_per_s)}; ${n(r.full_speed.load.api_ms.p99)}`],
  ['fixed rate (a), events/s for s', (r) => `${i0(r.fixed_rate.events_per_s)} for ${r.fixed_rate.duration_s}`],
  ['fixed rate: event→receipt p50 / p95 / p99, ms', (r) => lat(r.fixed_rate.latency_ms)],
  ['fixed rate: p99 target (SQLite < 25 ms at 1,000/s; PostgreSQL < 50 ms at 500/s)', (r) => check(r, 'fixed rate') ],
  ['fixed rate: p99 over the 5 s windows with other processes ≤ 30 % of a core, ms (windows)', (r) =>
    (r.fixed_rate.quiet_windows ? `${n(r.fixed_rate.quiet_latency_ms.p99)} (${r.fixed_rate.quiet_windows} of ${r.fixed_rate.p99_by_window_ms.length})` : '–')],
  ['fixed rate: stalls (0.5 s whose median passed 4 × the phase\'s and 20 ms); share of the events over p99 in them', (r) =>
    (r.fixed_rate.stalls === undefined ? '–' : `${n(r.fixed_rate.stalls)}; ${r.fixed_rate.tail_in_stalls_pct ?? '–'} %`)],
  ['fixed rate: last event after the load\'s end (target ≤ 1 s)', (r) => check(r, 'fixed rate: last event')],
  ['CPU ms per 1,000 deliveries: Hookline (+ PostgreSQL), (b) / (a)', (r) => `${n(r.switch_batches.cpu_ms_per_1000)} / ${n(r.full_speed.cpu_ms_per_1000 ?? r.full_speed.hookline_cpu_ms_per_1000)}`],
  ['CPU ms per 1,000 deliveries, worker + store (+ producer): BullMQ; graphile-worker', (r) =>
    `${n(bull(r)?.cpu_ms_per_1000)} (${n(bull(r)?.cpu_ms_per_1000_with_producer)}); ${n(gw(r)?.cpu_ms_per_1000)} (${n(gw(r)?.cpu_ms_per_1000_with_producer)})`],
  ['RSS peak, MB: Hookline (all processes); BullMQ worker; graphile-worker', (r) =>
    `${n(Math.max(...hooklinePhases(r).map(([, p]) => p.rss_mb_peak?.total ?? 0)))}; ${n(bull(r)?.rss_mb_peak.total)}; ${n(gw(r)?.rss_mb_peak.total)}`],
  ['Hookline lost / duplicated / out of order (all phases)', (r) => `${n(sum(r, 'lost'))} / ${n(sum(r, 'duplicates'))} / ${n(sum(r, 'out_of_order'))}`],
  ['peers out of order (no order per call promised): BullMQ; graphile-worker', (r) => `${n(bull(r)?.out_of_order)}; ${n(gw(r)?.out_of_order)}`],
  ['other processes on the machine, busiest phase, % of a core', (r) => `${othersMax(r)}`],
];

console.log(`| ${[...new Set(runs.map((r) => r.at.slice(0, 10)))].join(', ')}; ${runs[0].switch_batches.events.toLocaleString('en-US')} events per (b) and per peer | ${runs.map(setup).join(' | ')} |`);
console.log(`|---|${runs.map(() => '---:').join('|')}|`);
for (const [label, cell] of rows) console.log(`| ${label} | ${runs.map(cell).join(' | ')} |`);
