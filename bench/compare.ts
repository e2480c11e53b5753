/**
 * Bench results side by side, as a markdown table (one column per run), e.g. for the README:
 *
 *   node bench/compare.ts                    the latest .bench/results-*.json of each setup
 *                                            (SQLite; PostgreSQL with 1, 3, … workers),
 *                                            leaving out --quick and --cpu-prof runs
 *   node bench/compare.ts a.json b.json …    these runs, in this order
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../.bench/', import.meta.url));

function latestPerSetup(): string[] {
  const files = readdirSync(dir).filter((f) => /^results-.*\.json$/.test(f)).sort(); // ISO stamps sort by time
  const latest = new Map<string, string>();
  for (const f of files) {
    const r = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
    if (r.options?.quick || r.options?.cpuProf) continue; // smoke runs and profiled runs are not measurements
    latest.set(`${r.backend}:${r.workers ?? 0}`, path.join(dir, f));
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

const n = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toLocaleString('en-US'));
const lat = (s: { p50: number; p95: number; p99: number }) => `${n(s.p50)} / ${n(s.p95)} / ${n(s.p99)}`;
const setup = (r: any) => (r.workers === null || r.workers === undefined ? `${r.backend}, 1 process` : `${r.backend}, api + ${r.workers} worker${r.workers === 1 ? '' : 's'}`);
/** Hookline's CPU in % of one core: the one process, or api + workers (each worker when several) */
function hooklineCpu(c: Record<string, number>, r: any): string {
  if (r.workers === null || r.workers === undefined) return `${c.server}`;
  const each = r.workers > 1 ? ` (${Array.from({ length: r.workers }, (_, i) => c[`worker_${i + 1}`]).join(' + ')})` : '';
  return `${c.api} + ${c.workers}${each}`;
}
const prefixed = (c: Record<string, number>, p: string) => Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith(p)).map(([k, v]) => [k.slice(p.length), v]));
const pgCpu = (c: Record<string, number>) => (c.postgres === undefined ? '–' : `${c.postgres}`);

const rows: [string, (r: any) => string][] = [
  ['raw undici ceiling, req/s', (r) => n(Math.round(r.ceiling.rps))],
  ['full speed: deliveries/s (first call → last receipt)', (r) => n(Math.round(r.full_speed.deliveries_per_s))],
  ['full speed: deliveries/s while calls were being placed', (r) => n(r.full_speed.deliveries_per_s_during_load)],
  ['full speed: ratio to the ceiling', (r) => `${Math.round(r.full_speed.ratio_to_ceiling * 1000) / 10} %`],
  ['full speed: calls accepted/s', (r) => n(r.full_speed.load.calls_per_s)],
  ['full speed: API answer p50 / p95 / p99, ms', (r) => lat(r.full_speed.load.api_ms)],
  ['full speed: event→receipt p50 / p95 / p99, ms', (r) => lat(r.full_speed.latency_ms)],
  [`fixed rate: event→receipt p50 / p95 / p99, ms`, (r) => lat(r.fixed_rate.latency_ms)],
  ['fixed rate: API answer p50 / p95 / p99, ms', (r) => lat(r.fixed_rate.load.api_ms)],
  ['CPU at full speed, % of a core: Hookline (the process, or api + workers)', (r) => hooklineCpu(r.full_speed.cpu_pct, r)],
  ['CPU at full speed: PostgreSQL / receiver / load generator', (r) => `${pgCpu(r.full_speed.cpu_pct)} / ${r.full_speed.cpu_pct.receiver} / ${r.full_speed.cpu_pct.parent}`],
  ['CPU at full speed: other processes, iowait', (r) => `${r.full_speed.cpu_pct.others ?? '–'}, ${r.full_speed.cpu_pct.iowait ?? '–'}`],
  ['CPU while draining the backlog: Hookline / PostgreSQL', (r) => `${hooklineCpu(prefixed(r.full_speed.cpu_pct, 'drain_'), r)} / ${pgCpu(prefixed(r.full_speed.cpu_pct, 'drain_'))}`],
  ['CPU at fixed rate: Hookline', (r) => hooklineCpu(r.fixed_rate.cpu_pct, r)],
  ['CPU at fixed rate: PostgreSQL / receiver / load generator', (r) => `${pgCpu(r.fixed_rate.cpu_pct)} / ${r.fixed_rate.cpu_pct.receiver} / ${r.fixed_rate.cpu_pct.parent}`],
  ['expected / received / duplicates / out of order (full speed)', (r) => [r.full_speed.expected, r.full_speed.received, r.full_speed.duplicates, r.full_speed.out_of_order].map(n).join(' / ')],
];

const rate = runs[0].fixed_rate.events_per_s;
console.log(`| ${rate} events/s fixed rate; full speed ${runs[0].full_speed.concurrency} API requests in flight | ${runs.map(setup).join(' | ')} |`);
console.log(`|---|${runs.map(() => '---:').join('|')}|`);
for (const [label, cell] of rows) console.log(`| ${label} | ${runs.map(cell).join(' | ')} |`);
