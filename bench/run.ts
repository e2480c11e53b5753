/**
 * `npm run bench`: how fast Hookline turns calls into webhooks, next to how fast undici alone can
 * POST to the same receiver on the same machine in the same run.
 *
 *   receiver (child) ← raw undici POSTs from this process          → the ceiling, req/s
 *   receiver (child) ← Hookline (child) ← POST /v1/calls from here → deliveries/s, latency
 *
 * Phases: warm-up (also yields a real delivery body for the ceiling), raw undici ceiling, a fixed
 * rate (default 500 events/s) for latency, full speed for throughput. Results are printed as a
 * table and written to .bench/results-<timestamp>.json. Only 127.0.0.1 is ever contacted.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startChild, usage, type Child } from './ipc.ts';
import { CallApi, fixedRate, fullSpeed, rawCeiling, round, type CeilingResult, type LoadResult } from './load.ts';
import { printTop, summarizeProfile } from './profile-summary.ts';
import { summarize, type Summary } from './stats.ts';

const USAGE = `usage: npm run bench -- [--duration S] [--rate N] [--concurrency N] [--quick] [--cpu-prof]

  --duration S     seconds of load in the fixed-rate and the full-speed phases (default 10)
  --rate N         events/s of the fixed-rate phase; each call makes 5 events (default 500)
  --concurrency N  in-flight API requests in the full-speed phase (default 48)
  --quick          short phases (2 s, ceiling 1 s): a smoke check, not a measurement
  --cpu-prof       profile the Hookline child (node --cpu-prof) and print its top functions
  --postgres, --workers N   not implemented yet (a later issue)`;

const EVENTS_PER_CALL = 5; // call.accepted, leg.initiated, leg.ringing, leg.answered, call.ended
const API_KEY = 'hk_bench_key_not_secret';
const MAX_FULL_SPEED_CALLS = 20_000; // bounds the backlog (100 000 deliveries) whatever the machine
const STALL_MS = 10_000; // no new delivery for this long: stop waiting, report what is missing
const TARGETS = { ratio: 0.5, p99_ms: 25 };

interface Opts { durationS: number; ceilingS: number; rate: number; concurrency: number; quick: boolean; cpuProf: boolean }

function parse(argv: string[]): Opts {
  const { values } = parseArgs({
    args: argv, strict: true, allowPositionals: false,
    options: {
      duration: { type: 'string' }, rate: { type: 'string' }, concurrency: { type: 'string' }, quick: { type: 'boolean' },
      'cpu-prof': { type: 'boolean' }, postgres: { type: 'boolean' }, workers: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.postgres || values.workers !== undefined) {
    throw new UsageError('--postgres and --workers are not implemented yet: a later issue adds PostgreSQL and multi-process runs. Run without them to bench one process on SQLite.');
  }
  const num = (name: string, v: string | undefined, dflt: number, min: number, max: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name}: expected a number from ${min} to ${max}, got "${v}"`);
    return n;
  };
  const quick = values.quick ?? false;
  const durationS = num('duration', values.duration, quick ? 2 : 10, 0.5, 120);
  return {
    durationS, quick, cpuProf: values['cpu-prof'] ?? false,
    ceilingS: quick ? 1 : Math.min(5, durationS),
    rate: num('rate', values.rate, 500, 5, 50_000),
    concurrency: Math.round(num('concurrency', values.concurrency, 48, 1, 512)),
  };
}

class UsageError extends Error {}

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

interface Stats { count: number; distinct: number; duplicates: number; out_of_order: number; unparsable: number; first_at: number; last_at: number; avg_bytes: number; latencies?: number[]; seqs?: number[]; sample?: string }

/** Polls the receiver until `expected` distinct deliveries of `phase` arrived, it stalls, or time is up. */
async function waitForDeliveries(rx: Child<unknown>, phase: string, expected: number, timeoutMs: number): Promise<Stats & { waited_ms: number }> {
  const t0 = Date.now();
  let last = -1;
  let lastChange = t0;
  for (;;) {
    const s = await rx.ask<Stats>('stats', { phase });
    if (s.distinct !== last) [last, lastChange] = [s.distinct, Date.now()];
    if (s.distinct >= expected) break;
    if (Date.now() - t0 > timeoutMs || Date.now() - lastChange > STALL_MS) {
      log(`${phase}: gave up waiting with ${s.distinct} of ${expected} deliveries`);
      break;
    }
    await sleep(100);
  }
  return { ...(await rx.ask<Stats>('stats', { phase, samples: true })), waited_ms: Date.now() - t0 };
}

type Who = 'parent' | 'server' | 'receiver';
type Cpu = Record<Who, number> & { wall: number; machine: { busy: number; iowait: number } | null };

/** Whole-machine busy and iowait CPU ms so far (Linux /proc/stat; USER_HZ is 100 there). */
function machineCpu(): Cpu['machine'] {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    return { busy: (user + nice + system + irq + softirq + steal) * 10, iowait: iowait * 10 };
  } catch {
    return null;
  }
}

