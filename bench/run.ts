/**
 * `npm run bench`: how fast Hookline turns calls into webhooks, next to how fast undici alone can
 * POST to the same receiver on the same machine in the same run.
 *
 *   receiver (child) ← raw undici POSTs from this process          → the ceiling, req/s
 *   receiver (child) ← Hookline (child) ← POST /v1/calls from here → deliveries/s, latency
 *
 * With --postgres, "Hookline" is one --role api process (the calls go there) and N --role worker
 * processes on a fresh PostgreSQL database (bench/topology.ts). Phases: warm-up (also yields a
 * real delivery body for the ceiling), raw undici ceiling, a fixed rate (default 500 events/s) for
 * latency, full speed for throughput. Results are printed as a table and written to
 * .bench/results-<timestamp>.json. Only 127.0.0.1 is contacted (and, with --postgres, the server
 * of HOOKLINE_BENCH_DATABASE_URL, by default PostgreSQL on 127.0.0.1:5432).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CpuMeter, type CpuSample } from './cpu.ts';
import { startChild, type Child } from './ipc.ts';
import { CallApi, fixedRate, fullSpeed, rawCeiling, round, type CeilingResult, type LoadResult } from './load.ts';
import { printTop, summarizeProfile } from './profile-summary.ts';
import { print, TARGETS } from './report.ts';
import { summarize, type Summary } from './stats.ts';
import { DEFAULT_ADMIN_URL } from './pg.ts';
import { Topology } from './topology.ts';

const USAGE = `usage: npm run bench -- [--duration S] [--rate N] [--concurrency N] [--quick] [--cpu-prof]
                      [--postgres [--workers N]]

  --duration S     seconds of load in the fixed-rate and the full-speed phases (default 10)
  --rate N         events/s of the fixed-rate phase; each call makes 5 events (default 500)
  --concurrency N  in-flight API requests in the full-speed phase (default 48)
  --quick          short phases (2 s, ceiling 1 s): a smoke check, not a measurement
  --cpu-prof       profile the Hookline processes (node --cpu-prof) and print their top functions
  --postgres       PostgreSQL instead of SQLite: a fresh database on the server of
                   HOOKLINE_BENCH_DATABASE_URL (default ${DEFAULT_ADMIN_URL}),
                   dropped at the end; one --role api process takes the calls
  --workers N      with --postgres: --role worker processes that run the engine and deliver (default 1)

PostgreSQL next to SQLite, one run each:
  npm run bench && npm run bench -- --postgres --workers 1 && npm run bench -- --postgres --workers 3
  node bench/compare.ts     # the latest result of each as a markdown table`;

const EVENTS_PER_CALL = 5; // call.accepted, leg.initiated, leg.ringing, leg.answered, call.ended
const API_KEY = 'hk_bench_key_not_secret';
const MAX_FULL_SPEED_CALLS = 20_000; // bounds the backlog (100 000 deliveries) whatever the machine
const STALL_MS = 10_000; // no new delivery for this long: stop waiting, report what is missing

interface Opts { durationS: number; ceilingS: number; rate: number; concurrency: number; quick: boolean; cpuProf: boolean; postgres: boolean; workers: number }

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
  if (values.workers !== undefined && !values.postgres) {
    throw new UsageError('--workers needs --postgres: on SQLite Hookline is one process (--role all), its database a file only it writes.');
  }
  const num = (name: string, v: string | undefined, dflt: number, min: number, max: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name}: expected a number from ${min} to ${max}, got "${v}"`);
    return n;
  };
  const quick = values.quick ?? false;
  if (values.workers !== undefined && !/^\d+$/.test(values.workers)) throw new UsageError(`--workers: expected a whole number, got "${values.workers}"`);
  const durationS = num('duration', values.duration, quick ? 2 : 10, 0.5, 120);
  return {
    durationS, quick, cpuProf: values['cpu-prof'] ?? false,
    ceilingS: quick ? 1 : Math.min(5, durationS),
    rate: num('rate', values.rate, 500, 5, 50_000),
    concurrency: Math.round(num('concurrency', values.concurrency, 48, 1, 512)),
    postgres: values.postgres ?? false,
    workers: num('workers', values.workers, 1, 1, 16),
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

/** the run's Hookline processes, for the Ctrl-C handler */
let topology: Topology | undefined;

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
  const hl = new Topology({ ...o, profDir, dataDir, apiKey: API_KEY, stamp, log });
  topology = hl;
  let rx: Child<{ url: string }> | undefined;
  let api: CallApi | undefined;
  try {
    rx = await startChild<{ url: string }>('receiver', here('./receiver.ts'), []);
    log(`receiver ${rx.info.url}`);
    await hl.start();
    api = new CallApi(hl.api.info.url, API_KEY, 64);
    const meter = new CpuMeter([...hl.children, rx], hl.database ? () => hl.database!.cpu() : undefined);
    const cpuPct = (a: CpuSample, b: CpuSample) => CpuMeter.pct(a, b);

    const ep = await api.json('POST', '/v1/endpoints', { url: `${rx.info.url}/hook`, concurrency: 128, description: 'bench receiver' });
    if (ep.status !== 201) throw new Error(`creating the endpoint answered ${ep.status}: ${JSON.stringify(ep.body)}`);

    // Warm-up: JIT, database caches and pooled sockets, and a real delivery body for the ceiling.
    log('warm-up');
    const warm = await fullSpeed(api, 'warmup', 8, 60_000, 40);
    if (warm.calls_ok === 0) throw new Error(`no call was accepted: ${warm.first_error}`);
    const ws = await waitForDeliveries(rx, 'warmup', warm.calls_ok * EVENTS_PER_CALL, 20_000);
    if (!ws.sample) throw new Error('no delivery reached the receiver during the warm-up');

    log(`raw undici ceiling (${o.ceilingS} s)`);
    let c0 = await meter.sample();
    const ceiling: CeilingResult = await rawCeiling(rx.info.url, ws.sample, o.ceilingS * 1000);
    const ceilingCpu = cpuPct(c0, await meter.sample());

    const callsPerS = o.rate / EVENTS_PER_CALL;
    log(`fixed rate: ${o.rate} events/s (${callsPerS} calls/s) for ${o.durationS} s`);
    c0 = await meter.sample();
    const rl = await fixedRate(api, 'rate', callsPerS, o.durationS * 1000);
    const rs = await waitForDeliveries(rx, 'rate', rl.calls_ok * EVENTS_PER_CALL, o.quick ? 15_000 : 30_000);
    const rate = phaseResult(rl, rs, cpuPct(c0, await meter.sample()));

    log(`full speed: ${o.concurrency} API requests in flight for ${o.durationS} s`);
    c0 = await meter.sample();
    const fl = await fullSpeed(api, 'full', o.concurrency, o.durationS * 1000, MAX_FULL_SPEED_CALLS);
    const during = await rx.ask<Stats>('stats', { phase: 'full' });
    const cLoad = await meter.sample();
    log(`full speed: ${fl.calls_ok} calls accepted; ${during.distinct} of ${fl.calls_ok * EVENTS_PER_CALL} deliveries so far, waiting for the rest`);
    const fs = await waitForDeliveries(rx, 'full', fl.calls_ok * EVENTS_PER_CALL, o.quick ? 30_000 : 120_000);
    const full = phaseResult(fl, fs, { ...cpuPct(c0, cLoad), ...prefix('drain_', cpuPct(cLoad, await meter.sample())) });
    full.deliveries_per_s_during_load = round(during.distinct / (Math.max(1, fl.ended_at - fl.started_at) / 1000));

    const results = {
      at: new Date().toISOString(),
      machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? null, node: process.version, platform: process.platform, load_avg_before: loadBefore },
      options: o, backend: hl.backend, workers: o.postgres ? o.workers : null, topology: hl.describe(),
      postgres: (await hl.database?.settings().catch(() => null)) ?? null,
      endpoint: { format: 'standard', concurrency: 128 },
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
    await hl.stop();
    await rx?.stop();
  }
  if (o.cpuProf) {
    // node names a profile CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile: the pid says whose it is.
    const byPid = new Map(hl.children.map((c) => [String(c.proc.pid), c.name]));
    for (const f of readdirSync(profDir).filter((x) => x.endsWith('.cpuprofile')).sort()) {
      const who = byPid.get(f.split('.')[3] ?? '') ?? 'a Hookline process';
      log(`CPU profile of ${who}: ${path.relative(process.cwd(), path.join(profDir, f))}`);
      printTop(summarizeProfile(path.join(profDir, f)), 25);
    }
  }
}

const prefix = (p: string, o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [p + k, v]));

// Ctrl-C: kill the Hookline processes and drop the PostgreSQL database, then exit; the exit hooks
// kill the other children and remove the temp dir. A second Ctrl-C exits at once.
let interrupted = false;
const interrupt = (signal: string) => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log(`${signal}: stopping`);
  const t = setTimeout(() => process.exit(130), 15_000);
  void (topology?.kill() ?? Promise.resolve()).finally(() => {
    clearTimeout(t);
    process.exit(130);
  });
};
process.on('SIGINT', () => interrupt('SIGINT'));
process.on('SIGTERM', () => interrupt('SIGTERM'));
main().catch((err: unknown) => {
  if (interrupted) return; // the children were killed under us: the interrupt handler exits
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`bench: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  console.error('bench failed:', err);
  process.exit(1);
});