async function cpuNow(server: Child<unknown>, rx: Child<unknown>): Promise<Cpu> {
  return { wall: performance.now(), parent: usage(), server: await server.ask<number>('usage'), receiver: await rx.ask<number>('usage'), machine: machineCpu() };
}

/**
 * CPU over a phase in % of one core (2 cores = 200 % in all), per process of ours, plus what the
 * rest of the machine used meanwhile (`others`: a run that shares the machine is not a clean
 * measurement) and time spent waiting on the disk (`iowait`, e.g. SQLite syncs).
 */
function cpuPct(a: Cpu, b: Cpu): Record<string, number> {
  const wall = b.wall - a.wall;
  const pct = (ms: number) => round((100 * ms) / wall, 0);
  const ours = (['parent', 'server', 'receiver'] as const).map((k) => b[k] - a[k]);
  const out: Record<string, number> = { parent: pct(ours[0]!), server: pct(ours[1]!), receiver: pct(ours[2]!) };
  if (a.machine && b.machine) {
    out.others = pct(Math.max(0, b.machine.busy - a.machine.busy - ours.reduce((x, y) => x + y, 0)));
    out.iowait = pct(b.machine.iowait - a.machine.iowait);
  }
  return out;
}

interface PhaseResult {
  load: LoadResult;
  expected: number;
  received: number;
  duplicates: number;
  out_of_order: number;
  /** deliveries received ÷ (last receipt − first call sent) */
  deliveries_per_s: number;
  /** full speed: deliveries received while calls were still being placed, per second of that window */
  deliveries_per_s_during_load?: number;
  latency_ms: Summary;
  /** the same by the event's seq in its call (1 = call.accepted … 5 = call.ended) */
  latency_ms_by_seq: Record<string, Summary>;
  waited_ms: number;
  cpu_pct: Record<string, number>;
}

function phaseResult(load: LoadResult, s: Stats & { waited_ms: number }, cpu: Record<string, number>): PhaseResult {
  const windowS = Math.max(1, s.last_at - load.started_at) / 1000;
  return {
    load, expected: load.calls_ok * EVENTS_PER_CALL, received: s.distinct, duplicates: s.duplicates, out_of_order: s.out_of_order,
    deliveries_per_s: round(s.distinct / windowS), latency_ms: summarize(s.latencies ?? []), latency_ms_by_seq: bySeq(s), waited_ms: s.waited_ms, cpu_pct: cpu,
  };
}

function bySeq(s: Stats): Record<string, Summary> {
  const groups = new Map<number, number[]>();
  (s.latencies ?? []).forEach((ms, i) => {
    const seq = s.seqs?.[i] ?? 0;
    const g = groups.get(seq);
    if (g) g.push(ms);
    else groups.set(seq, [ms]);
  });
  return Object.fromEntries([...groups].sort((a, b) => a[0] - b[0]).map(([seq, v]) => [String(seq), summarize(v)]));
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  // Other work on the machine skews every number here: say so rather than report it silently.
  const loadBefore = round(loadavg()[0]!, 2);
  if (loadBefore > availableParallelism() * 0.25) log(`warning: load average is ${loadBefore} before the run; other processes will skew the numbers`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = path.resolve(here('..'), '.bench');
  const profDir = path.join(outDir, `profile-${stamp}`);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'hookline-bench-'));
  process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  let rx: Child<{ url: string }> | undefined;
  let server: Child<{ url: string; backend: string }> | undefined;
  let api: CallApi | undefined;
  try {
    rx = await startChild<{ url: string }>('receiver', here('./receiver.ts'), []);
    server = await startChild<{ url: string; backend: string }>('hookline', here('./server.ts'),
      ['--port', '0', '--data-dir', dataDir, '--api-key', API_KEY, '--allow-private-targets', '--log-level', 'warn'],
      { execArgv: o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [] });
    log(`receiver ${rx.info.url}, hookline ${server.info.url} (${server.info.backend}, data in ${dataDir})`);
    api = new CallApi(server.info.url, API_KEY, 64);

    const ep = await api.json('POST', '/v1/endpoints', { url: `${rx.info.url}/hook`, concurrency: 128, description: 'bench receiver' });
    if (ep.status !== 201) throw new Error(`creating the endpoint answered ${ep.status}: ${JSON.stringify(ep.body)}`);

    // Warm-up: JIT, SQLite caches and pooled sockets, and a real delivery body for the ceiling.
    log('warm-up');
    const warm = await fullSpeed(api, 'warmup', 8, 60_000, 40);
    if (warm.calls_ok === 0) throw new Error(`no call was accepted: ${warm.first_error}`);
    const ws = await waitForDeliveries(rx, 'warmup', warm.calls_ok * EVENTS_PER_CALL, 20_000);
    if (!ws.sample) throw new Error('no delivery reached the receiver during the warm-up');

    log(`raw undici ceiling (${o.ceilingS} s)`);
    let c0 = await cpuNow(server, rx);
    const ceiling: CeilingResult = await rawCeiling(rx.info.url, ws.sample, o.ceilingS * 1000);
    const ceilingCpu = cpuPct(c0, await cpuNow(server, rx));

    const callsPerS = o.rate / EVENTS_PER_CALL;
    log(`fixed rate: ${o.rate} events/s (${callsPerS} calls/s) for ${o.durationS} s`);
    c0 = await cpuNow(server, rx);
    const rl = await fixedRate(api, 'rate', callsPerS, o.durationS * 1000);
    const rs = await waitForDeliveries(rx, 'rate', rl.calls_ok * EVENTS_PER_CALL, o.quick ? 15_000 : 30_000);
    const rate = phaseResult(rl, rs, cpuPct(c0, await cpuNow(server, rx)));

    log(`full speed: ${o.concurrency} API requests in flight for ${o.durationS} s`);
    c0 = await cpuNow(server, rx);
    const fl = await fullSpeed(api, 'full', o.concurrency, o.durationS * 1000, MAX_FULL_SPEED_CALLS);
    const during = await rx.ask<Stats>('stats', { phase: 'full' });
    const cLoad = await cpuNow(server, rx);
    log(`full speed: ${fl.calls_ok} calls accepted; ${during.distinct} of ${fl.calls_ok * EVENTS_PER_CALL} deliveries so far, waiting for the rest`);
    const fs = await waitForDeliveries(rx, 'full', fl.calls_ok * EVENTS_PER_CALL, o.quick ? 30_000 : 120_000);
    const full = phaseResult(fl, fs, { ...cpuPct(c0, cLoad), ...prefix('drain_', cpuPct(cLoad, await cpuNow(server, rx))) });
    full.deliveries_per_s_during_load = round(during.distinct / (Math.max(1, fl.ended_at - fl.started_at) / 1000));

    const results = {
      at: new Date().toISOString(),
      machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? null, node: process.version, platform: process.platform, load_avg_before: loadBefore },
      options: o, backend: server.info.backend, endpoint: { format: 'standard', concurrency: 128 },
      delivery_body_bytes: ws.avg_bytes,
      ceiling: { ...ceiling, cpu_pct: ceilingCpu },
      fixed_rate: { events_per_s: o.rate, calls_per_s: callsPerS, ...rate },
      full_speed: { concurrency: o.concurrency, ...full, ratio_to_ceiling: round(full.deliveries_per_s / ceiling.rps, 3) },
      targets: TARGETS,
      unparsable: fs.unparsable,
    };
    print(results);
    mkdirSync(outDir, { recursive: true });
    const file = path.join(outDir, `results-${stamp}.json`);
    writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
    log(`results written to ${path.relative(process.cwd(), file)}`);
  } finally {
    await api?.close().catch(() => undefined);
    await server?.stop();
    await rx?.stop();
  }
  if (o.cpuProf) {
    const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
    for (const f of files) {
      log(`CPU profile of the Hookline child: ${path.relative(process.cwd(), path.join(profDir, f))}`);
      printTop(summarizeProfile(path.join(profDir, f)), 25);
    }
  }
}

const prefix = (p: string, o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [p + k, v]));
const n = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toLocaleString('en-US'));
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

function print(r: any): void {
  const f = r.full_speed;
  const q = r.fixed_rate;
  const row = (label: string, value: string, target = '') => console.log(`  ${label.padEnd(50)}${value.padStart(24)}  ${target}`);
  const lat = (s: Summary) => `${n(s.p50)} / ${n(s.p95)} / ${n(s.p99)} ms`;
  const counts = (p: PhaseResult) => `${n(p.expected)} / ${n(p.received)} / ${n(p.duplicates)} / ${n(p.out_of_order)}`;
  console.log(`\nHookline bench: ${r.machine.cpus} CPUs, Node ${r.machine.node}, ${r.backend} in a fresh temp dir, 1 standard endpoint`);
  console.log(`(receiver, Hookline and this load generator are 3 processes sharing those CPUs; delivery bodies ≈ ${r.delivery_body_bytes} B;`);
  console.log(` load average before the run: ${r.machine.load_avg_before})\n`);
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
  console.log('\n  CPU, % of one core (this process / hookline / receiver | other processes, iowait)');
  const cpu = (c: any, p = '') => `${c[p + 'parent']} / ${c[p + 'server']} / ${c[p + 'receiver']} | ${c[p + 'others'] ?? '–'}, ${c[p + 'iowait'] ?? '–'}`;
  row('raw ceiling', cpu(r.ceiling.cpu_pct));
  row('fixed rate (load + drain)', cpu(q.cpu_pct));
  row('full speed, while placing calls', cpu(f.cpu_pct));
  row('full speed, draining', cpu(f.cpu_pct, 'drain_'));
  const busiest = Math.max(r.ceiling.cpu_pct.others ?? 0, q.cpu_pct.others ?? 0, f.cpu_pct.others ?? 0, f.cpu_pct.drain_others ?? 0);
  if (busiest > 15) console.log(`\n  warning: other processes used up to ${busiest} % of a core during a phase: these numbers are skewed, run again on a quiet machine`);
  console.log('');
}

process.on('SIGINT', () => process.exit(130)); // the exit hook kills the children and removes the temp dir
main().catch((err: unknown) => {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`bench: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  console.error('bench failed:', err);
  process.exit(1);
});
